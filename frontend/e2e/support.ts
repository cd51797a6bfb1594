/** What the end-to-end specs share: the outbox, accessibility checks, screenshots, sign-in. */
import AxeBuilder from "@axe-core/playwright";
import { expect, type Page, type TestInfo } from "@playwright/test";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { deflateSync } from "node:zlib";

export const dataDir = process.env.E2E_DATA_DIR ?? join(import.meta.dirname, "..", ".e2e-data");

/** The demo data set's password (chalicelib/demo.py), printed by `make run` too. */
export const DEMO_PASSWORD = "snapboard-demo-1";
export const demo = {
  ann: "ann@demo.snapboard.test",
  ben: "ben@demo.snapboard.test",
} as const;

export const PHONE = { width: 375, height: 812 };
export const DESKTOP = { width: 1280, height: 800 };

/** A unique account for one spec; the API allows 5 sign-ups an hour per address. */
export function newAccount(tag: string) {
  const id = `${tag}${Date.now().toString(36)}`.toLowerCase().replace(/[^a-z0-9_]/g, "");
  return { email: `${id}@example.com`, username: id.slice(0, 30), password: "violet-harbour-71" };
}

/** The text part of an .eml file the outbox mailer wrote, transfer encoding undone. */
function textPart(raw: string): string {
  const boundary = /boundary="?([^";\r\n]+)"?/i.exec(raw)?.[1];
  const parts = boundary ? raw.split(`--${boundary}`) : [raw];
  const plain = parts.find((part) => /content-type:\s*text\/plain/i.test(part)) ?? raw;
  const split = plain.search(/\r?\n\r?\n/);
  const headers = plain.slice(0, split);
  let body = plain.slice(split).trim();
  if (/content-transfer-encoding:\s*quoted-printable/i.test(headers)) {
    body = body
      .replace(/=\r?\n/g, "")
      .replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  } else if (/content-transfer-encoding:\s*base64/i.test(headers)) {
    body = Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
  }
  return body;
}

/**
 * The newest link of the given kind mailed to `to`, waiting for the mail to be
 * written (the API sends it inside the request, but a spec may be faster than
 * the file system listing).
 */
export async function mailedLink(to: string, path: "/verify-email" | "/reset-password"): Promise<string> {
  const outbox = join(dataDir, "outbox");
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const names = (await readdir(outbox).catch(() => [] as string[])).filter((n) => n.endsWith(".eml"));
    for (const name of names.sort().reverse()) {
      const raw = await readFile(join(outbox, name), "utf8");
      if (!new RegExp(`^To: ${to.replace(/[.+]/g, "\\$&")}$`, "mi").test(raw)) continue;
      const link = textPart(raw).match(new RegExp(`https?://\\S+${path}\\?token=[A-Za-z0-9_-]+`));
      if (link) return link[0];
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no ${path} mail to ${to} in ${outbox}`);
}

/** axe-core on the page as it is now: no serious or critical violation. */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  expect(serious, `accessibility of ${what}`).toEqual([]);
}

/** A full-page screenshot kept as a test artefact: test-results/screenshots/<name>.png. */
export async function keepScreenshot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  const path = join(testInfo.project.outputDir, "screenshots", `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await testInfo.attach(name, { path, contentType: "image/png" });
}

export async function logIn(page: Page, email: string, password: string): Promise<void> {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("button", { name: "Log out" })).toBeVisible();
}

export async function logOut(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page.getByRole("link", { name: "Log in" })).toBeVisible();
}

/**
 * A real PNG for uploads (no fixture files in the repo): one colour with a
 * little noise, so it does not compress to nothing and an upload takes long
 * enough on a throttled connection for its progress to be seen.
 */
export function pngFile(name: string, width: number, height: number, rgb: [number, number, number]) {
  let seed = width * 7919 + height;
  const noise = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return (seed >> 16) % 24;
  };
  const rows = Array.from({ length: height }, () => {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) {
      row.set(rgb.map((c) => Math.min(255, c + noise())), 1 + x * 3);
    }
    return row;
  });
  const raw = Buffer.concat(rows);
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const buffer = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
  return { name, mimeType: "image/png", buffer };
}

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}
