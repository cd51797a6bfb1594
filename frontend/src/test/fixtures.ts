import type { TokenPair, User } from "../lib/session";

/** A `UserPrivate` as the API answers it. */
export function makeUser(overrides: Partial<User> = {}): User {
  return {
    id: "u1",
    email: "ann@example.com",
    username: "ann",
    display_name: "Ann Okafor",
    bio: "Harbours at first light.",
    roles: ["user"],
    email_verified: true,
    disabled: false,
    avatar: null,
    created_at: "2026-11-19T08:00:00Z",
    ...overrides,
  };
}

/** A `TokenPair` as `POST /auth/login` and `/auth/refresh` answer it. */
export function makePair(n: number, expiresIn = 900, user: User = makeUser()): TokenPair {
  return {
    access_token: `access-${n}`,
    token_type: "bearer",
    expires_in: expiresIn,
    refresh_token: `refresh-${n}`,
    user,
  };
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

/** An RFC 9457 problem, shaped like the API's. */
export function problem(
  status: number,
  code: string,
  detail: string,
  extra: { errors?: { field: string; message: string }[]; headers?: Record<string, string> } = {},
): Response {
  const titles: Record<number, string> = {
    401: "Authentication required",
    403: "Forbidden",
    409: "Conflict",
    422: "Invalid input",
    429: "Too many requests",
    503: "Service unavailable",
  };
  return new Response(
    JSON.stringify({
      type: `urn:snapboard:problem:${code}`,
      title: titles[status] ?? "Error",
      status,
      detail,
      code,
      ...(extra.errors ? { errors: extra.errors } : {}),
    }),
    { status, headers: { "Content-Type": "application/problem+json", ...extra.headers } },
  );
}

export function noContent(status = 204): Response {
  return new Response(null, { status });
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}
