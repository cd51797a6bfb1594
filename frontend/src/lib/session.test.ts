import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { deferred, makePair, makeUser, type Deferred } from "../test/fixtures";
import { Session, type TabChannel, type TokenPair } from "./session";

/** A transport whose answers the test gives, one per refresh request. */
function fakeTransport() {
  const pending: Deferred<TokenPair | null>[] = [];
  const refresh = vi.fn(() => {
    const answer = deferred<TokenPair | null>();
    pending.push(answer);
    return answer.promise;
  });
  return {
    transport: { refresh },
    refresh,
    /** The answer to the n-th refresh request (0-based). */
    answer: (n: number) => {
      const found = pending[n];
      if (!found) throw new Error(`no refresh request #${n}`);
      return found;
    },
  };
}

type Message = Parameters<TabChannel["postMessage"]>[0];

/** Tabs of one browser: like BroadcastChannel, a message reaches every other member, later. */
function browserTabs() {
  const members: { channel: TabChannel; listeners: ((event: MessageEvent<Message>) => void)[] }[] = [];
  const sent: Message[] = [];
  return {
    sent,
    channel(): TabChannel {
      const member = {
        listeners: [] as ((event: MessageEvent<Message>) => void)[],
        channel: {
          postMessage(message: Message) {
            sent.push(message);
            for (const other of members) {
              if (other === member) continue;
              const data = structuredClone(message);
              queueMicrotask(() => {
                for (const listener of other.listeners) {
                  listener(new MessageEvent("message", { data }));
                }
              });
            }
          },
          addEventListener(_type: "message", listener: (event: MessageEvent<Message>) => void) {
            member.listeners.push(listener);
          },
        } satisfies TabChannel,
      };
      members.push(member);
      return member.channel;
    },
  };
}

/** Lets queued promise callbacks and channel messages run. */
async function settle() {
  for (let i = 0; i < 5; i += 1) await Promise.resolve();
}

