import "@testing-library/jest-dom/vitest";
import { cleanup } from "@testing-library/react";
import { afterEach } from "vitest";

// jsdom brings no fetch, so tests run on Node's, whose Request refuses a relative
// URL; a browser resolves it against the page. The API client sends `/api/...`.
const NodeRequest = globalThis.Request;
globalThis.Request = class Request extends NodeRequest {
  constructor(input: RequestInfo | URL, init?: RequestInit) {
    super(typeof input === "string" ? new URL(input, window.location.href) : input, init);
  }
};

afterEach(() => {
  cleanup();
});
