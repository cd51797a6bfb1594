import { act, render, renderHook, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Route, Router } from "wouter";
import { memoryLocation } from "wouter/memory-location";
import { session } from "../../lib/api";
import { bob, image, json, post, problem, stubApi, user } from "../feed/fixtures.test-utils";
import PostPage from "./PostPage";
import { usePost } from "./usePost";

const gallery = post(7, {
  title: "Harbour at dusk",
  images: [image(1, { alt: "Boats at the quay" }), image(2, { alt: "The lighthouse" }), image(3, { alt: null })],
});

function signIn(overrides: Parameters<typeof user>[0] = {}) {
  act(() =>
    session.accept({ access_token: "h.p.s", token_type: "bearer", expires_in: 900, refresh_token: "r", user: user(overrides) }),
  );
}

function renderPost(id = "p7") {
  const location = memoryLocation({ path: `/p/${id}`, record: true });
  render(
    <Router hook={location.hook} searchHook={location.searchHook}>
      <Route path="/p/:id" component={PostPage} />
    </Router>,
  );
  return location;
}

function mainImage() {
  return within(screen.getByRole("region", { name: "Gallery" })).getAllByRole("img")[0]!;
}

afterEach(() => {
  act(() => session.signOut());
});

describe("PostPage", () => {
  it("shows the post: title, author, body in paragraphs, tags and its first image", async () => {
    act(() => session.signOut());
    stubApi({ "GET /posts/:id": () => json(gallery, 200, { ETag: '"v1"' }) });
    renderPost();

    expect(await screen.findByRole("heading", { level: 1, name: "Harbour at dusk" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Ann Okafor" })).toHaveAttribute("href", "/u/ann");
    expect(screen.getByText("Notes from the market: after dark.").tagName).toBe("P");
    expect(screen.getByText("A second paragraph for post 7.").tagName).toBe("P");
    expect(screen.getByRole("link", { name: "sea" })).toHaveAttribute("href", "/?tag=sea");
    expect(mainImage()).toHaveAccessibleName("Boats at the quay");
    expect(mainImage().getAttribute("srcset")).toContain("960w");
    expect(screen.queryByText("Private")).toBeNull();
    expect(screen.getByRole("button", { name: "Image 1 of 3" })).toHaveAttribute("aria-current", "true");
  });

  it("marks a private post", async () => {
    signIn();
    stubApi({ "GET /posts/:id": () => json({ ...gallery, visibility: "private" }) });
    renderPost();
    expect(await screen.findByText("Private")).toBeInTheDocument();
  });

  it("pages through the images with ArrowRight and ArrowLeft, wrapping round", async () => {
    act(() => session.signOut());
    stubApi({ "GET /posts/:id": () => json(gallery) });
    renderPost();
    const first = await screen.findByRole("button", { name: "Image 1 of 3" });
    first.focus();

    await userEvent.keyboard("{ArrowRight}");
    expect(mainImage()).toHaveAccessibleName("The lighthouse");
    expect(screen.getByRole("button", { name: "Image 2 of 3" })).toHaveAttribute("aria-current", "true");
    expect(screen.getByRole("button", { name: "Image 2 of 3" })).toHaveFocus();
    expect(first).not.toHaveAttribute("aria-current");

    await userEvent.keyboard("{ArrowRight}");
    // No alt from its owner: where it is, and from which post.
    expect(mainImage()).toHaveAccessibleName("Photo 3 of 3 from Harbour at dusk");
    await userEvent.keyboard("{ArrowRight}");
    expect(mainImage()).toHaveAccessibleName("Boats at the quay");
    await userEvent.keyboard("{ArrowLeft}");
    expect(mainImage()).toHaveAccessibleName("Photo 3 of 3 from Harbour at dusk");
  });

  it("picks an image with its thumbnail and with previous and next", async () => {
    act(() => session.signOut());
    stubApi({ "GET /posts/:id": () => json(gallery) });
    renderPost();
    await userEvent.click(await screen.findByRole("button", { name: "Image 3 of 3" }));
    expect(mainImage()).toHaveAccessibleName("Photo 3 of 3 from Harbour at dusk");
    await userEvent.click(screen.getByRole("button", { name: "Previous image" }));
    expect(mainImage()).toHaveAccessibleName("The lighthouse");
    await userEvent.click(screen.getByRole("button", { name: "Next image" }));
    expect(mainImage()).toHaveAccessibleName("Photo 3 of 3 from Harbour at dusk");
  });

  it("opens the full size in a dialog, pages there with the arrows, and Escape closes it", async () => {
    act(() => session.signOut());
    stubApi({ "GET /posts/:id": () => json(gallery) });
    renderPost();
    const opener = await screen.findByRole("button", { name: "View full size" });
    await userEvent.click(opener);

    const dialog = screen.getByRole("dialog", { name: "Harbour at dusk, full size" });
    expect(within(dialog).getByRole("button", { name: "Close" })).toHaveFocus();
    const big = within(dialog).getByRole("img", { name: "Boats at the quay" });
    expect(big).toHaveAttribute("sizes", "100vw");
    // The full-size variant (1200 px wide here) joins the srcset's 320–960.
    expect(big.getAttribute("srcset")).toContain("c-at_max,f-auto 1200w");

    await userEvent.keyboard("{ArrowRight}");
    expect(within(dialog).getByRole("img")).toHaveAccessibleName("The lighthouse");
    // One step per key, not one in the dialog and another in the gallery behind it.
    expect(within(dialog).getByText("Image 2 of 3")).toBeInTheDocument();
    await userEvent.keyboard("{ArrowLeft}");
    expect(within(dialog).getByRole("img")).toHaveAccessibleName("Boats at the quay");
    await userEvent.keyboard("{ArrowRight}");

    await userEvent.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(opener).toHaveFocus();
    // The gallery shows where the dialog was left.
    expect(mainImage()).toHaveAccessibleName("The lighthouse");
  });

  it("keeps the focus inside the dialog", async () => {
    act(() => session.signOut());
    stubApi({ "GET /posts/:id": () => json(gallery) });
    renderPost();
    await userEvent.click(await screen.findByRole("button", { name: "View full size" }));
    const dialog = screen.getByRole("dialog");
    await userEvent.tab();
    await userEvent.tab();
    expect(within(dialog).getByRole("button", { name: "Next image" })).toHaveFocus();
    await userEvent.tab();
    expect(within(dialog).getByRole("button", { name: "Close" })).toHaveFocus();
    await userEvent.click(within(dialog).getByRole("button", { name: "Close" }));
    expect(screen.queryByRole("dialog")).toBeNull();
  });

  it("hides Edit and Delete from visitors and from other people", async () => {
    stubApi({ "GET /posts/:id": () => json(gallery) });
    act(() => session.signOut());
    renderPost();
    await screen.findByRole("heading", { level: 1, name: "Harbour at dusk" });
    expect(screen.queryByRole("link", { name: "Edit" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Delete" })).toBeNull();

    signIn({ id: bob.id, username: "bob", display_name: "Bob Lind", email: "bob@demo.snapboard.test" });
    await screen.findByRole("heading", { level: 1, name: "Harbour at dusk" });
    expect(screen.queryByRole("link", { name: "Edit" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Delete" })).toBeNull();
  });

  it("shows Edit and Delete to the author", async () => {
    signIn();
    stubApi({ "GET /posts/:id": () => json(gallery) });
    renderPost();
    expect(await screen.findByRole("link", { name: "Edit" })).toHaveAttribute("href", "/p/p7/edit");
    expect(screen.getByRole("button", { name: "Delete" })).toBeInTheDocument();
  });

  it("shows Edit and Delete to an admin", async () => {
    signIn({ id: "u-dan", username: "dan", roles: ["user", "admin"] });
    stubApi({ "GET /posts/:id": () => json(gallery) });
    renderPost();
    expect(await screen.findByRole("link", { name: "Edit" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Delete" })).toBeInTheDocument();
  });

  it("deletes after a confirmation, then goes to the feed", async () => {
    signIn();
    const confirm = vi.spyOn(window, "confirm").mockReturnValue(true);
    const { requests } = stubApi({
      "GET /posts/:id": () => json(gallery),
      "DELETE /posts/:id": () => new Response(null, { status: 204 }),
    });
    const location = renderPost();
    await userEvent.click(await screen.findByRole("button", { name: "Delete" }));
    expect(confirm).toHaveBeenCalledOnce();
    await waitFor(() => expect(location.history?.at(-1)).toBe("/"));
    expect(requests.filter((r) => r.method === "DELETE").map((r) => r.url.pathname)).toEqual(["/api/posts/p7"]);
  });

  it("keeps the post when the confirmation is declined", async () => {
    signIn();
    vi.spyOn(window, "confirm").mockReturnValue(false);
    const { requests } = stubApi({ "GET /posts/:id": () => json(gallery) });
    const location = renderPost();
    await userEvent.click(await screen.findByRole("button", { name: "Delete" }));
    expect(requests.filter((r) => r.method === "DELETE")).toEqual([]);
    expect(location.history).toEqual(["/p/p7"]);
  });

  it("says when the delete failed, and stays", async () => {
    signIn();
    vi.spyOn(window, "confirm").mockReturnValue(true);
    stubApi({
      "GET /posts/:id": () => json(gallery),
      "DELETE /posts/:id": () => problem(403, "Only the author or an admin may delete this post.", "forbidden"),
    });
    const location = renderPost();
    await userEvent.click(await screen.findByRole("button", { name: "Delete" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Only the author or an admin may delete this post.");
    expect(location.history).toEqual(["/p/p7"]);
  });

  it("shows not found for a missing, private or draft post", async () => {
    act(() => session.signOut());
    stubApi({ "GET /posts/:id": () => problem(404, "No post p404.") });
    renderPost("p404");
    expect(await screen.findByRole("heading", { level: 1, name: "Not found" })).toBeInTheDocument();
    expect(screen.getByText("This post does not exist, or you cannot see it.")).toBeInTheDocument();
  });

  it("offers a retry when the post could not be loaded", async () => {
    act(() => session.signOut());
    let fail = true;
    stubApi({ "GET /posts/:id": () => (fail ? problem(500, "The database did not answer.", "server_error") : json(gallery)) });
    renderPost();
    expect(await screen.findByRole("alert")).toHaveTextContent("The database did not answer.");
    fail = false;
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByRole("heading", { level: 1, name: "Harbour at dusk" })).toBeInTheDocument();
  });
});

describe("usePost", () => {
  it("gives the post with its ETag, for an edit's If-Match", async () => {
    act(() => session.signOut());
    stubApi({ "GET /posts/:id": () => json({ ...gallery, version: 3 }, 200, { ETag: '"v3"' }) });
    const { result } = renderHook(() => usePost("p7"));
    await waitFor(() => expect(result.current.status).toBe("ready"));
    expect(result.current.etag).toBe('"v3"');
    expect(result.current.post?.version).toBe(3);
  });

  it("asks again on reload and gives the new ETag", async () => {
    act(() => session.signOut());
    let version = 3;
    stubApi({ "GET /posts/:id": () => json({ ...gallery, version }, 200, { ETag: `"v${version}"` }) });
    const { result } = renderHook(() => usePost("p7"));
    await waitFor(() => expect(result.current.etag).toBe('"v3"'));
    version = 4;
    act(() => result.current.reload());
    expect(result.current.post?.version).toBe(3); // the old one stays until the answer
    await waitFor(() => expect(result.current.etag).toBe('"v4"'));
  });
});
