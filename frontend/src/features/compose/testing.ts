/**
 * Test helpers of the compose feature: the API's real shapes, a fetch stub
 * that answers by route, and an uploader the test drives by hand.
 */
import { vi } from "vitest";
import type { Image, Post } from "../../lib/api";
import { session } from "../../lib/api";
import type { User } from "../../lib/session";
import { UploadCancelled, type UploadOptions } from "../../lib/upload";

export const ann: User = {
  id: "a".repeat(24),
  email: "ann@demo.snapboard.test",
  username: "ann",
  display_name: "Ann Okafor",
  bio: "",
  roles: ["user"],
  email_verified: true,
  disabled: false,
  avatar: null,
  created_at: "2026-11-01T10:00:00Z",
};

export function signIn(user: User = ann): void {
  session.accept({ access_token: "h.p.s", token_type: "bearer", expires_in: 900, refresh_token: null, user });
}

export function image(id: string, alt: string | null = null): Image {
  const url = `http://127.0.0.1/api/media/snapboard/users/u/${id}.jpg`;
  return {
    id,
    width: 1200,
    height: 800,
    format: "jpeg",
    size: 1000,
    alt,
    url,
    variants: { thumb: `${url}?tr=w-320`, card: `${url}?tr=w-640`, full: `${url}?tr=w-1600` },
    srcset: `${url}?tr=w-320 320w`,
    placeholder: `${url}?tr=w-32`,
  };
}

/** A 24-hex id made of one repeated character. */
export const id = (char: string) => char.repeat(24);

export function post(overrides: Partial<Post> = {}): Post {
  return {
    id: id("p"),
    title: "Harbour at night",
    body: "Lights on the water.",
    tags: ["night", "sea"],
    visibility: "public",
    author: { id: ann.id, username: ann.username, display_name: ann.display_name, avatar: null },
    images: [image(id("1"), "Boats"), image(id("2"), "Pier")],
    created_at: "2026-11-30T20:00:00Z",
    updated_at: "2026-11-30T20:00:00Z",
    version: 3,
    ...overrides,
  };
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  const type = status >= 400 ? "application/problem+json" : "application/json";
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type, ...headers } });
}

export function problem(status: number, code: string, detail: string, errors: { field: string; message: string }[] | null = null) {
  return json({ type: `urn:snapboard:problem:${code}`, title: detail, status, detail, code, errors }, status);
}

export interface Sent {
  method: string;
  path: string;
  headers: Headers;
  body: unknown;
}

type Handler = (request: Request, sent: Sent) => Response | Promise<Response>;

/** Stubs fetch: `"PATCH /posts/:id"`-style routes (the path after /api); anything else is a 404. */
export function stubApi(routes: Record<string, Handler>) {
  const sent: Sent[] = [];
  const fetch = vi.fn(async (input: Request) => {
    const request = input instanceof Request ? input : new Request(input);
    const path = new URL(request.url).pathname.replace(/^\/api/, "");
    const text = await request.clone().text();
    const entry: Sent = {
      method: request.method,
      path,
      headers: request.headers,
      body: text ? (JSON.parse(text) as unknown) : undefined,
    };
    sent.push(entry);
    for (const [route, handler] of Object.entries(routes)) {
      const [method, pattern = ""] = route.split(" ");
      const regex = new RegExp(`^${pattern.replace(/:[a-z_]+/g, "[^/]+")}$`);
      if (method === request.method && regex.test(path)) return handler(request, entry);
    }
    return problem(404, "not_found", `No route ${request.method} ${path} in this test.`);
  });
  vi.stubGlobal("fetch", fetch);
  return { fetch, sent, to: (method: string, path: string) => sent.filter((s) => s.method === method && s.path === path) };
}

interface Call {
  file: File;
  options: UploadOptions;
  resolve: (image: Image) => void;
  reject: (error: unknown) => void;
}

/** An uploader the test finishes by hand: `calls` in the order they started. */
export function manualUploader() {
  const calls: Call[] = [];
  const upload = vi.fn(
    (file: File, options: UploadOptions) =>
      new Promise<Image>((resolve, reject) => {
        calls.push({ file, options, resolve, reject });
        options.signal?.addEventListener("abort", () => reject(new UploadCancelled()));
      }),
  );
  return {
    upload,
    calls,
    /** Finishes a started upload as the real one does: registered with the alt as typed by then. */
    finish(index: number, imageId: string) {
      const call = calls[index];
      if (!call) throw new Error(`upload ${index} has not started`);
      call.options.onProgress?.(1);
      call.resolve(image(imageId, call.options.alt ?? null));
    },
  };
}

export function pngFile(name: string): File {
  return new File([new Uint8Array([137, 80, 78, 71])], name, { type: "image/png" });
}
