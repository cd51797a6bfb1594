import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { Router } from "wouter";
import { memoryLocation } from "wouter/memory-location";
import FeedPage from "./FeedPage";
import { json, post, problem, stubApi, stubIntersectionObserver } from "./fixtures.test-utils";

function renderFeed(path = "/") {
  const location = memoryLocation({ path, record: true });
  render(
    <Router hook={location.hook} searchHook={location.searchHook}>
      <FeedPage />
    </Router>,
  );
  return location;
}

const page1 = Array.from({ length: 12 }, (_, i) => post(i + 1));
const page2 = [post(13, { title: "From the second page" })];

beforeEach(() => {
  vi.spyOn(window, "scrollTo").mockImplementation(() => undefined);
});

describe("FeedPage", () => {
  it("shows a card per post, with author, title, time, tags and the first image", async () => {
    stubIntersectionObserver();
    stubApi({ "GET /posts": () => json({ items: page1, next_cursor: "c2" }) });
    renderFeed();

    const list = await screen.findByRole("list", { name: "Latest posts" });
    const cards = within(list).getAllByRole("article");
    expect(cards).toHaveLength(12);
    const first = within(cards[0]!);
    expect(first.getByRole("link", { name: "Post number 1" })).toHaveAttribute("href", "/p/p1");
    expect(first.getByRole("link", { name: "Ann Okafor" })).toHaveAttribute("href", "/u/ann");
    expect(first.getByRole("link", { name: "sea" })).toHaveAttribute("href", "/?tag=sea");
    expect(first.getByText(/ago|yesterday|in /, { selector: "time" })).toHaveAttribute(
      "dateTime",
      "2026-11-30T23:03:37.124000Z",
    );
    const img = first.getByRole("img", { name: "Photo 11" });
    expect(img).toHaveAttribute("srcset", page1[0]!.images[0]!.srcset);
    expect(img.getAttribute("sizes")).toContain("100vw");
    expect(img).toHaveAttribute("fetchpriority", "high");
    // The second card is not in the first row of a one-column (jsdom) layout: lazy.
    expect(within(cards[1]!).getByRole("img", { name: "Photo 21" })).toHaveAttribute("loading", "lazy");
  });

  it("asks for the newest posts, a page of 9", async () => {
    stubIntersectionObserver();
    const { requests } = stubApi({ "GET /posts": () => json({ items: page1, next_cursor: null }) });
    renderFeed();
    await screen.findByRole("link", { name: "Post number 1" });
    expect(requests).toHaveLength(1);
    expect(requests[0]!.url.searchParams.get("limit")).toBe("9");
    expect(requests[0]!.url.searchParams.has("cursor")).toBe(false);
    expect(screen.getByText("You have reached the end.")).toBeInTheDocument();
  });

  it("gives a post without images a text card", async () => {
    stubIntersectionObserver();
    stubApi({
      "GET /posts": () => json({ items: [post(1, { images: [], body: "Only words here." })], next_cursor: null }),
    });
    renderFeed();
    const card = await screen.findByRole("article");
    expect(within(card).queryByRole("img", { name: /photo/i })).toBeNull();
    expect(within(card).getByText("Only words here.")).toBeInTheDocument();
  });

  it("loads the next page with the cursor when the sentinel comes into view", async () => {
    const observer = stubIntersectionObserver();
    const { requests } = stubApi({
      "GET /posts": (_request, url) =>
        url.searchParams.get("cursor") === "c2"
          ? json({ items: page2, next_cursor: null })
          : json({ items: page1, next_cursor: "c2" }),
    });
    renderFeed();
    await screen.findByRole("link", { name: "Post number 12" });
    expect(requests).toHaveLength(1);

    act(() => observer.intersect());
    expect(await screen.findByRole("link", { name: "From the second page" })).toBeInTheDocument();
    expect(requests).toHaveLength(2);
    expect(requests[1]!.url.searchParams.get("cursor")).toBe("c2");
    expect(requests[1]!.url.searchParams.has("offset")).toBe(false);
    expect(screen.getAllByRole("article")).toHaveLength(13);
    // The last page: no sentinel any more, no further request.
    expect(observer.count).toBe(0);
    expect(screen.queryByRole("button", { name: "Load more posts" })).toBeNull();
  });

  it("asks for one next page however often the sentinel and the button fire", async () => {
    const observer = stubIntersectionObserver();
    let release: () => void = () => undefined;
    const { requests } = stubApi({
      "GET /posts": (_request, url) =>
        url.searchParams.get("cursor")
          ? new Promise<Response>((resolve) => {
              release = () => resolve(json({ items: page2, next_cursor: null }));
            })
          : json({ items: page1, next_cursor: "c2" }),
    });
    renderFeed();
    const button = await screen.findByRole("button", { name: "Load more posts" });
    act(() => observer.intersect());
    await userEvent.click(button);
    act(() => observer.intersect());
    await waitFor(() => expect(requests).toHaveLength(2));
    act(() => release());
    await screen.findByRole("link", { name: "From the second page" });
    expect(requests).toHaveLength(2);
  });

  it("loads more with the button and moves the focus to the first new post", async () => {
    stubIntersectionObserver();
    stubApi({
      "GET /posts": (_request, url) =>
        url.searchParams.get("cursor") === "c2"
          ? json({ items: page2, next_cursor: null })
          : json({ items: page1, next_cursor: "c2" }),
    });
    renderFeed();
    await userEvent.click(await screen.findByRole("button", { name: "Load more posts" }));
    const fresh = await screen.findByRole("link", { name: "From the second page" });
    await waitFor(() => expect(fresh).toHaveFocus());
  });

  it("filters by the tag and words in the URL", async () => {
    stubIntersectionObserver();
    const { requests } = stubApi({ "GET /posts": () => json({ items: [post(1)], next_cursor: null }) });
    renderFeed("/?tag=night&q=harbour");
    await screen.findByRole("link", { name: "Post number 1" });
    expect(requests[0]!.url.searchParams.get("tag")).toBe("night");
    expect(requests[0]!.url.searchParams.get("q")).toBe("harbour");
    expect(screen.getByRole("searchbox", { name: "Search posts" })).toHaveValue("harbour");
    expect(screen.getByRole("button", { name: "night", pressed: true })).toBeInTheDocument();
  });

  it("pushes a search into the URL, keeping the tag, and Back restores the previous one", async () => {
    stubIntersectionObserver();
    const { requests } = stubApi({ "GET /posts": () => json({ items: [post(1)], next_cursor: null }) });
    const location = renderFeed("/?tag=night");
    await screen.findByRole("link", { name: "Post number 1" });

    const box = screen.getByRole("searchbox", { name: "Search posts" });
    await userEvent.type(box, "harbour");
    expect(requests).toHaveLength(1); // typing alone does not search
    await userEvent.click(screen.getByRole("button", { name: "Search" }));

    expect(location.history).toEqual(["/?tag=night", "/?tag=night&q=harbour"]);
    await waitFor(() => expect(requests).toHaveLength(2));
    expect(requests[1]!.url.searchParams.get("q")).toBe("harbour");
    expect(requests[1]!.url.searchParams.get("tag")).toBe("night");

    // Back: the box shows the previous URL's words again.
    act(() => location.navigate("/?tag=night"));
    await waitFor(() => expect(screen.getByRole("searchbox", { name: "Search posts" })).toHaveValue(""));
  });

  it("sets the tag from a filter chip, and from a tag on a card", async () => {
    stubIntersectionObserver();
    stubApi({
      "GET /posts": () => json({ items: [post(1, { tags: ["night", "sea"] })], next_cursor: null }),
    });
    const location = renderFeed("/?q=harbour");
    await screen.findByRole("link", { name: "Post number 1" });

    await userEvent.click(screen.getByRole("button", { name: "night", pressed: false }));
    expect(location.history?.at(-1)).toBe("/?tag=night&q=harbour");
    await screen.findByRole("button", { name: "night", pressed: true });

    await userEvent.click(within(await screen.findByRole("article")).getByRole("link", { name: "sea" }));
    expect(location.history?.at(-1)).toBe("/?tag=sea");
  });

  it("clears the filters", async () => {
    stubIntersectionObserver();
    stubApi({ "GET /posts": () => json({ items: [post(1)], next_cursor: null }) });
    const location = renderFeed("/?tag=night");
    await userEvent.click(await screen.findByRole("link", { name: "Clear filters" }));
    expect(location.history?.at(-1)).toBe("/");
    await waitFor(() => expect(screen.queryByRole("link", { name: "Clear filters" })).toBeNull());
  });

  it("shows skeletons while the first page loads", async () => {
    stubIntersectionObserver();
    stubApi({ "GET /posts": () => new Promise<Response>(() => undefined) });
    renderFeed();
    expect(screen.getByRole("status")).toHaveTextContent("Loading posts…");
  });

  it("says when there are no posts at all", async () => {
    stubIntersectionObserver();
    stubApi({ "GET /posts": () => json({ items: [], next_cursor: null }) });
    renderFeed();
    expect(await screen.findByText("No posts yet.")).toBeInTheDocument();
    expect(screen.queryByRole("link", { name: "Show all posts" })).toBeNull();
  });

  it("says when nothing matches the filters, with a way back to everything", async () => {
    stubIntersectionObserver();
    stubApi({ "GET /posts": () => json({ items: [], next_cursor: null }) });
    const location = renderFeed("/?q=nothing");
    expect(await screen.findByText("No posts match these filters.")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("link", { name: "Show all posts" }));
    expect(location.history?.at(-1)).toBe("/");
  });

  it("shows an error with a retry that loads the page again", async () => {
    stubIntersectionObserver();
    let fail = true;
    stubApi({
      "GET /posts": () => (fail ? problem(500, "The database did not answer.", "server_error") : json({ items: page1, next_cursor: null })),
    });
    renderFeed();
    expect(await screen.findByRole("alert")).toHaveTextContent("The database did not answer.");
    fail = false;
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByRole("link", { name: "Post number 1" })).toBeInTheDocument();
  });

  it("keeps the list when a later page fails, and retries that page", async () => {
    const observer = stubIntersectionObserver();
    let fail = true;
    stubApi({
      "GET /posts": (_request, url) =>
        url.searchParams.get("cursor")
          ? fail
            ? problem(500, "The database did not answer.", "server_error")
            : json({ items: page2, next_cursor: null })
          : json({ items: page1, next_cursor: "c2" }),
    });
    renderFeed();
    await screen.findByRole("link", { name: "Post number 12" });
    act(() => observer.intersect());
    expect(await screen.findByRole("alert")).toHaveTextContent("The database did not answer.");
    expect(screen.getAllByRole("article")).toHaveLength(12);
    fail = false;
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByRole("link", { name: "From the second page" })).toBeInTheDocument();
  });
});