describe("Session", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("starts restoring, with no token", () => {
    const session = new Session({ transport: fakeTransport().transport });
    expect(session.state).toEqual({ status: "restoring", user: null });
    expect(session.currentToken).toBeNull();
  });

  it("keeps the access token of a login in memory and shows the user", async () => {
    const session = new Session({ transport: fakeTransport().transport });
    const listener = vi.fn();
    session.subscribe(listener);
    session.accept(makePair(1));
    expect(session.state).toEqual({ status: "signed-in", user: makeUser() });
    expect(await session.accessToken()).toBe("access-1");
    expect(listener).toHaveBeenCalled();
  });

  it("refreshes silently leadSeconds before the access token expires", async () => {
    const fake = fakeTransport();
    const session = new Session({ transport: fake.transport, leadSeconds: 30 });
    session.accept(makePair(1, 900));

    await vi.advanceTimersByTimeAsync(870_000 - 1);
    expect(fake.refresh).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(fake.refresh).toHaveBeenCalledTimes(1);

    fake.answer(0).resolve(makePair(2, 900));
    await settle();
    expect(session.currentToken).toBe("access-2");
    expect(session.state.status).toBe("signed-in");

    // The new token is refreshed the same way, lead seconds before its own expiry.
    await vi.advanceTimersByTimeAsync(870_000);
    expect(fake.refresh).toHaveBeenCalledTimes(2);
  });

  it("refreshes a minute before expiry by default", async () => {
    const fake = fakeTransport();
    const session = new Session({ transport: fake.transport });
    session.accept(makePair(1, 900));
    await vi.advanceTimersByTimeAsync(839_999);
    expect(fake.refresh).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(fake.refresh).toHaveBeenCalledTimes(1);
  });

  it("hands out the token without a request while it is fresh", async () => {
    const fake = fakeTransport();
    const session = new Session({ transport: fake.transport });
    session.accept(makePair(1, 900));
    await vi.advanceTimersByTimeAsync(600_000);
    expect(await session.accessToken()).toBe("access-1");
    expect(fake.refresh).not.toHaveBeenCalled();
  });

  it("makes concurrent accessToken() and refresh() callers share ONE refresh request", async () => {
    const fake = fakeTransport();
    let clock = 1_000_000;
    // The expiry timer never fires here: the callers' own freshness check is under test.
    const session = new Session({
      transport: fake.transport,
      now: () => clock,
      setTimer: () => 0,
      clearTimer: () => undefined,
    });
    session.accept(makePair(1, 900));
    clock += 850_000; // inside the last minute

    const callers = [session.accessToken(), session.accessToken(), session.refresh(), session.accessToken()];
    expect(fake.refresh).toHaveBeenCalledTimes(1);
    fake.answer(0).resolve(makePair(2, 900));
    expect(await Promise.all(callers)).toEqual(["access-2", "access-2", "access-2", "access-2"]);

    // Once it is answered, the next refresh is a new request.
    const again = session.refresh();
    expect(fake.refresh).toHaveBeenCalledTimes(2);
    fake.answer(1).resolve(makePair(3, 900));
    expect(await again).toBe("access-3");
  });

  it("signs out when the refresh is refused (401)", async () => {
    const fake = fakeTransport();
    const session = new Session({ transport: fake.transport });
    session.accept(makePair(1));
    const pending = session.refresh();
    fake.answer(0).resolve(null);
    expect(await pending).toBeNull();
    expect(session.state).toEqual({ status: "anonymous", user: null });
    expect(session.currentToken).toBeNull();
    expect(await session.accessToken()).toBeNull();
  });

  it("stays signed in when the refresh fails on the network", async () => {
    const fake = fakeTransport();
    let clock = 0;
    const session = new Session({
      transport: fake.transport,
      now: () => clock,
      setTimer: () => 0,
      clearTimer: () => undefined,
    });
    session.accept(makePair(1, 900));
    clock = 850_000;
    const token = session.accessToken();
    fake.answer(0).reject(new TypeError("Failed to fetch"));
    // The caller still gets the token it had: the API may well accept it for another minute.
    expect(await token).toBe("access-1");
    expect(session.state.status).toBe("signed-in");
    expect(session.currentToken).toBe("access-1");
  });

  it("rejects refresh() itself on a network failure, so a caller can tell it from a sign-out", async () => {
    const fake = fakeTransport();
    const session = new Session({ transport: fake.transport });
    session.accept(makePair(1));
    const pending = session.refresh();
    fake.answer(0).reject(new TypeError("Failed to fetch"));
    await expect(pending).rejects.toThrow("Failed to fetch");
    expect(session.state.status).toBe("signed-in");
  });

  describe("restore()", () => {
    it("signs in from the refresh cookie", async () => {
      const fake = fakeTransport();
      const session = new Session({ transport: fake.transport });
      const restoring = session.restore();
      fake.answer(0).resolve(makePair(1));
      await restoring;
      expect(session.state.status).toBe("signed-in");
      expect(session.currentToken).toBe("access-1");
    });

    it("is anonymous without a usable cookie", async () => {
      const fake = fakeTransport();
      const session = new Session({ transport: fake.transport });
      const restoring = session.restore();
      fake.answer(0).resolve(null);
      await restoring;
      expect(session.state).toEqual({ status: "anonymous", user: null });
    });

    it("is anonymous, not stuck restoring, when the API cannot be reached", async () => {
      const fake = fakeTransport();
      const session = new Session({ transport: fake.transport });
      const restoring = session.restore();
      fake.answer(0).reject(new TypeError("Failed to fetch"));
      await restoring;
      expect(session.state).toEqual({ status: "anonymous", user: null });
    });
  });

  it("updates the user shown, but never signs anybody in with it", () => {
    const session = new Session({ transport: fakeTransport().transport });
    session.updateUser(makeUser({ display_name: "Nobody" }));
    expect(session.state.status).toBe("restoring");
    session.accept(makePair(1));
    session.updateUser(makeUser({ email_verified: false, display_name: "Ann O." }));
    expect(session.state).toEqual({
      status: "signed-in",
      user: makeUser({ email_verified: false, display_name: "Ann O." }),
    });
  });

  it("stops refreshing after signOut", async () => {
    const fake = fakeTransport();
    const session = new Session({ transport: fake.transport });
    session.accept(makePair(1, 900));
    session.signOut();
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(fake.refresh).not.toHaveBeenCalled();
    expect(session.currentToken).toBeNull();
  });

  it("stays signed out when a refresh that was in flight at signOut answers afterwards", async () => {
    const fake = fakeTransport();
    const session = new Session({ transport: fake.transport });
    session.accept(makePair(1));
    const pending = session.refresh();
    session.signOut();
    fake.answer(0).resolve(makePair(2));
    expect(await pending).toBeNull();
    expect(session.state.status).toBe("anonymous");
    expect(session.currentToken).toBeNull();
  });

  it("a login while the restoring refresh is out is not signed out by that refresh's late 401", async () => {
    const fake = fakeTransport();
    const session = new Session({ transport: fake.transport });
    const restoring = session.restore();
    session.accept(makePair(1)); // POST /auth/login answered first
    fake.answer(0).resolve(null);
    await restoring;
    expect(session.state.status).toBe("signed-in");
    expect(session.currentToken).toBe("access-1");
  });

  describe("across tabs", () => {
    it("posts signOut to the channel, and another Session hearing it signs out", async () => {
      const tabs = browserTabs();
      const a = new Session({ transport: fakeTransport().transport, channel: tabs.channel() });
      const b = new Session({ transport: fakeTransport().transport, channel: tabs.channel() });
      a.accept(makePair(1));
      b.accept(makePair(2));
      tabs.sent.length = 0;

      a.signOut();
      expect(tabs.sent).toEqual([{ type: "signed-out" }]);
      await settle();
      expect(b.state).toEqual({ status: "anonymous", user: null });
      expect(b.currentToken).toBeNull();
    });

    it("a sign-in in one tab signs an anonymous tab in from the shared cookie", async () => {
      const tabs = browserTabs();
      const fakeB = fakeTransport();
      const a = new Session({ transport: fakeTransport().transport, channel: tabs.channel() });
      const b = new Session({ transport: fakeB.transport, channel: tabs.channel() });
      const restoring = b.restore();
      fakeB.answer(0).resolve(null);
      await restoring;

      a.accept(makePair(1));
      expect(tabs.sent).toEqual([{ type: "signed-in" }]);
      await settle();
      expect(fakeB.refresh).toHaveBeenCalledTimes(2);
      fakeB.answer(1).resolve(makePair(2));
      await settle();
      expect(b.state.status).toBe("signed-in");
    });

    it("announces a sign-in once, not on every refresh, and a signed-in tab does not refresh for it", async () => {
      const tabs = browserTabs();
      const fakeA = fakeTransport();
      const fakeB = fakeTransport();
      const a = new Session({ transport: fakeA.transport, channel: tabs.channel() });
      const b = new Session({ transport: fakeB.transport, channel: tabs.channel() });
      b.accept(makePair(10));
      a.accept(makePair(1));
      const refreshed = a.refresh();
      fakeA.answer(0).resolve(makePair(2));
      await refreshed;
      await settle();
      expect(tabs.sent).toEqual([{ type: "signed-in" }, { type: "signed-in" }]); // one per tab's login
      expect(fakeB.refresh).not.toHaveBeenCalled();
    });
  });

  describe("the signed-in hint", () => {
    function memoryHint(present: boolean) {
      let value = present;
      return { get: () => value, set: (next: boolean) => void (value = next), read: () => value };
    }

    it("spares an anonymous visit the refresh request", async () => {
      const fake = fakeTransport();
      const session = new Session({ transport: fake.transport, hint: memoryHint(false) });
      await session.restore();
      expect(session.state.status).toBe("anonymous");
      expect(fake.refresh).not.toHaveBeenCalled();
    });

    it("is set by a sign-in and cleared by a sign-out, so the next reload asks or does not", async () => {
      const fake = fakeTransport();
      const hint = memoryHint(false);
      const session = new Session({ transport: fake.transport, hint });
      session.accept(makePair(1));
      expect(hint.read()).toBe(true);
      session.signOut();
      expect(hint.read()).toBe(false);
    });

    it("with the hint, a reload trades the cookie for a token", async () => {
      const fake = fakeTransport();
      const session = new Session({ transport: fake.transport, hint: memoryHint(true) });
      const restoring = session.restore();
      fake.answer(0).resolve(makePair(1));
      await restoring;
      expect(session.state.status).toBe("signed-in");
    });

    it("is cleared when the cookie turned out to be gone", async () => {
      const fake = fakeTransport();
      const hint = memoryHint(true);
      const session = new Session({ transport: fake.transport, hint });
      const restoring = session.restore();
      fake.answer(0).resolve(null);
      await restoring;
      expect(hint.read()).toBe(false);
    });
  });
});
