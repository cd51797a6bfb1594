import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Router } from "wouter";
import { memoryLocation } from "wouter/memory-location";
import ComposePage from "./ComposePage";
import { ann, id, image, json, manualUploader, pngFile, post, problem, signIn, stubApi } from "./testing";

function renderCompose(upload = manualUploader()) {
  const location = memoryLocation({ path: "/new", record: true });
  const discard = vi.fn(async () => undefined);
  render(
    <Router hook={location.hook}>
      <ComposePage upload={upload.upload} discard={discard} />
    </Router>,
  );
  return { location, upload, discard };
}

const publish = () => screen.getByRole("button", { name: "Publish" });

beforeEach(() => signIn());
afterEach(() => vi.unstubAllGlobals());

describe("composing a post", () => {
  it("publishes the title, body, tags, visibility and images, then opens the post", async () => {
    const user = userEvent.setup();
    const api = stubApi({ "POST /posts": () => json(post({ id: id("9") }), 201) });
    const { location, upload } = renderCompose();

    await user.type(screen.getByLabelText("Title"), "  Harbour at night ");
    await user.type(screen.getByLabelText("Body"), "Lights on the water.");
    await user.type(screen.getByLabelText("Tags"), "Night, SEA harbour-2 ");
    expect(screen.getAllByRole("button", { name: /^Remove tag / }).map((button) => button.getAttribute("aria-label"))).toEqual([
      "Remove tag night",
      "Remove tag sea",
      "Remove tag harbour-2",
    ]);
    await user.click(screen.getByRole("button", { name: "Remove tag sea" }));
    await user.click(screen.getByLabelText("Private"));
    await user.upload(screen.getByLabelText("Add images"), [pngFile("a.png")]);
    await act(async () => upload.finish(0, id("1")));
    await user.click(publish());

    await waitFor(() => expect(location.history?.at(-1)).toBe(`/p/${id("9")}`));
    expect(api.to("POST", "/posts")[0]?.body).toEqual({
      title: "Harbour at night",
      body: "Lights on the water.",
      tags: ["night", "harbour-2"],
      visibility: "private",
      image_ids: [id("1")],
    });
    expect(location.history?.at(-1)).toBe(`/p/${id("9")}`);
  });

  it("keeps Publish disabled, saying why, until every upload is done", async () => {
    const user = userEvent.setup();
    stubApi({ "POST /posts": () => json(post(), 201) });
    const { upload } = renderCompose();
    await user.type(screen.getByLabelText("Title"), "Two photos");
    await user.upload(screen.getByLabelText("Add images"), [pngFile("a.png"), pngFile("b.png")]);

    expect(publish()).toBeDisabled();
    expect(publish()).toHaveAccessibleDescription("Waiting for 2 uploads…");
    await act(async () => upload.calls[0]?.options.onProgress?.(0.5));
    expect(screen.getByRole("progressbar", { name: "Uploading a.png" })).toHaveValue(0.5);

    await act(async () => upload.finish(0, id("1")));
    expect(publish()).toBeDisabled();
    expect(screen.getByText("Waiting for 1 upload…")).toBeVisible();
    expect(screen.queryByRole("progressbar", { name: "Uploading a.png" })).toBeNull();

    await act(async () => upload.finish(1, id("2")));
    expect(publish()).toBeEnabled();
    expect(screen.queryByRole("progressbar")).toBeNull();
  });

  it("uploads at most three files at a time", async () => {
    const user = userEvent.setup();
    const { upload } = renderCompose();
    await user.upload(screen.getByLabelText("Add images"), ["a", "b", "c", "d"].map((n) => pngFile(`${n}.png`)));
    expect(upload.calls.map((c) => c.file.name)).toEqual(["a.png", "b.png", "c.png"]);
    await act(async () => upload.finish(1, id("2")));
    expect(upload.calls.map((c) => c.file.name)).toEqual(["a.png", "b.png", "c.png", "d.png"]);
  });

  it("registers an image with the alt text typed while it was uploading", async () => {
    const user = userEvent.setup();
    const { upload } = renderCompose();
    await user.upload(screen.getByLabelText("Add images"), [pngFile("cat.png")]);
    await user.type(screen.getByLabelText("Alt text for cat.png"), "A cat on a mat");
    await act(async () => upload.finish(0, id("1")));
    expect(await upload.upload.mock.results[0]?.value).toMatchObject({ alt: "A cat on a mat" });
  });

  it("changing alt after upload sends PATCH /images/{id} on Publish, then POST /posts", async () => {
    const user = userEvent.setup();
    const api = stubApi({
      "PATCH /images/:id": (_request, sent) => json(image(sent.path.split("/").at(-1) ?? "", (sent.body as { alt: string | null }).alt)),
      "POST /posts": () => json(post({ id: id("9") }), 201),
    });
    const { location, upload } = renderCompose();
    await user.type(screen.getByLabelText("Title"), "Two cats");
    await user.upload(screen.getByLabelText("Add images"), [pngFile("a.png"), pngFile("cat.png")]);
    await user.type(screen.getByLabelText("Alt text for a.png"), "A tabby");
    await act(async () => {
      upload.finish(0, id("1"));
      upload.finish(1, id("2"));
    });
    await user.type(screen.getByLabelText("Alt text for cat.png"), "A cat");
    await user.tab();
    // Nothing is uploaded again, and nothing is sent before Publish.
    expect(upload.calls).toHaveLength(2);
    expect(api.sent).toHaveLength(0);
    expect(screen.getByLabelText("Alt text for cat.png")).toHaveAccessibleDescription("Changed: saved with the post.");
    expect(publish()).toBeEnabled();

    await user.click(publish());
    await waitFor(() => expect(location.history?.at(-1)).toBe(`/p/${id("9")}`));
    // a.png's text went with its registration; only cat.png's is patched, before the post.
    expect(api.sent.map((sent) => `${sent.method} ${sent.path}`)).toEqual([`PATCH /images/${id("2")}`, "POST /posts"]);
    expect(api.sent[0]?.body).toEqual({ alt: "A cat" });
    expect(api.to("POST", "/posts")[0]?.body).toMatchObject({ image_ids: [id("1"), id("2")] });
  });

  it("a failing alt PATCH blocks the save and says why; Publish again sends only what is still unsaved", async () => {
    const user = userEvent.setup();
    let down = true;
    const api = stubApi({
      [`PATCH /images/${id("1")}`]: (_request, sent) => json(image(id("1"), (sent.body as { alt: string | null }).alt)),
      [`PATCH /images/${id("2")}`]: (_request, sent) =>
        down ? problem(503, "unavailable", "Unavailable") : json(image(id("2"), (sent.body as { alt: string | null }).alt)),
      "POST /posts": () => json(post({ id: id("9") }), 201),
    });
    const { location, upload } = renderCompose();
    await user.type(screen.getByLabelText("Title"), "Two");
    await user.upload(screen.getByLabelText("Add images"), [pngFile("a.png"), pngFile("b.png")]);
    await act(async () => {
      upload.finish(0, id("1"));
      upload.finish(1, id("2"));
    });
    await user.type(screen.getByLabelText("Alt text for a.png"), "First");
    await user.type(screen.getByLabelText("Alt text for b.png"), "Second");
    await user.click(publish());

    const alerts = await screen.findAllByRole("alert");
    expect(alerts.map((alert) => alert.textContent)).toEqual([
      "Alt text not saved: The service is briefly unavailable. Try again in a moment.",
      "The post was not saved: the alt text for b.png could not be saved. The service is briefly unavailable. Try again in a moment.",
    ]);
    expect(within(screen.getByLabelText("Alt text for b.png").closest("li") as HTMLElement).getByRole("alert")).toBeVisible();
    expect(api.to("POST", "/posts")).toHaveLength(0);
    expect(publish()).toBeEnabled();

    down = false;
    await user.click(publish());
    await waitFor(() => expect(location.history?.at(-1)).toBe(`/p/${id("9")}`));
    // a.png's text was saved the first time: it is not sent again.
    expect(api.to("PATCH", `/images/${id("1")}`)).toHaveLength(1);
    expect(api.to("PATCH", `/images/${id("2")}`)).toHaveLength(2);
    expect(api.to("POST", "/posts")).toHaveLength(1);
  });

  it("says why an upload failed, blocks Publish, and retries it", async () => {
    const user = userEvent.setup();
    const { upload } = renderCompose();
    await user.type(screen.getByLabelText("Title"), "One photo");
    await user.upload(screen.getByLabelText("Add images"), [pngFile("a.png")]);
    await act(async () => upload.calls[0]?.reject(new Error("The image store refused the file: too large")));

    expect(await screen.findByText("Upload of a.png failed: The image store refused the file: too large")).toBeVisible();
    expect(publish()).toBeDisabled();
    expect(publish()).toHaveAccessibleDescription("1 upload failed: retry or remove it first.");
    await user.click(screen.getByRole("button", { name: "Retry a.png" }));
    expect(upload.calls).toHaveLength(2);
    await act(async () => upload.finish(1, id("1")));
    expect(publish()).toBeEnabled();
  });

  it("cancels an upload: its request is aborted and the file leaves the list", async () => {
    const user = userEvent.setup();
    const { upload } = renderCompose();
    await user.upload(screen.getByLabelText("Add images"), [pngFile("a.png")]);
    await user.click(screen.getByRole("button", { name: "Cancel uploading a.png" }));
    expect(upload.calls[0]?.options.signal?.aborted).toBe(true);
    expect(screen.queryByLabelText("Alt text for a.png")).toBeNull();
    expect(publish()).toBeEnabled();
  });

  it("shows each file's preview and revokes it when the image is removed", async () => {
    const user = userEvent.setup();
    const created: string[] = [];
    vi.stubGlobal("URL", Object.assign(URL, {
      createObjectURL: vi.fn(() => {
        created.push(`blob:preview-${created.length}`);
        return created.at(-1);
      }),
      revokeObjectURL: vi.fn(),
    }));
    const { upload, discard } = renderCompose();
    await user.upload(screen.getByLabelText("Add images"), [pngFile("a.png")]);
    await act(async () => upload.finish(0, id("1")));
    const item = screen.getByLabelText("Alt text for a.png").closest("li");
    expect(item?.querySelector("img")?.getAttribute("src")).toBe("blob:preview-0");
    await user.click(screen.getByRole("button", { name: "Remove a.png" }));
    expect(URL.revokeObjectURL).toHaveBeenCalledWith("blob:preview-0");
    expect(discard).toHaveBeenCalledWith(id("1"));
  });

  it("refuses files that are not images of an accepted type", async () => {
    const user = userEvent.setup({ applyAccept: false });
    const { upload } = renderCompose();
    await user.upload(screen.getByLabelText("Add images"), [new File(["x"], "notes.pdf", { type: "application/pdf" })]);
    expect(await screen.findByRole("alert")).toHaveTextContent("notes.pdf is not a JPEG, PNG, WebP, GIF or AVIF image.");
    expect(upload.calls).toHaveLength(0);
  });

  it("reorders images with the keyboard, announces the new position, and sends that order", async () => {
    const user = userEvent.setup();
    const api = stubApi({ "POST /posts": () => json(post(), 201) });
    const { upload } = renderCompose();
    await user.type(screen.getByLabelText("Title"), "Order");
    await user.upload(screen.getByLabelText("Add images"), [pngFile("a.png"), pngFile("b.png"), pngFile("c.png")]);
    await act(async () => {
      upload.finish(0, id("a"));
      upload.finish(1, id("b"));
      upload.finish(2, id("c"));
    });

    const moveLeft = screen.getByRole("button", { name: "Move image 3 (c.png) left" });
    moveLeft.focus();
    await user.keyboard("{Enter}");
    expect(screen.getByRole("status", { name: "" }).textContent).toBe("c.png moved to position 2 of 3.");
    // The focus stays on the moved image's button, now at position 2.
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "Move image 2 (c.png) left" }));
    await user.keyboard("{Enter}");
    expect(screen.getByText("c.png moved to position 1 of 3.")).toBeInTheDocument();
    // At the start, Move left is disabled: the focus goes to Move right.
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "Move image 1 (c.png) right" }));

    await user.click(publish());
    await waitFor(() => expect(api.to("POST", "/posts")).toHaveLength(1));
    expect(api.to("POST", "/posts")[0]?.body).toMatchObject({ image_ids: [id("c"), id("a"), id("b")] });
  });

  it("puts the API's validation errors beside their fields", async () => {
    const user = userEvent.setup();
    stubApi({
      "POST /posts": () =>
        problem(422, "invalid_input", "Invalid value for: title, tags", [
          { field: "title", message: "The title is already used by the API's own check." },
          { field: "tags", message: "tag 0 must be 1-30 characters of a-z, 0-9 and '-'" },
        ]),
    });
    renderCompose();
    await user.type(screen.getByLabelText("Title"), "Fine here");
    await user.type(screen.getByLabelText("Tags"), "night ");
    await user.click(publish());

    await waitFor(() =>
      expect(screen.getByLabelText("Title")).toHaveAccessibleDescription(
        expect.stringContaining("The title is already used by the API's own check."),
      ),
    );
    expect(screen.getByLabelText("Title")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByLabelText("Tags")).toHaveAccessibleDescription(
      expect.stringContaining("tag 0 must be 1-30 characters of a-z, 0-9 and '-'"),
    );
    expect(screen.getByLabelText("Title")).toHaveFocus();
  });

  it("says beside an image which one the API refused", async () => {
    const user = userEvent.setup();
    stubApi({
      "POST /posts": () =>
        problem(422, "invalid_input", "Invalid value for: image_ids.1", [
          { field: "image_ids.1", message: "No such image among your uploads." },
        ]),
    });
    const { upload } = renderCompose();
    await user.type(screen.getByLabelText("Title"), "Two");
    await user.upload(screen.getByLabelText("Add images"), [pngFile("a.png"), pngFile("b.png")]);
    await act(async () => {
      upload.finish(0, id("a"));
      upload.finish(1, id("b"));
    });
    await user.click(publish());
    const second = screen.getByLabelText("Alt text for b.png").closest("li");
    expect(await within(second as HTMLElement).findByRole("alert")).toHaveTextContent("No such image among your uploads.");
    expect(screen.getByLabelText("Add images")).toHaveAccessibleDescription(
      expect.stringContaining("No such image among your uploads."),
    );
  });

  it("checks the title before sending anything", async () => {
    const user = userEvent.setup();
    const api = stubApi({});
    renderCompose();
    await user.click(publish());
    expect(screen.getByLabelText("Title")).toHaveAccessibleDescription(expect.stringContaining("Give the post a title."));
    await user.type(screen.getByLabelText("Title"), "x".repeat(141));
    await user.click(publish());
    expect(screen.getByLabelText("Title")).toHaveAccessibleDescription(expect.stringContaining("at most 140"));
    expect(api.sent).toHaveLength(0);
  });

  it("refuses a tag the API would refuse, and an eleventh", async () => {
    const user = userEvent.setup();
    renderCompose();
    await user.type(screen.getByLabelText("Tags"), "café ");
    expect(screen.getByLabelText("Tags")).toHaveAccessibleDescription(expect.stringContaining("“café” is not a tag"));
    expect(screen.getByLabelText("Tags")).toHaveValue("café");
    await user.clear(screen.getByLabelText("Tags"));
    await user.type(screen.getByLabelText("Tags"), "t1 t2 t3 t4 t5 t6 t7 t8 t9 t10 t11 ");
    expect(screen.getAllByRole("button", { name: /^Remove tag / })).toHaveLength(10);
    expect(screen.getByLabelText("Tags")).toHaveAccessibleDescription(expect.stringContaining("at most 10 tags"));
  });

  it("tells an unverified author to verify their email, with a link to the settings", async () => {
    const user = userEvent.setup();
    stubApi({ "POST /posts": () => problem(403, "email_not_verified", "Verify your email address first.") });
    renderCompose();
    await user.type(screen.getByLabelText("Title"), "Hello");
    await user.click(publish());
    const alert = await screen.findByText(/Verify your email address before posting/);
    expect(within(alert).getByRole("link", { name: "resend it from your settings" })).toHaveAttribute("href", "/settings");
  });

  it("tells an unverified author up front that posting needs a verified email", () => {
    signIn({ ...ann, email_verified: false });
    renderCompose();
    expect(screen.getByText(/Verify your email address to post/)).toBeVisible();
  });

  it("says when the service is briefly unavailable", async () => {
    const user = userEvent.setup();
    stubApi({ "POST /posts": () => problem(503, "unavailable", "Unavailable") });
    renderCompose();
    await user.type(screen.getByLabelText("Title"), "Hello");
    await user.click(publish());
    expect(await screen.findByRole("alert")).toHaveTextContent("The service is briefly unavailable. Try again in a moment.");
    expect(publish()).toBeEnabled();
  });
});
