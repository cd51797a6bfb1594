import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Route, Router } from "wouter";
import { memoryLocation } from "wouter/memory-location";
import EditPostPage from "./EditPostPage";
import { ann, id, image, json, manualUploader, pngFile, post, problem, signIn, stubApi } from "./testing";

const postPath = `/posts/${id("p")}`;

function renderEdit(upload = manualUploader()) {
  const location = memoryLocation({ path: `/p/${id("p")}/edit`, record: true });
  render(
    <Router hook={location.hook}>
      <Route path="/p/:id/edit">
        <EditPostPage upload={upload.upload} discard={async () => undefined} />
      </Route>
    </Router>,
  );
  return { location, upload };
}

const save = () => screen.getByRole("button", { name: "Save" });

beforeEach(() => signIn());
afterEach(() => vi.unstubAllGlobals());

describe("editing a post", () => {
  it("prefills the form and sends only what changed, with If-Match, then opens the post", async () => {
    const user = userEvent.setup();
    const api = stubApi({
      [`GET ${postPath}`]: () => json(post(), 200, { ETag: '"v3"' }),
      [`PATCH ${postPath}`]: () => json(post({ title: "Harbour at dawn", version: 4 }), 200, { ETag: '"v4"' }),
    });
    const { location } = renderEdit();

    const title = await screen.findByLabelText("Title");
    expect(title).toHaveValue("Harbour at night");
    expect(screen.getByLabelText("Body")).toHaveValue("Lights on the water.");
    expect(screen.getByRole("button", { name: "Remove tag night" })).toBeVisible();
    expect(screen.getByLabelText("Public")).toBeChecked();
    expect(screen.getByLabelText("Alt text for image 1")).toHaveValue("Boats");

    await user.clear(title);
    await user.type(title, "Harbour at dawn");
    await user.click(save());

    await waitFor(() => expect(location.history?.at(-1)).toBe(`/p/${id("p")}`));
    const [patch] = api.to("PATCH", postPath);
    expect(patch?.body).toEqual({ title: "Harbour at dawn" });
    expect(patch?.headers.get("If-Match")).toBe('"v3"');
    // No alt text changed: no image is patched.
    expect(api.sent.filter((sent) => sent.path.startsWith("/images/"))).toEqual([]);
  });

  it("alt of an existing image in edit is editable and saved with PATCH before PATCH /posts/{id}", async () => {
    const user = userEvent.setup();
    const api = stubApi({
      [`GET ${postPath}`]: () => json(post(), 200, { ETag: '"v3"' }),
      "PATCH /images/:id": (_request, sent) => json(image(id("1"), (sent.body as { alt: string | null }).alt)),
      [`PATCH ${postPath}`]: () => json(post({ version: 4 }), 200, { ETag: '"v4"' }),
    });
    const { location } = renderEdit();
    const alt = await screen.findByLabelText("Alt text for image 1");
    expect(alt).not.toHaveAttribute("readonly");
    await user.clear(alt);
    await user.type(alt, "Boats at dawn");
    expect(alt).toHaveAccessibleDescription("Changed: saved with the post.");
    await user.click(save());

    await waitFor(() => expect(location.history?.at(-1)).toBe(`/p/${id("p")}`));
    expect(api.sent.map((sent) => `${sent.method} ${sent.path}`)).toEqual([
      `GET ${postPath}`,
      `PATCH /images/${id("1")}`,
      `PATCH ${postPath}`,
    ]);
    expect(api.to("PATCH", `/images/${id("1")}`)[0]?.body).toEqual({ alt: "Boats at dawn" });
    // Nothing else changed, yet the post is patched: its new version (and ETag) covers the new text.
    const [patch] = api.to("PATCH", postPath);
    expect(patch?.body).toEqual({});
    expect(patch?.headers.get("If-Match")).toBe('"v3"');
  });

  it("a failing alt PATCH blocks the save and says why", async () => {
    const user = userEvent.setup();
    const api = stubApi({
      [`GET ${postPath}`]: () => json(post(), 200, { ETag: '"v3"' }),
      "PATCH /images/:id": () =>
        problem(422, "invalid_input", "Invalid value for: alt", [
          { field: "alt", message: "String should have at most 300 characters" },
        ]),
      [`PATCH ${postPath}`]: () => json(post({ version: 4 }), 200, { ETag: '"v4"' }),
    });
    const { location } = renderEdit();
    await user.type(await screen.findByLabelText("Alt text for image 2"), " at night");
    await user.type(screen.getByLabelText("Title"), "!");
    await user.click(save());

    expect(await screen.findByText(/^The post was not saved/)).toHaveTextContent(
      "The post was not saved: the alt text for image 2 could not be saved. String should have at most 300 characters",
    );
    expect(api.to("PATCH", `/images/${id("2")}`)[0]?.body).toEqual({ alt: "Pier at night" });
    expect(api.to("PATCH", postPath)).toHaveLength(0);
    expect(location.history?.at(-1)).toBe(`/p/${id("p")}/edit`);
    expect(screen.getByLabelText("Title")).toHaveValue("Harbour at night!");
  });

  it("sends the gallery in the order set with the keyboard", async () => {
    const user = userEvent.setup();
    const api = stubApi({
      [`GET ${postPath}`]: () => json(post(), 200, { ETag: '"v3"' }),
      [`PATCH ${postPath}`]: () => json(post({ version: 4 }), 200, { ETag: '"v4"' }),
    });
    renderEdit();
    await user.click(await screen.findByRole("button", { name: "Move image 2 left" }));
    expect(screen.getByText("The image “Pier” moved to position 1 of 2.")).toBeInTheDocument();
    await user.click(save());
    await waitFor(() => expect(api.to("PATCH", postPath)).toHaveLength(1));
    expect(api.to("PATCH", postPath)[0]?.body).toEqual({ image_ids: [id("2"), id("1")] });
  });

  it("adds new uploads after the images the post had, and removes one", async () => {
    const user = userEvent.setup();
    const api = stubApi({
      [`GET ${postPath}`]: () => json(post(), 200, { ETag: '"v3"' }),
      [`PATCH ${postPath}`]: () => json(post({ version: 4 }), 200, { ETag: '"v4"' }),
    });
    const { upload } = renderEdit();
    await user.click(await screen.findByRole("button", { name: "Remove image 1" }));
    await user.upload(screen.getByLabelText("Add images"), [pngFile("new.png")]);
    expect(save()).toBeDisabled();
    await act(async () => upload.finish(0, id("3")));
    await user.click(save());
    await waitFor(() => expect(api.to("PATCH", postPath)).toHaveLength(1));
    expect(api.to("PATCH", postPath)[0]?.body).toEqual({ image_ids: [id("2"), id("3")] });
  });

  it("on a 412 says the post changed elsewhere, keeps the edits, and reloads the latest version on request", async () => {
    const user = userEvent.setup();
    let version = 3;
    const api = stubApi({
      [`GET ${postPath}`]: () =>
        json(version === 3 ? post() : post({ title: "Saved elsewhere", version }), 200, { ETag: `"v${version}"` }),
      [`PATCH ${postPath}`]: () => problem(412, "stale_etag", "The post changed since you read it; fetch it again."),
    });
    renderEdit();
    const title = await screen.findByLabelText("Title");
    await user.clear(title);
    await user.type(title, "My unsaved title");
    version = 4;
    await user.click(save());

    expect(await screen.findByText("This post was changed elsewhere since you opened it")).toBeVisible();
    expect(screen.getByText(/your unsaved changes are then lost/)).toBeVisible();
    expect(screen.getByLabelText("Title")).toHaveValue("My unsaved title");
    expect(api.to("PATCH", postPath)[0]?.headers.get("If-Match")).toBe('"v3"');

    await user.click(screen.getByRole("button", { name: "Reload the latest version" }));
    await waitFor(() => expect(screen.getByLabelText("Title")).toHaveValue("Saved elsewhere"));
    expect(screen.queryByText("This post was changed elsewhere since you opened it")).toBeNull();

    // The next save goes with the new version's ETag.
    await user.type(screen.getByLabelText("Title"), "!");
    await user.click(save());
    await waitFor(() => expect(api.to("PATCH", postPath)).toHaveLength(2));
    expect(api.to("PATCH", postPath)[1]?.headers.get("If-Match")).toBe('"v4"');
  });

  it("shows not found for a post that is not there", async () => {
    stubApi({ [`GET ${postPath}`]: () => problem(404, "not_found", "No such post.") });
    renderEdit();
    expect(await screen.findByRole("heading", { level: 1, name: "Not found" })).toBeVisible();
  });

  it("shows not found to someone who is neither the author nor an admin", async () => {
    signIn({ ...ann, id: id("b"), username: "ben" });
    stubApi({ [`GET ${postPath}`]: () => json(post(), 200, { ETag: '"v3"' }) });
    renderEdit();
    expect(await screen.findByRole("heading", { level: 1, name: "Not found" })).toBeVisible();
    expect(screen.queryByLabelText("Title")).toBeNull();
  });

  it("lets an administrator edit someone else's post", async () => {
    signIn({ ...ann, id: id("b"), username: "root", roles: ["user", "admin"] });
    stubApi({ [`GET ${postPath}`]: () => json(post({ images: [image(id("1"))] }), 200, { ETag: '"v3"' }) });
    renderEdit();
    expect(await screen.findByLabelText("Title")).toHaveValue("Harbour at night");
    // Images an admin uploads would be the admin's, and the API attaches only the author's.
    expect(screen.getByLabelText("Add images")).toBeDisabled();
    expect(screen.getByText(/Only the author can add images to this post/)).toBeVisible();
  });

  it("lets an administrator change the alt text of someone else's images", async () => {
    const user = userEvent.setup();
    signIn({ ...ann, id: id("b"), username: "root", roles: ["user", "admin"] });
    const api = stubApi({
      [`GET ${postPath}`]: () => json(post({ images: [image(id("1"))] }), 200, { ETag: '"v3"' }),
      "PATCH /images/:id": (_request, sent) => json(image(id("1"), (sent.body as { alt: string | null }).alt)),
      [`PATCH ${postPath}`]: () => json(post({ version: 4 }), 200, { ETag: '"v4"' }),
    });
    const { location } = renderEdit();
    await user.type(await screen.findByLabelText("Alt text for image 1"), "Boats");
    await user.click(save());
    await waitFor(() => expect(location.history?.at(-1)).toBe(`/p/${id("p")}`));
    expect(api.to("PATCH", `/images/${id("1")}`)[0]?.body).toEqual({ alt: "Boats" });
    expect(api.to("PATCH", postPath)).toHaveLength(1);
  });
});
