/**
 * Every page, at desktop and phone size: axe-core finds no serious or critical
 * violation, and a full-page screenshot is kept (test-results/screenshots/).
 */
import { expect, test, type Page } from "@playwright/test";
import { DEMO_PASSWORD, DESKTOP, PHONE, demo, expectAccessible, keepScreenshot, logIn } from "./support";

interface PageCase {
  name: string;
  path: (ids: { post: string }) => string;
  heading: RegExp;
  as?: string;
}

const anonymousPages: PageCase[] = [
  { name: "feed", path: () => "/", heading: /latest posts/i },
  { name: "feed-filtered", path: () => "/?tag=night", heading: /latest posts|posts tagged|night/i },
  { name: "post", path: ({ post }) => `/p/${post}`, heading: /./ },
  { name: "profile", path: () => "/u/ann", heading: /ann okafor/i },
  { name: "login", path: () => "/login", heading: /log in/i },
  { name: "signup", path: () => "/signup", heading: /sign up/i },
  { name: "forgot-password", path: () => "/forgot-password", heading: /password/i },
  { name: "reset-password", path: () => "/reset-password?token=not-a-real-token", heading: /password/i },
  { name: "verify-email", path: () => "/verify-email?token=not-a-real-token", heading: /verify your email/i },
  { name: "not-found", path: () => "/no/such/page", heading: /not found/i },
];

const signedInPages: PageCase[] = [
  { name: "compose", path: () => "/new", heading: /new post/i, as: demo.ann },
  { name: "edit", path: ({ post }) => `/p/${post}/edit`, heading: /edit/i, as: demo.ann },
  { name: "settings", path: () => "/settings", heading: /settings/i, as: demo.ann },
  { name: "own-profile", path: () => "/u/ann", heading: /ann okafor/i, as: demo.ann },
  { name: "admin-users", path: () => "/admin/users", heading: /^users$/i, as: "dan@demo.snapboard.test" },
];

/** One of ann's public posts, found through the API as the app itself would. */
async function annsPost(page: Page): Promise<string> {
  const response = await page.request.get("/api/posts?author=ann&limit=1");
  expect(response.ok()).toBe(true);
  const body = (await response.json()) as { items: { id: string }[] };
  return body.items[0]!.id;
}

async function visit(page: Page, path: string, heading: RegExp): Promise<void> {
  await page.goto(path);
  await expect(page.getByRole("heading", { level: 1, name: heading }).first()).toBeVisible();
  // Let lazy images and skeletons settle before axe and the camera look.
  await page.waitForLoadState("networkidle");
}

for (const [size, viewport] of [
  ["desktop", DESKTOP],
  ["phone", PHONE],
] as const) {
  test.describe(`${size} pages`, () => {
    test.use({ viewport });

    for (const item of anonymousPages) {
      test(`${item.name} is accessible (${size})`, async ({ page }, testInfo) => {
        const post = await annsPost(page);
        await visit(page, item.path({ post }), item.heading);
        await expectAccessible(page, `${item.name} at ${size}`);
        await keepScreenshot(page, testInfo, `${item.name}-${size}`);
      });
    }

    test(`signed-in pages are accessible (${size})`, async ({ page }, testInfo) => {
      const post = await annsPost(page);
      let signedInAs: string | undefined;
      for (const item of signedInPages) {
        if (item.as !== signedInAs) {
          if (signedInAs) {
            await page.getByRole("button", { name: "Log out" }).click();
            await expect(page.getByRole("link", { name: "Log in" })).toBeVisible();
          }
          await logIn(page, item.as!, DEMO_PASSWORD);
          signedInAs = item.as;
        }
        await visit(page, item.path({ post }), item.heading);
        await expectAccessible(page, `${item.name} at ${size}`);
        await keepScreenshot(page, testInfo, `${item.name}-${size}`);
      }
    });
  });
}
