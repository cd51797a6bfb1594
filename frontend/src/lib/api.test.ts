import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fakeApi, type Handler, type Seen } from "../test/fakeApi";
import { json, makePair, makeUser, noContent, problem } from "../test/fixtures";
import { call, callWithResponse, createApi } from "./api";
import { notices } from "./notices";
import { ApiError } from "./problem";

const BASE = "http://web.test/api";

const ME = makeUser();
const me: Handler = () => json(ME);
const stale: Handler = () =>
  problem(401, "invalid_token", "The access token has expired.", {
    headers: { "WWW-Authenticate": "Bearer" },
  });

describe("the API client", () => {
  let clock = 1_000_000;
  const now = () => clock;

  beforeEach(() => {
    clock = 1_000_000;
    notices.clear();
  });

  function signedInClient(fake: ReturnType<typeof fakeApi>) {
    const client = createApi({ fetch: fake.fetch, baseUrl: BASE, channel: null, now });
    client.session.accept(makePair(1, 900));
    return client;
  }

  let toSignOut: { signOut(): void }[] = [];
  afterEach(() => {
    // Clears the sessions' refresh timers.
    for (const session of toSignOut) session.signOut();
    toSignOut = [];
  });
  function track<T extends { session: { signOut(): void } }>(client: T): T {
    toSignOut.push(client.session);
    return client;
  }

  it("sends the access token as a Bearer token", async () => {
    const fake = fakeApi({ "GET /users/me": me });
    const { api } = track(signedInClient(fake));
    expect(await call(api.GET("/users/me"))).toEqual(ME);
    expect(fake.seen).toHaveLength(1);
    expect(fake.seen[0]!.authorization).toBe("Bearer access-1");
  });

  it("sends no token when signed out, and does not try to refresh on a 401", async () => {
    const fake = fakeApi({ "GET /users/me": stale });
    const { api, session } = track(createApi({ fetch: fake.fetch, baseUrl: BASE, channel: null }));
    session.signOut();
    await expect(call(api.GET("/users/me"))).rejects.toMatchObject({ status: 401 });
    expect(fake.seen.map((s) => s.authorization)).toEqual([null]);
    expect(fake.calls("POST /auth/refresh")).toHaveLength(0);
  });

  it("on a 401 reads its body, refreshes once and retries once with the new token", async () => {
    let first: Response | null = null;
    const fake = fakeApi({
      "GET /users/me": [
        () => {
          first = stale(new Request(BASE), {} as Seen) as Response;
          return first;
        },
        me,
      ],
      "POST /auth/refresh": () => json(makePair(2)),
    });
    const { api, session } = track(signedInClient(fake));

    expect(await call(api.GET("/users/me"))).toEqual(ME);
    expect(fake.seen.map((s) => [s.method, s.path, s.authorization])).toEqual([
      ["GET", "/users/me", "Bearer access-1"],
      ["POST", "/auth/refresh", null],
      ["GET", "/users/me", "Bearer access-2"],
    ]);
    // Chromium counts a fetch in flight until its body is read.
    expect(first!.bodyUsed).toBe(true);
    expect(session.currentToken).toBe("access-2");
  });

  it("refreshes with the cookie alone: no token in the body, credentials sent", async () => {
    const fake = fakeApi({
      "GET /users/me": [stale, me],
      "POST /auth/refresh": () => json(makePair(2)),
    });
    const { api } = track(signedInClient(fake));
    await call(api.GET("/users/me"));
    const [refresh] = fake.calls("POST /auth/refresh");
    expect(JSON.parse(refresh!.body)).toEqual({});
    expect(refresh!.credentials).toBe("same-origin");
  });

  it("retries the request with its body intact", async () => {
    const fake = fakeApi({
      "PATCH /users/me": [stale, (_request, seen) => json({ ...ME, ...JSON.parse(seen.body) })],
      "POST /auth/refresh": () => json(makePair(2)),
    });
    const { api } = track(signedInClient(fake));
    const updated = await call(api.PATCH("/users/me", { body: { display_name: "Ann O." } }));
    expect(updated.display_name).toBe("Ann O.");
    expect(fake.calls("PATCH /users/me").map((s) => JSON.parse(s.body))).toEqual([
      { display_name: "Ann O." },
      { display_name: "Ann O." },
    ]);
  });

  it("returns a second 401 after the retry instead of looping", async () => {
    const fake = fakeApi({
      "GET /users/me": stale,
      "POST /auth/refresh": () => json(makePair(2)),
    });
    const { api } = track(signedInClient(fake));
    const error = await call(api.GET("/users/me")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(401);
    expect((error as ApiError).code).toBe("invalid_token");
    expect(fake.calls("GET /users/me")).toHaveLength(2);
    expect(fake.calls("POST /auth/refresh")).toHaveLength(1);
  });

  it("makes requests failing with 401 at once share one refresh", async () => {
    const fake = fakeApi({
      "GET /users/me": (request) =>
        request.headers.get("Authorization") === "Bearer access-2" ? me(request, {} as Seen) : stale(request, {} as Seen),
      "GET /posts": (request) =>
        request.headers.get("Authorization") === "Bearer access-2"
          ? json({ items: [], next_cursor: null })
          : stale(request, {} as Seen),
      "POST /auth/refresh": async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return json(makePair(2));
      },
    });
    const { api } = track(signedInClient(fake));
    const [user, posts] = await Promise.all([call(api.GET("/users/me")), call(api.GET("/posts"))]);
    expect(user).toEqual(ME);
    expect(posts).toEqual({ items: [], next_cursor: null });
    expect(fake.calls("POST /auth/refresh")).toHaveLength(1);
  });

  it("makes requests sent just before expiry share one refresh, then sends the new token", async () => {
    const fake = fakeApi({
      "GET /users/me": me,
      "GET /posts": () => json({ items: [], next_cursor: null }),
      "POST /auth/refresh": () => json(makePair(2)),
    });
    const { api } = track(signedInClient(fake));
    clock += 850_000; // inside the last minute of the token
    await Promise.all([call(api.GET("/users/me")), call(api.GET("/posts")), call(api.GET("/users/me"))]);
    expect(fake.calls("POST /auth/refresh")).toHaveLength(1);
    expect(fake.seen.filter((s) => s.path !== "/auth/refresh").map((s) => s.authorization)).toEqual([
      "Bearer access-2",
      "Bearer access-2",
      "Bearer access-2",
    ]);
  });

  it.each([
    ["POST /auth/login", (api: ReturnType<typeof createApi>["api"]) =>
      api.POST("/auth/login", { body: { email: "ann@example.com", password: "wrong-password" } })],
    ["POST /auth/logout", (api: ReturnType<typeof createApi>["api"]) => api.POST("/auth/logout")],
  ])("never retries an auth route (%s) after a 401", async (route, send) => {
    const fake = fakeApi({
      [route]: () => problem(401, "invalid_credentials", "The email or password is wrong."),
      "POST /auth/refresh": () => json(makePair(2)),
    });
    const { api, session } = track(signedInClient(fake));
    await expect(call(send(api))).rejects.toMatchObject({ status: 401 });
    expect(fake.calls(route)).toHaveLength(1);
    expect(fake.calls("POST /auth/refresh")).toHaveLength(0);
    expect(session.currentToken).toBe("access-1");
  });

  it("signs out when the refresh is refused, and answers the request's own 401", async () => {
    const fake = fakeApi({
      "GET /users/me": stale,
      "POST /auth/refresh": () => problem(401, "refresh_token_reused", "This refresh token was already used."),
    });
    const { api, session } = track(signedInClient(fake));
    const error = (await call(api.GET("/users/me")).catch((e: unknown) => e)) as ApiError;
    expect(error.status).toBe(401);
    expect(error.code).toBe("invalid_token");
    expect(session.state).toEqual({ status: "anonymous", user: null });
    expect(fake.calls("GET /users/me")).toHaveLength(1);
  });

  it("stays signed in when the refresh fails on the network", async () => {
    const fake = fakeApi({
      "GET /users/me": stale,
      "POST /auth/refresh": () => {
        throw new TypeError("Failed to fetch");
      },
    });
    const { api, session } = track(signedInClient(fake));
    await expect(call(api.GET("/users/me"))).rejects.toMatchObject({ status: 401 });
    expect(session.state.status).toBe("signed-in");
    expect(session.currentToken).toBe("access-1");
  });

  it("says a request that got no answer is a network error", async () => {
    const fake = fakeApi({
      "GET /users/me": () => {
        throw new TypeError("Failed to fetch");
      },
    });
    const { api } = track(signedInClient(fake));
    const error = (await call(api.GET("/users/me")).catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.isNetwork).toBe(true);
    expect(notices.get()).toEqual({ kind: "unavailable", until: 0 });
  });

  it("gives the response with the data, for headers like ETag", async () => {
    const fake = fakeApi({ "GET /users/me": () => json(ME, 200, { ETag: '"v3"' }) });
    const { api } = track(signedInClient(fake));
    const { data, response } = await callWithResponse(api.GET("/users/me"));
    expect(data).toEqual(ME);
    expect(response.headers.get("ETag")).toBe('"v3"');
  });

  it("answers undefined for a 204", async () => {
    const fake = fakeApi({ "POST /auth/verify-email/resend": () => noContent() });
    const { api } = track(signedInClient(fake));
    expect(await call(api.POST("/auth/verify-email/resend"))).toBeUndefined();
  });

  describe("notices for the whole app", () => {
    it("a 429 reports rate-limited until Retry-After has passed, and the error carries it", async () => {
      vi.spyOn(Date, "now").mockReturnValue(5_000_000);
      const fake = fakeApi({
        "POST /auth/password-reset": () =>
          problem(429, "rate_limited", "Too many requests.", { headers: { "Retry-After": "30" } }),
      });
      const { api } = track(signedInClient(fake));
      const error = (await call(
        api.POST("/auth/password-reset", { body: { email: "ann@example.com" } }),
      ).catch((e: unknown) => e)) as ApiError;
      expect(error.status).toBe(429);
      expect(error.retryAfter).toBe(30);
      expect(notices.get()).toEqual({ kind: "rate-limited", until: 5_030_000 });
    });

    it("a 503 reports unavailable, and a later answer clears it", async () => {
      vi.spyOn(Date, "now").mockReturnValue(5_000_000);
      const fake = fakeApi({
        "GET /users/me": [
          () => problem(503, "unavailable", "The database is not answering.", { headers: { "Retry-After": "5" } }),
          me,
        ],
      });
      const { api } = track(signedInClient(fake));
      await expect(call(api.GET("/users/me"))).rejects.toMatchObject({ status: 503, retryAfter: 5 });
      expect(notices.get()).toEqual({ kind: "unavailable", until: 5_005_000 });
      await call(api.GET("/users/me"));
      expect(notices.get()).toBeNull();
    });

    it("a 429 during the retry of a 401 is reported too", async () => {
      const fake = fakeApi({
        "GET /users/me": [stale, () => problem(429, "rate_limited", "Slow down.", { headers: { "Retry-After": "2" } })],
        "POST /auth/refresh": () => json(makePair(2)),
      });
      const { api } = track(signedInClient(fake));
      await expect(call(api.GET("/users/me"))).rejects.toMatchObject({ status: 429, retryAfter: 2 });
      expect(notices.get()?.kind).toBe("rate-limited");
    });
  });
});
