import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Route, Router } from "wouter";
import { memoryLocation } from "wouter/memory-location";
import { session, type Schemas } from "../../lib/api";
import { ann, image, json, post, problem, stubApi, stubIntersectionObserver, user } from "../feed/fixtures.test-utils";
import ProfilePage from "./ProfilePage";

const annProfile: Schemas["UserPublic"] = {
  id: ann.id,
  username: "ann",
  display_name: "Ann Okafor",
  bio: "Harbours at first light.",
  avatar: ann.avatar,
  created_at: "2026-11-19T07:41:37.124000Z",
};

const newAvatar = {
  small: "http://127.0.0.1:5173/api/media/snapboard/users/u1/new.png?tr=w-48,h-48,f-auto",
  medium: "http://127.0.0.1:5173/api/media/snapboard/users/u1/new.png?tr=w-96,h-96,f-auto",
  large: "http://127.0.0.1:5173/api/media/snapboard/users/u1/new.png?tr=w-256,h-256,f-auto",
};

function signInAs(overrides: Parameters<typeof user>[0] = {}) {
  act(() =>
    session.accept({ access_token: "h.p.s", token_type: "bearer", expires_in: 900, refresh_token: "r", user: user(overrides) }),
  );
}

function renderProfile(username = "ann") {
  stubIntersectionObserver();
  const location = memoryLocation({ path: `/u/${username}` });
  render(
    <Router hook={location.hook} searchHook={location.searchHook}>
      <Route path="/u/:username" component={ProfilePage} />
    </Router>,
  );
}

const routes = {
  "GET /users/ann": () => json(annProfile),
  "GET /posts": () => json({ items: [post(1), post(2, { title: "Second" })], next_cursor: null }),
};

/** The image store's upload endpoint, as the ImageKit SDK's XMLHttpRequest reaches it; the test says how far it got. */
function stubImageStore() {
  const sent: { url: string; body: FormData; xhr: FakeXhr }[] = [];
  class FakeXhr {
    status = 0;
    responseText = "";
    upload: { onprogress: ((event: ProgressEvent) => void) | null } = { onprogress: null };
    onload: (() => void) | null = null;
    onerror: (() => void) | null = null;
    url = "";
    listeners: (() => void)[] = [];
    open(_method: string, url: string) {
      this.url = url;
    }
    send(body: FormData) {
      sent.push({ url: this.url, body, xhr: this });
    }
    abort() {}
    addEventListener(_type: string, listener: () => void) {
      this.listeners.push(listener);
    }
    getAllResponseHeaders() {
      return "";
    }
    setRequestHeader() {}
  }
  vi.stubGlobal("XMLHttpRequest", FakeXhr);
  return {
    sent,
    progress(fraction: number) {
      act(() => sent.at(-1)?.xhr.upload.onprogress?.({ lengthComputable: true, loaded: fraction * 100, total: 100 } as ProgressEvent));
    },
    finish(fileId: string) {
      const xhr = sent.at(-1)!.xhr;
      xhr.status = 200;
      xhr.responseText = JSON.stringify({ fileId, name: "me.png", filePath: "/snapboard/users/u1/me.png" });
      act(() => {
        xhr.onload?.();
        xhr.listeners.forEach((listener) => listener());
      });
    },
  };
}

afterEach(() => {
  act(() => session.signOut());
});

