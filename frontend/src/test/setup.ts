import "@testing-library/jest-dom/vitest";
import { cleanup, configure } from "@testing-library/react";
import { afterEach } from "vitest";

// jsdom has no fetch of its own, so Request is Node's, which refuses a relative
// URL ("/api/posts") that a browser resolves against the page. Resolve it the
// browser's way, so the app's real client runs in tests against a stubbed fetch.
const NodeRequest = globalThis.Request;
class PageRequest extends NodeRequest {
  constructor(input: RequestInfo | URL, init?: RequestInit) {
    super(typeof input === "string" ? new URL(input, document.baseURI) : input, init);
  }
}
globalThis.Request = PageRequest;

// findBy/waitFor give up after 1 s by default; a loaded 2-core CI machine needs longer.
configure({ asyncUtilTimeout: 5000 });

afterEach(() => {
  cleanup();
});
