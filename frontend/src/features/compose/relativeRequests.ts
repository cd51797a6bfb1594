/**
 * Tests only, imported first: the app's client builds `new Request("/api/...")`,
 * which a browser resolves against the page and Node's Request refuses. Under
 * jsdom this resolves it against the test page's address, as a browser would.
 * openapi-fetch keeps the Request it finds when api.ts loads, hence before it.
 */
const BrowserLikeRequest = class extends globalThis.Request {
  constructor(input: RequestInfo | URL, init?: RequestInit) {
    super(typeof input === "string" ? new URL(input, window.location.href) : input, init);
  }
};

globalThis.Request = BrowserLikeRequest as typeof Request;