describe("ProfilePage", () => {
  it("shows the person: avatar, name, @username, bio, member since, and their posts", async () => {
    act(() => session.signOut());
    const { requests } = stubApi(routes);
    renderProfile();

    expect(await screen.findByRole("heading", { level: 1, name: "Ann Okafor" })).toBeInTheDocument();
    expect(screen.getByText("@ann")).toBeInTheDocument();
    expect(screen.getByText("Harbours at first light.")).toBeInTheDocument();
    expect(screen.getByText("November 2026")).toHaveAttribute("dateTime", "2026-11-19T07:41:37.124000Z");
    const posts = await screen.findByRole("list", { name: "Posts by Ann Okafor" });
    expect(within(posts).getAllByRole("article")).toHaveLength(2);
    expect(within(posts).getByRole("heading", { level: 3, name: "Second" })).toBeInTheDocument();
    const feed = requests.find((request) => request.url.pathname === "/api/posts")!;
    expect(feed.url.searchParams.get("author")).toBe("ann");
  });

  it("shows no owner's controls to visitors or to other people", async () => {
    act(() => session.signOut());
    stubApi(routes);
    renderProfile();
    await screen.findByRole("heading", { level: 1, name: "Ann Okafor" });
    expect(screen.queryByLabelText("Change avatar")).toBeNull();
    expect(screen.queryByRole("button", { name: "Remove avatar" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Edit display name" })).toBeNull();

    signInAs({ id: "u-bob", username: "bob", display_name: "Bob Lind", email: "bob@demo.snapboard.test" });
    expect(screen.queryByLabelText("Change avatar")).toBeNull();
    expect(screen.queryByRole("button", { name: "Edit display name" })).toBeNull();
  });

  it("shows the owner's controls on one's own profile", async () => {
    signInAs();
    stubApi(routes);
    renderProfile();
    const input = await screen.findByLabelText("Change avatar");
    expect(input).toHaveAttribute("type", "file");
    expect(input).toHaveAttribute("accept", "image/*");
    expect(screen.getByRole("button", { name: "Remove avatar" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Edit display name" })).toBeInTheDocument();
    expect(screen.getByRole("heading", { level: 2, name: "Your posts" })).toBeInTheDocument();
  });

  it("changes the avatar: straight to the image store with progress, then PUT /users/me/avatar", async () => {
    signInAs();
    const store = stubImageStore();
    const { requests } = stubApi({
      ...routes,
      "GET /images/upload-auth": () =>
        json({
          token: "t1",
          expire: 1_900_000_000,
          signature: "s1",
          public_key: "public_local",
          url_endpoint: "http://127.0.0.1:5173/api/media",
          folder: "/snapboard/users/u-ann",
          upload_url: "http://127.0.0.1:5173/api/media/upload",
        }),
      "POST /images/register": () => json(image(9), 201),
      "PUT /users/me/avatar": () => json({ image_id: "img9", urls: newAvatar }),
    });
    renderProfile();

    const file = new File([new Uint8Array([137, 80, 78, 71])], "me.png", { type: "image/png" });
    await userEvent.upload(await screen.findByLabelText("Change avatar"), file);
    await waitFor(() => expect(store.sent).toHaveLength(1));
    expect(store.sent[0]!.url).toBe("http://127.0.0.1:5173/api/media/upload");
    store.progress(0.4);
    expect(screen.getByRole("progressbar", { name: "Avatar upload" })).toHaveAttribute("value", "0.4");
    expect(screen.getByText("40%")).toBeInTheDocument();
    store.finish("file-9");

    expect(await screen.findByText("Your avatar was changed.")).toBeInTheDocument();
    const register = requests.find((request) => request.url.pathname === "/api/images/register")!;
    expect(JSON.parse(register.body)).toMatchObject({ file_id: "file-9" });
    const put = requests.find((request) => request.method === "PUT")!;
    expect(JSON.parse(put.body)).toEqual({ image_id: "img9" });
    expect(screen.queryByRole("progressbar")).toBeNull();
    // The new avatar shows on the profile and in the session (the header).
    const state = session.getState();
    expect(state.status === "signed-in" ? state.user.avatar : null).toEqual(newAvatar);
    const heading = screen.getByRole("heading", { level: 1 }).closest("header")!;
    expect(heading.querySelector("img")).toHaveAttribute("src", newAvatar.large);
  });

  it("removes the avatar after a confirmation", async () => {
    signInAs();
    vi.spyOn(window, "confirm").mockReturnValue(true);
    const { requests } = stubApi({ ...routes, "DELETE /users/me/avatar": () => new Response(null, { status: 204 }) });
    renderProfile();
    await userEvent.click(await screen.findByRole("button", { name: "Remove avatar" }));
    expect(await screen.findByText("Your avatar was removed.")).toBeInTheDocument();
    expect(requests.filter((request) => request.method === "DELETE")).toHaveLength(1);
    expect(screen.queryByRole("button", { name: "Remove avatar" })).toBeNull();
    const state = session.getState();
    expect(state.status === "signed-in" ? state.user.avatar : "still there").toBeNull();
  });

  it("keeps the avatar when the removal is not confirmed", async () => {
    signInAs();
    vi.spyOn(window, "confirm").mockReturnValue(false);
    const { requests } = stubApi(routes);
    renderProfile();
    await userEvent.click(await screen.findByRole("button", { name: "Remove avatar" }));
    expect(requests.filter((request) => request.method === "DELETE")).toEqual([]);
  });

  it("edits the display name in place and updates the session", async () => {
    signInAs();
    const { requests } = stubApi({
      ...routes,
      "PATCH /users/me": () => json(user({ display_name: "Ann O." })),
    });
    renderProfile();
    await userEvent.click(await screen.findByRole("button", { name: "Edit display name" }));
    const field = screen.getByLabelText("Display name");
    expect(field).toHaveValue("Ann Okafor");
    expect(field).toHaveFocus();
    await userEvent.clear(field);
    await userEvent.type(field, "Ann O.");
    await userEvent.click(screen.getByRole("button", { name: "Save" }));

    expect(await screen.findByRole("heading", { level: 1, name: "Ann O." })).toBeInTheDocument();
    const patch = requests.find((request) => request.method === "PATCH")!;
    expect(JSON.parse(patch.body)).toEqual({ display_name: "Ann O." });
    const state = session.getState();
    expect(state.status === "signed-in" ? state.user.display_name : null).toBe("Ann O.");
    expect(screen.queryByLabelText("Display name")).toBeNull();
  });

  it("shows a 422 beside the display name field", async () => {
    signInAs();
    stubApi({
      ...routes,
      "PATCH /users/me": () =>
        json(
          {
            type: "urn:snapboard:problem:validation",
            title: "Invalid request",
            status: 422,
            detail: "The request is not valid.",
            code: "validation",
            errors: [{ field: "display_name", message: "String should have at most 50 characters" }],
          },
          422,
        ),
    });
    renderProfile();
    await userEvent.click(await screen.findByRole("button", { name: "Edit display name" }));
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    const field = screen.getByLabelText("Display name");
    await waitFor(() => expect(field).toHaveAccessibleDescription(/at most 50 characters/));
    expect(field).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByRole("alert")).toHaveTextContent("String should have at most 50 characters");
  });

  it("shows not found for an unknown username", async () => {
    act(() => session.signOut());
    stubApi({ "GET /users/:name": () => problem(404, "No user named nobody."), "GET /posts": routes["GET /posts"] });
    renderProfile("nobody");
    expect(await screen.findByRole("heading", { level: 1, name: "Not found" })).toBeInTheDocument();
    expect(screen.getByText("This profile does not exist, or you cannot see it.")).toBeInTheDocument();
  });
});
