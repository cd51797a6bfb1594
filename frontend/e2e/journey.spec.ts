/**
 * The whole life of a post, as a new person lives it in the browser: sign up,
 * verify through the mailed link, log in, publish two directly uploaded photos,
 * find the post in the feed, page through it, edit it, make it private, delete
 * it, log out. Once at desktop size and once on a phone.
 */
import { expect, test, type Page } from "@playwright/test";
import { DESKTOP, PHONE, logIn, mailedLink, newAccount, pngFile } from "./support";

/** Slow uploads down so that their progress bars can be seen (Chromium's own throttling). */
async function throttleUploads(page: Page): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 20,
    downloadThroughput: -1,
    uploadThroughput: 256 * 1024,
  });
}

async function imagesDecoded(page: Page, scope: string): Promise<number[]> {
  return page.locator(scope).evaluateAll((imgs) =>
    (imgs as HTMLImageElement[]).map((img) => (img.complete ? img.naturalWidth : 0)),
  );
}

for (const [label, viewport] of [
  ["desktop", DESKTOP],
  ["phone", PHONE],
] as const) {
  test(`a new person signs up, posts two photos, edits, hides and deletes the post (${label})`, async ({
    page,
    browser,
  }) => {
    await page.setViewportSize(viewport);
    const account = newAccount(label === "phone" ? "ph" : "dt");

    // Sign up, then open the link from the verification mail.
    await page.goto("/signup");
    await page.getByLabel("Email").fill(account.email);
    await page.getByLabel("Username").fill(account.username);
    await page.getByLabel("Password").fill(account.password);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Check your email" })).toBeVisible();
    await page.goto(await mailedLink(account.email, "/verify-email"));
    await expect(page.getByText(/your email is verified/i)).toBeVisible();

    await logIn(page, account.email, account.password);

    // Compose: two photos straight to the image store, progress on each.
    await page.goto("/new");
    await page.getByLabel("Title").fill("Harbour lights at night");
    await page.getByLabel("Body").fill("Two frames from the pier.");
    await page.getByLabel("Tags").pressSequentially("night harbour ");
    await throttleUploads(page);
    await page.getByLabel("Add images").setInputFiles([
      pngFile("red.png", 360, 240, [200, 40, 40]),
      pngFile("blue.png", 360, 240, [40, 60, 200]),
    ]);
    const progress = page.getByRole("progressbar", { name: /^Uploading/ });
    await expect(page.getByRole("progressbar", { name: "Uploading red.png" })).toBeVisible();
    await expect(page.getByRole("progressbar", { name: "Uploading blue.png" })).toBeVisible();
    await expect(page.getByRole("button", { name: "Publish" })).toBeDisabled();
    await page.getByLabel(/alt text for red\.png/i).fill("A red square");
    await page.getByLabel(/alt text for blue\.png/i).fill("A blue square");
    await expect(progress).toHaveCount(0, { timeout: 30_000 });
    await page.getByRole("button", { name: "Publish" }).click();
    await expect(page).toHaveURL(/\/p\/[0-9a-f]{24}$/);
    const postUrl = new URL(page.url()).pathname;
    await expect(page.getByRole("heading", { level: 1, name: "Harbour lights at night" })).toBeVisible();

    // The feed: the post first, its thumbnail decoded.
    await page.goto("/");
    const first = page.getByRole("article").first();
    await expect(first.getByRole("heading", { name: "Harbour lights at night" })).toBeVisible();
    await expect
      .poll(async () => (await imagesDecoded(page, "article:first-of-type img[srcset]"))[0] ?? 0)
      .toBeGreaterThan(0);

    // The gallery, by keyboard.
    await first.getByRole("link", { name: "Harbour lights at night" }).click();
    await expect(page).toHaveURL(postUrl);
    const gallery = page.getByRole("region", { name: "Gallery" });
    const shown = gallery.getByRole("img").first();
    await expect(shown).toHaveAccessibleName("A red square");
    await gallery.getByRole("button", { name: "Image 1 of 2" }).focus();
    await page.keyboard.press("ArrowRight");
    await expect(shown).toHaveAccessibleName("A blue square");
    await expect(gallery.getByRole("button", { name: "Image 2 of 2" })).toHaveAttribute("aria-current", "true");
    await page.keyboard.press("ArrowLeft");
    await expect(shown).toHaveAccessibleName("A red square");
    await gallery.getByRole("button", { name: "View full size" }).click();
    const dialog = page.getByRole("dialog", { name: /full size/ });
    await expect(dialog).toBeVisible();
    await page.keyboard.press("ArrowRight");
    await expect(dialog.getByRole("img").first()).toHaveAccessibleName("A blue square");
    await page.keyboard.press("Escape");
    await expect(dialog).toBeHidden();

    // Edit: the blue photo first, a new title.
    await page.getByRole("link", { name: "Edit" }).click();
    await page.getByRole("button", { name: "Move image 2 left" }).click();
    await page.getByLabel("Title").fill("Harbour lights, blue first");
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Harbour lights, blue first" })).toBeVisible();
    await expect(page.getByRole("region", { name: "Gallery" }).getByRole("img").first()).toHaveAccessibleName(
      "A blue square",
    );

    // Private: the author still sees it, an anonymous visitor does not.
    await page.getByRole("link", { name: "Edit" }).click();
    await page.getByLabel("Private").check();
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByText("Private", { exact: true })).toBeVisible();
    const stranger = await browser.newContext();
    const anonymous = await stranger.newPage();
    await anonymous.goto(postUrl);
    await expect(anonymous.getByRole("heading", { name: "Not found" })).toBeVisible();
    await anonymous.goto("/");
    await expect(anonymous.getByRole("article").first()).toBeVisible();
    await expect(anonymous.getByRole("heading", { name: "Harbour lights, blue first" })).toHaveCount(0);
    await stranger.close();

    // Delete, then it is gone for its author too.
    page.once("dialog", (confirm) => void confirm.accept());
    await page.getByRole("button", { name: "Delete" }).click();
    await expect(page).toHaveURL(/\/$/);
    await page.goto(postUrl);
    await expect(page.getByRole("heading", { name: "Not found" })).toBeVisible();

    await page.getByRole("button", { name: "Log out" }).click();
    await expect(page.getByRole("link", { name: "Log in" })).toBeVisible();
  });
}
