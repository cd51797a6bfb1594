import { defineConfig, devices } from "@playwright/test";

// The suite starts the whole system itself, as `make run` does, on loopback
// ports of its own: the API with the embedded defaults (a fresh data folder,
// the demo data set) and the built app served by `vite preview`, which proxies
// `/api/*` to the API exactly as Vercel's rewrite does.
const apiPort = Number(process.env.E2E_API_PORT ?? 18000);
const webPort = Number(process.env.E2E_WEB_PORT ?? 18173);
export const dataDir = process.env.E2E_DATA_DIR ?? `${import.meta.dirname}/.e2e-data`;

const chromium = {
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
};

export default defineConfig({
  testDir: "./e2e",
  outputDir: "./test-results",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  // One server, one embedded database, per-IP rate limits: the specs run one at a time.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: Boolean(process.env.CI),
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${webPort}`,
    launchOptions: chromium,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
  projects: [
    { name: "desktop", use: { ...devices["Desktop Chrome"], launchOptions: chromium } },
  ],
  webServer: {
    command:
      `rm -rf "${dataDir}" && exec ../.venv/bin/python ../tools/devserver.py ` +
      `--host 127.0.0.1 --port ${apiPort} --web-port ${webPort} > "${dataDir}.log" 2>&1`,
    url: `http://127.0.0.1:${webPort}/api/ready`,
    env: {
      DATA_DIR: dataDir,
      E2E_DATA_DIR: dataDir,
      MONGODB_URI: "",
      STAGE: "dev",
      PUBLIC_BASE_URL: `http://127.0.0.1:${webPort}/api`,
      FRONTEND_URL: `http://127.0.0.1:${webPort}`,
      AUTH_COOKIE_PATH: "/api/auth",
    },
    reuseExistingServer: false,
    timeout: 120_000,
    // Both servers' output goes to .e2e-data.log beside the data folder.
    stdout: "ignore",
    stderr: "ignore",
  },
});
