/**
 * For tests: the API's real response shapes (as GET /posts and GET /posts/{id}
 * answer them, copied from the demo data set), and a fetch stub that routes
 * requests by method and path. Imported by tests only.
 */
import { vi } from "vitest";
import type { Image, Post, Schemas } from "../../lib/api";

const media = "http://127.0.0.1:5173/api/media/snapboard/users/u1";

export function image(n: number, overrides: Partial<Image> = {}): Image {
  const file = `${media}/photo${n}.jpg`;
  return {
    id: `img${n}`,
    width: 1200,
    height: 800,
    format: "jpeg",
    size: 15834,
    alt: `Photo ${n}`,
    url: file,
    variants: {
      thumb: `${file}?tr=w-320,h-320,f-auto`,
      card: `${file}?tr=w-640,f-auto`,
      full: `${file}?tr=w-1600,h-1600,c-at_max,f-auto`,
    },
    srcset: `${file}?tr=w-320,f-auto 320w, ${file}?tr=w-640,f-auto 640w, ${file}?tr=w-960,f-auto 960w`,
    placeholder: `${file}?tr=w-32,q-50,bl-30,f-auto`,
    ...overrides,
  };
}

export const ann: Post["author"] = {
  id: "u-ann",
  username: "ann",
  display_name: "Ann Okafor",
  avatar: {
    small: `${media}/avatar.jpg?tr=w-48,h-48,f-auto`,
    medium: `${media}/avatar.jpg?tr=w-96,h-96,f-auto`,
    large: `${media}/avatar.jpg?tr=w-256,h-256,f-auto`,
  },
};

export const bob: Post["author"] = { id: "u-bob", username: "bob", display_name: "Bob Lind", avatar: null };

export function post(n: number, overrides: Partial<Post> = {}): Post {
  return {
    id: `p${n}`,
    title: `Post number ${n}`,
    body: `Notes from the market: after dark.\n\nA second paragraph for post ${n}.`,
    tags: ["sea", "city"],
    visibility: "public",
    author: ann,
    images: [image(n * 10 + 1)],
    created_at: "2026-11-30T23:03:37.124000Z",
    updated_at: "2026-11-30T23:03:37.124000Z",
    version: 1,
    ...overrides,
  };
}

export function user(overrides: Partial<Schemas["UserPrivate"]> = {}): Schemas["UserPrivate"] {
  return {
    id: "u-ann",
    email: "ann@demo.snapboard.test",
    username: "ann",
    display_name: "Ann Okafor",
    bio: "Harbours at first light.",
    roles: ["user"],
    email_verified: true,
    disabled: false,
    avatar: ann.avatar,
    created_at: "2026-11-19T07:41:37.124000Z",
    ...overrides,
  };
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  const type = status >= 400 ? "application/problem+json" : "application/json";
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type, ...headers } });
}

export function problem(status: number, detail: string, code = "not_found"): Response {
  const titles: Record<number, string> = { 404: "Not found", 422: "Invalid request", 500: "Server error" };
  return json({ type: `urn:snapboard:problem:${code}`, title: titles[status] ?? "Error", status, detail, code }, status);
}

type Handler = (request: Request, url: URL) => Response | Promise<Response>;

/**
 * Stubs `fetch` with routes like `"GET /posts"` (the `/api` prefix dropped);
 * every request is recorded; an unrouted one answers 500 so a test notices.
 */
export function stubApi(routes: Record<string, Handler>) {
  const requests: { method: string; url: URL; body: string }[] = [];
  const fetch = vi.fn(async (input: Request) => {
    const url = new URL(input.url);
    const path = url.pathname.replace(/^\/api/, "");
    const body = input.method === "GET" ? "" : await input.clone().text();
    requests.push({ method: input.method, url, body });
    for (const [route, handler] of Object.entries(routes)) {
      const [method, pattern = ""] = route.split(" ");
      const regex = new RegExp(`^${pattern.replace(/:[a-z_]+/g, "[^/]+")}$`);
      if (method === input.method && regex.test(path)) return handler(input, url);
    }
    return problem(500, `No stub for ${input.method} ${path}`, "server_error");
  });
  vi.stubGlobal("fetch", fetch);
  return { fetch, requests };
}

/** IntersectionObserver for jsdom: a test says when the observed sentinel comes into view. */
export function stubIntersectionObserver() {
  const observers = new Set<{ callback: IntersectionObserverCallback; targets: Element[] }>();
  class FakeObserver {
    readonly entry: { callback: IntersectionObserverCallback; targets: Element[] };
    constructor(callback: IntersectionObserverCallback) {
      this.entry = { callback, targets: [] };
      observers.add(this.entry);
    }
    observe(target: Element) {
      this.entry.targets.push(target);
    }
    unobserve() {}
    disconnect() {
      observers.delete(this.entry);
    }
    takeRecords() {
      return [];
    }
  }
  vi.stubGlobal("IntersectionObserver", FakeObserver);
  return {
    /** Every live observer sees its targets intersect. */
    intersect() {
      for (const { callback, targets } of [...observers]) {
        const entries = targets.map((target) => ({ target, isIntersecting: true }) as IntersectionObserverEntry);
        callback(entries, {} as IntersectionObserver);
      }
    },
    get count() {
      return observers.size;
    },
  };
}
