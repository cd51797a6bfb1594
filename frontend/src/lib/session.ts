import type { components } from "./api-types";

export type User = components["schemas"]["UserPrivate"];
export type TokenPair = components["schemas"]["TokenPair"];

export type SessionState =
  | { status: "restoring"; user: null }
  | { status: "anonymous"; user: null }
  | { status: "signed-in"; user: User };

export interface SessionTransport {
  /**
   * Trade the httpOnly refresh cookie for a new pair. Resolves to null when
   * there is no usable session (the API said 401); throws when the API could
   * not answer, so a network blip does not sign anybody out.
   */
  refresh(): Promise<TokenPair | null>;
}

/** What other tabs of the same browser hear from this one. */
type TabMessage = { type: "signed-out" } | { type: "signed-in" };

export interface TabChannel {
  postMessage(message: TabMessage): void;
  addEventListener(type: "message", listener: (event: MessageEvent<TabMessage>) => void): void;
}

/**
 * Whether this browser may hold a refresh cookie: a yes/no hint, never a token.
 * Script cannot see the httpOnly cookie, so without the hint every anonymous
 * visit would spend a round trip (and a 401) on a refresh before the first
 * paint. A stale "yes" costs one refresh; a missing one means logging in again.
 */
export interface SessionHint {
  get(): boolean;
  set(present: boolean): void;
}

const HINT_KEY = "snapboard.signed-in";

export const storageHint: SessionHint = {
  get() {
    try {
      return localStorage.getItem(HINT_KEY) === "1";
    } catch {
      return true; // storage unavailable: ask the server
    }
  },
  set(present) {
    try {
      if (present) localStorage.setItem(HINT_KEY, "1");
      else localStorage.removeItem(HINT_KEY);
    } catch {
      // storage unavailable: the hint only saves a request
    }
  },
};

export interface SessionOptions {
  transport: SessionTransport;
  /** Defaults to asking the server every time. */
  hint?: SessionHint;
  /** Refresh this long before the access token expires. */
  leadSeconds?: number;
  now?: () => number;
  setTimer?: (callback: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  channel?: TabChannel | null;
}

/**
 * The signed-in session of this tab.
 *
 * The access token lives only in this object's memory; the refresh token only
 * in the httpOnly cookie the API sets on `/api/auth`, which script never sees.
 * A reload therefore starts with no token and `restore()` trades the cookie for
 * one. Every refresh goes through `refresh()`, so concurrent callers (a page
 * firing several requests, the expiry timer, a 401 retry) share one request:
 * the API rotates the refresh token on each use, and a second parallel use
 * would only be rescued by its 10 s grace window.
 */
export class Session {
  #token: string | null = null;
  #expiresAt = 0;
  #state: SessionState = { status: "restoring", user: null };
  #inflight: Promise<string | null> | null = null;
  #timer: unknown = null;
  /** Bumped by every sign-in and sign-out: a refresh answer from before one is stale. */
  #epoch = 0;
  readonly #listeners = new Set<() => void>();
  readonly #transport: SessionTransport;
  readonly #leadMs: number;
  readonly #now: () => number;
  readonly #setTimer: (callback: () => void, ms: number) => unknown;
  readonly #clearTimer: (handle: unknown) => void;
  readonly #channel: TabChannel | null;
  readonly #hint: SessionHint | null;

  constructor(options: SessionOptions) {
    this.#transport = options.transport;
    this.#leadMs = (options.leadSeconds ?? 60) * 1000;
    this.#now = options.now ?? (() => Date.now());
    this.#setTimer = options.setTimer ?? ((callback, ms) => setTimeout(callback, ms));
    this.#clearTimer =
      options.clearTimer ?? ((handle) => clearTimeout(handle as ReturnType<typeof setTimeout>));
    this.#channel = options.channel ?? null;
    this.#hint = options.hint ?? null;
    this.#channel?.addEventListener("message", (event) => {
      // Another tab signed out (the cookie is gone) or in (a new cookie is set).
      if (event.data.type === "signed-out") this.#end();
      else if (this.#state.status !== "signed-in") void this.refresh().catch(() => undefined);
    });
  }

  get state(): SessionState {
    return this.#state;
  }

  /** For `useSyncExternalStore`. */
  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  getState = (): SessionState => this.#state;

  /** The token as it is now, fresh or not; null when signed out. */
  get currentToken(): string | null {
    return this.#token;
  }

  /** A token to send: refreshed first when it is about to expire; null when signed out. */
  async accessToken(): Promise<string | null> {
    if (this.#inflight !== null) return this.#inflight;
    if (this.#token === null) return null;
    if (this.#now() < this.#expiresAt - this.#leadMs) return this.#token;
    return this.refresh().catch(() => this.#token);
  }

  /** Trade the cookie for a new access token; concurrent callers share one request. */
  refresh(): Promise<string | null> {
    this.#inflight ??= this.#refreshOnce().finally(() => {
      this.#inflight = null;
    });
    return this.#inflight;
  }

  /** At start: a valid refresh cookie signs this tab in again. */
  async restore(): Promise<void> {
    if (this.#hint !== null && !this.#hint.get()) {
      this.#set({ status: "anonymous", user: null });
      return;
    }
    try {
      await this.refresh();
    } catch {
      // The API did not answer: show the app signed out rather than hang;
      // the next refresh (a retry, another tab's sign-in) can still restore it.
      if (this.#state.status === "restoring") this.#set({ status: "anonymous", user: null });
    }
  }

  /** A login (or refresh) answer: keep the access token in memory, schedule the next refresh. */
  accept(pair: TokenPair): void {
    const wasSignedIn = this.#state.status === "signed-in";
    this.#epoch += 1;
    this.#token = pair.access_token;
    this.#expiresAt = this.#now() + pair.expires_in * 1000;
    this.#schedule();
    this.#hint?.set(true);
    this.#set({ status: "signed-in", user: pair.user });
    if (!wasSignedIn) this.#channel?.postMessage({ type: "signed-in" });
  }

  /** The account changed (profile edit, verification): show the new one. */
  updateUser(user: User): void {
    if (this.#state.status === "signed-in") this.#set({ status: "signed-in", user });
  }

  /** Signed out here (logout, a revoked family): forget the token and tell the other tabs. */
  signOut(): void {
    this.#end();
    this.#channel?.postMessage({ type: "signed-out" });
  }

  async #refreshOnce(): Promise<string | null> {
    const epoch = this.#epoch;
    const pair = await this.#transport.refresh();
    // Signed out (or in again) while the request was out: its answer must not undo that.
    if (epoch !== this.#epoch) return this.#token;
    if (pair === null) {
      this.#end();
      return null;
    }
    this.accept(pair);
    return pair.access_token;
  }

  #schedule(): void {
    if (this.#timer !== null) this.#clearTimer(this.#timer);
    const delay = Math.max(0, this.#expiresAt - this.#leadMs - this.#now());
    this.#timer = this.#setTimer(() => {
      this.#timer = null;
      void this.refresh().catch(() => undefined);
    }, delay);
  }

  #end(): void {
    this.#epoch += 1;
    if (this.#timer !== null) this.#clearTimer(this.#timer);
    this.#timer = null;
    this.#token = null;
    this.#expiresAt = 0;
    this.#hint?.set(false);
    this.#set({ status: "anonymous", user: null });
  }

  #set(state: SessionState): void {
    this.#state = state;
    for (const listener of this.#listeners) listener();
  }
}
