/**
 * The one API client: every request the web app makes goes through here.
 *
 * Types come from the OpenAPI document the backend serves (api-types.ts,
 * `make api-types`); openapi-fetch turns them into typed calls. The browser
 * talks to its own origin: `/api/*` is rewritten to the backend by Vercel in
 * production and by the local server in development, so requests carry no CORS
 * and the refresh cookie is first-party on `/api/auth`.
 */
import createClient from "openapi-fetch";
import type { components, paths } from "./api-types";
import { ApiError, asProblem, parseRetryAfter } from "./problem";
import { notices } from "./notices";
import { Session, storageHint, type SessionHint, type TabChannel, type TokenPair } from "./session";

export type Schemas = components["schemas"];
export type Post = Schemas["PostPublic"];
export type Image = Schemas["ImagePublic"];
export type Author = Schemas["AuthorSummary"];

export const API_BASE = "/api";

type Fetch = (request: Request) => Promise<Response>;

export interface ApiOptions {
  fetch?: Fetch;
  baseUrl?: string;
  channel?: TabChannel | null;
  hint?: SessionHint;
  now?: () => number;
}

/** The auth routes answer 401 for bad credentials, not for a stale token: never retried. */
function isAuthRoute(url: string): boolean {
  return new URL(url, "http://x").pathname.includes("/auth/");
}

export function createApi(options: ApiOptions = {}) {
  const baseUrl = options.baseUrl ?? API_BASE;
  const send: Fetch = options.fetch ?? ((request) => globalThis.fetch(request));

  /** Every request: report what the whole app should know (slow down, down, offline). */
  async function observed(request: Request): Promise<Response> {
    let response: Response;
    try {
      response = await send(request);
    } catch (error) {
      if (!(error instanceof DOMException && error.name === "AbortError")) {
        const offline = typeof navigator !== "undefined" && !navigator.onLine;
        notices.report(offline ? { kind: "offline" } : { kind: "unavailable", until: 0 });
      }
      throw error;
    }
    const wait = parseRetryAfter(response.headers.get("Retry-After"));
    const until = Date.now() + (wait ?? 0) * 1000;
    if (response.status === 429) notices.report({ kind: "rate-limited", until });
    else if (response.status === 503) notices.report({ kind: "unavailable", until });
    else if (response.status < 500) {
      notices.clear("unavailable");
      notices.clear("offline");
    }
    return response;
  }

  const plain = createClient<paths>({ baseUrl, fetch: observed, credentials: "same-origin" });

  const session = new Session({
    ...(options.now ? { now: options.now } : {}),
    channel: options.channel ?? null,
    ...(options.hint ? { hint: options.hint } : {}),
    transport: {
      async refresh(): Promise<TokenPair | null> {
        // The cookie carries the refresh token; the body stays empty.
        const { data, error, response } = await plain.POST("/auth/refresh", { body: {} });
        if (data) return data;
        if (response.status === 401) return null;
        throw toApiError(response, error);
      },
    },
  });

  /** Sends the access token; on a 401 refreshes once (shared) and retries the request once. */
  async function authorized(request: Request): Promise<Response> {
    const retry = request.clone();
    const token = await session.accessToken().catch(() => session.currentToken);
    if (token !== null) request.headers.set("Authorization", `Bearer ${token}`);
    const response = await observed(request);
    if (response.status !== 401 || token === null || isAuthRoute(request.url)) return response;
    // Read the 401's body: Chromium counts a fetch as in flight until it is read.
    const body = await response.arrayBuffer();
    const current = session.currentToken;
    const fresh = current !== null && current !== token ? current : await session.refresh().catch(() => null);
    if (fresh === null) return new Response(body, response);
    retry.headers.set("Authorization", `Bearer ${fresh}`);
    return observed(retry);
  }

  const api = createClient<paths>({ baseUrl, fetch: authorized, credentials: "same-origin" });
  return { api, session };
}

function toApiError(response: Response, body: unknown): ApiError {
  return new ApiError(
    response.status,
    asProblem(body),
    parseRetryAfter(response.headers.get("Retry-After")),
  );
}

type Result<D> = { data?: D; error?: unknown; response: Response };

/** The data of a successful call (undefined for a 204), or an ApiError naming what went wrong. */
export async function call<D>(pending: Promise<Result<D>>): Promise<D> {
  return (await callWithResponse(pending)).data;
}

/** Like `call`, with the response for its headers (`ETag`, `Location`). */
export async function callWithResponse<D>(
  pending: Promise<Result<D>>,
): Promise<{ data: D; response: Response }> {
  let result: Result<D>;
  try {
    result = await pending;
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError(0, null, null, "The server could not be reached.");
  }
  if (!result.response.ok) throw toApiError(result.response, result.error);
  return { data: result.data as D, response: result.response };
}

const channel =
  typeof BroadcastChannel === "undefined" ? null : new BroadcastChannel("snapboard-session");

export const { api, session } = createApi({ channel, hint: storageHint });
