import { describe, expect, it } from "vitest";
import { safeNext } from "./nextPath";

describe("safeNext", () => {
  it.each(["/", "/p/42", "/?tag=night&q=harbour", "/u/ann#posts", "/settings"])("keeps %s", (path) => {
    expect(safeNext(path)).toBe(path);
  });

  it.each([
    null,
    "",
    "//evil.com",
    "//evil.com/login",
    "/\\evil.com",
    "/\t/evil.com",
    "/\n/evil.com",
    "https://evil.com",
    "javascript:alert(1)",
    "evil.com",
    "p/42",
  ])("refuses %j and goes to the feed", (path) => {
    expect(safeNext(path)).toBe("/");
  });
});
