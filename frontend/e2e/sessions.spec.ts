/** Sessions in the browser, password reset by mail, and two people editing one post. */
import { expect, test } from "@playwright/test";
import { DEMO_PASSWORD, demo, logIn, mailedLink } from "./support";

test("a reload restores the session from the httpOnly cookie; no token is in script's reach", async ({
  page,
  context,
}) => {
  await logIn(page, demo.ann, DEMO_PASSWORD);
  await page.reload();
  await expect(page.getByRole("button", { name: "Log out" })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: /ann okafor/i })).toBeVisible();

  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }));
  expect(stored).not.toMatch(/eyJ|refresh/i);
  expect(await page.evaluate(() => document.cookie)).toBe("");
  const [cookie] = (await context.cookies()).filter((c) => c.name === "refresh_token");
  expect(cookie).toMatchObject({ httpOnly: true, path: "/api/auth", sameSite: "Lax" });

  // Logout clears both: the cookie is gone and a reload stays signed out.
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page.getByRole("link", { name: "Log in" })).toBeVisible();
  expect((await context.cookies()).filter((c) => c.name === "refresh_token")).toEqual([]);
  await page.reload();
  await expect(page.getByRole("link", { name: "Log in" })).toBeVisible();
});

test("two open tabs reloading at once do not sign each other out", async ({ page, context }) => {
  await logIn(page, demo.ann, DEMO_PASSWORD);
  const second = await context.newPage();
  await second.goto("/");
  await expect(second.getByRole("button", { name: "Log out" })).toBeVisible();
  // Both tabs trade the same cookie at the same moment: one rotates it, the
  // other lands in the API's 10 s grace window.
  await Promise.all([page.reload(), second.reload()]);
  await expect(page.getByRole("button", { name: "Log out" })).toBeVisible();
  await expect(second.getByRole("button", { name: "Log out" })).toBeVisible();
  await page.reload();
  await expect(page.getByRole("button", { name: "Log out" })).toBeVisible();
  // Logging out in one tab signs the other out too.
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(second.getByRole("link", { name: "Log in" })).toBeVisible();
});

test("a forgotten password is reset through the mailed link", async ({ page }) => {
  const email = "cat@demo.snapboard.test";
  await page.goto("/login");
  await page.getByRole("link", { name: "Forgot password?" }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Send the link" }).click();
  await expect(page.getByText(/if an account exists/i)).toBeVisible();

  await page.goto(await mailedLink(email, "/reset-password"));
  await page.getByLabel("New password", { exact: true }).fill("copper-lantern-58");
  await page.getByLabel("Confirm password").fill("copper-lantern-58");
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Password changed" })).toBeVisible();

  await logIn(page, email, "copper-lantern-58");
});

test("an edit conflict between two browsers is told, and the newer version can be loaded", async ({
  browser,
}) => {
  const first = await (await browser.newContext()).newPage();
  const second = await (await browser.newContext()).newPage();
  await logIn(first, demo.ann, DEMO_PASSWORD);
  await logIn(second, demo.ann, DEMO_PASSWORD);

  await first.goto("/u/ann");
  await first.getByRole("article").first().getByRole("heading").getByRole("link").click();
  await expect(first).toHaveURL(/\/p\/[0-9a-f]{24}$/);
  const editUrl = `${new URL(first.url()).pathname}/edit`;
  await first.goto(editUrl);
  await second.goto(editUrl);
  await expect(first.getByLabel("Title")).not.toHaveValue("");
  await expect(second.getByLabel("Title")).not.toHaveValue("");

  await first.getByLabel("Title").fill("Saved first, from the first browser");
  await first.getByRole("button", { name: "Save" }).click();
  await expect(first.getByRole("heading", { level: 1, name: "Saved first, from the first browser" })).toBeVisible();

  await second.getByLabel("Title").fill("Saved second, from the second browser");
  await second.getByRole("button", { name: "Save" }).click();
  await expect(second.getByText(/changed elsewhere/i)).toBeVisible();
  await second.getByRole("button", { name: /reload/i }).click();
  await expect(second.getByLabel("Title")).toHaveValue("Saved first, from the first browser");
});

test("an offline browser is told so", async ({ page, context }) => {
  await page.goto("/");
  await expect(page.getByRole("article").first()).toBeVisible();
  await context.setOffline(true);
  await expect(page.getByRole("status").filter({ hasText: /offline/i })).toBeVisible();
  await context.setOffline(false);
  await expect(page.getByRole("status").filter({ hasText: /offline/i })).toBeHidden();
});
