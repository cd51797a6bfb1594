/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig, type ProxyOptions } from "vite";

// `make run` serves the built app on WEB_PORT and the API on PORT. `/api/*` is
// proxied exactly as vercel.json rewrites it on Vercel: the prefix is dropped,
// the rest of the path and the query pass unchanged, and the Host stays the web
// origin's, so the API's cookies are first-party on `/api/auth`.
const apiPort = Number(process.env.PORT ?? 8000);
const webPort = Number(process.env.WEB_PORT ?? 5173);

export function stripApiPrefix(path: string): string {
  const rest = path.replace(/^\/api(?=[/?#]|$)/, "");
  return rest.startsWith("/") ? rest : `/${rest}`;
}

const proxy: Record<string, ProxyOptions> = {
  "/api": {
    target: `http://127.0.0.1:${apiPort}`,
    rewrite: stripApiPrefix,
    xfwd: true,
  },
};

export default defineConfig({
  plugins: [react()],
  server: { host: "127.0.0.1", port: webPort, strictPort: true, proxy },
  preview: { host: "127.0.0.1", port: webPort, strictPort: true, proxy },
  build: { target: "es2022", sourcemap: true },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    restoreMocks: true,
  },
});
