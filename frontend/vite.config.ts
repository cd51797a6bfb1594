/// <reference types="vitest/config" />
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import compression from "@polka/compression";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin, type ProxyOptions } from "vite";

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

interface VercelConfig {
  rewrites?: { source: string; destination: string }[];
  headers?: { source: string; headers: { key: string; value: string }[] }[];
}

const vercel = JSON.parse(readFileSync(new URL("./vercel.json", import.meta.url), "utf8")) as VercelConfig;

/**
 * A vercel.json `source` as the expression Vercel compiles it to (path-to-regexp 6,
 * case-sensitive): literal text, `(regex)` groups, `/:name`, `/:name*`, `/:name+`.
 * Any other syntax is refused rather than guessed, so the two servers cannot drift.
 */
export function sourceToRegExp(source: string): RegExp {
  let pattern = "";
  let i = 0;
  while (i < source.length) {
    const param = /^\/:(\w+)([*+]?)/.exec(source.slice(i));
    if (param) {
      const segments = "[^/]+?(?:/[^/]+?)*";
      pattern += param[2] === "*" ? `(?:/(${segments}))?` : param[2] === "+" ? `/(${segments})` : "/([^/]+?)";
      i += param[0].length;
    } else if (source[i] === "(") {
      const start = i;
      let depth = 0;
      do {
        if (source[i] === "\\") i += 1;
        else if (source[i] === "(") depth += 1;
        else if (source[i] === ")") depth -= 1;
        i += 1;
      } while (depth > 0 && i < source.length);
      pattern += source.slice(start, i);
    } else if (/[\w/.-]/.test(source[i] ?? "")) {
      pattern += source[i] === "." ? "\\." : source[i];
      i += 1;
    } else {
      throw new Error(`vercel.json source ${JSON.stringify(source)}: unsupported syntax at ${i}`);
    }
  }
  return new RegExp(`^${pattern}$`);
}

/**
 * `vite preview` answers as Vercel does: vercel.json's headers on each path they
 * match (set last, so Vite's own defaults cannot override them), and a 404 for a
 * path that is no file and matches no rewrite (a stale `/assets/` chunk), where
 * Vite would answer with index.html. Not the dev server: its inline HMR scripts
 * would break the production CSP.
 */
function vercelParity(config: VercelConfig): Plugin {
  const headerRules = (config.headers ?? []).map((rule) => ({
    pattern: sourceToRegExp(rule.source),
    headers: rule.headers,
  }));
  const rewrites = (config.rewrites ?? []).map((rule) => sourceToRegExp(rule.source));
  return {
    name: "snapboard:vercel-parity",
    configurePreviewServer(server) {
      const outDir = path.resolve(server.config.root, server.config.build.outDir);
      const isFile = (pathname: string): boolean => {
        const file = path.join(outDir, decodeURIComponent(pathname));
        return file.startsWith(outDir + path.sep) && (statSync(file, { throwIfNoEntry: false })?.isFile() ?? false);
      };
      server.middlewares.use((req, res, next) => {
        const pathname = new URL(req.url ?? "/", "http://preview").pathname;
        const headers = headerRules.filter((rule) => rule.pattern.test(pathname)).flatMap((rule) => rule.headers);
        const apply = () => headers.forEach(({ key, value }) => res.setHeader(key, value));
        apply();
        const writeHead = res.writeHead;
        res.writeHead = ((...args: Parameters<typeof writeHead>) => {
          apply();
          return writeHead.apply(res, args);
        }) as typeof writeHead;
        if (!isFile(pathname) && !rewrites.some((rewrite) => rewrite.test(pathname))) {
          res.statusCode = 404;
          res.end();
          return;
        }
        next();
      });
    },
  };
}

/**
 * `vite preview` compresses only its own files; the API's JSON through the
 * proxy would go out as is. In production the layer in front of the API
 * compresses it (API Gateway's `minimum_compression_size` in
 * .chalice/config.json, nginx's `gzip` on EC2), so the local proxy does too.
 */
function compressProxiedApi(): Plugin {
  const gzip = compression({ threshold: 1024 });
  return {
    name: "snapboard:compress-api",
    configurePreviewServer(server) {
      server.middlewares.use((req, res, next) => {
        if (req.url?.startsWith("/api/")) gzip(req, res, next);
        else next();
      });
    },
  };
}

export default defineConfig({
  plugins: [react(), vercelParity(vercel), compressProxiedApi()],
  server: { host: "127.0.0.1", port: webPort, strictPort: true, proxy },
  preview: { host: "127.0.0.1", port: webPort, strictPort: true, proxy },
  optimizeDeps: { include: ["@imagekit/javascript"] },
  // The manifest lets bench/web.py count the initial route's JavaScript exactly.
  build: { target: "es2022", sourcemap: true, manifest: true },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    restoreMocks: true,
  },
});
