import { vi } from "vitest";

export interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  authorization: string | null;
  body: string;
  credentials: RequestCredentials;
}

export type Handler = (request: Request, seen: Seen) => Response | Promise<Response>;

/**
 * The API at the fetch level: `"METHOD /path"` (without /api) → its answers,
 * given in turn (the last one repeats). Every request is recorded as the
 * server saw it; a request nobody expected fails the test loudly.
 */
export function fakeApi(routes: Record<string, Handler | Handler[]>) {
  const seen: Seen[] = [];
  const count: Record<string, number> = {};
  const fetch = vi.fn(async (input: Request | string, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    const url = new URL(request.url, "http://localhost");
    const path = url.pathname.replace(/^\/api/, "");
    const key = `${request.method} ${path}`;
    const entry: Seen = {
      method: request.method,
      path,
      query: url.searchParams,
      authorization: request.headers.get("Authorization"),
      body: await request.clone().text(),
      credentials: request.credentials,
    };
    seen.push(entry);
    const route = routes[key];
    if (route === undefined) throw new Error(`unexpected request ${key}`);
    const answers = Array.isArray(route) ? route : [route];
    const n = count[key] ?? 0;
    count[key] = n + 1;
    return answers[Math.min(n, answers.length - 1)]!(request, entry);
  });
  return {
    fetch,
    seen,
    calls: (key: string) => seen.filter((s) => `${s.method} ${s.path}` === key),
    bodies: (key: string) =>
      seen.filter((s) => `${s.method} ${s.path}` === key).map((s) => JSON.parse(s.body) as unknown),
  };
}

/** The app's own client (lib/api.ts) talks to this fake from now on. */
export function stubApi(routes: Record<string, Handler | Handler[]>) {
  const fake = fakeApi(routes);
  vi.stubGlobal("fetch", fake.fetch);
  return fake;
}
