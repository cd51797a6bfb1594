import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, asProblem, describeError, fieldErrors, formatWait, parseRetryAfter, type Problem } from "./problem";

function invalid(errors: { field: string; message: string }[]): ApiError {
  const problem: Problem = {
    type: "urn:snapboard:problem:invalid_input",
    title: "Invalid input",
    status: 422,
    detail: "Invalid value for: …",
    code: "invalid_input",
    errors,
  };
  return new ApiError(422, problem, null);
}

describe("fieldErrors", () => {
  it("puts each message under its field", () => {
    const error = invalid([
      { field: "email", message: "An email address must have an @-sign." },
      { field: "password", message: "must be at least 10 characters" },
    ]);
    expect(fieldErrors(error, ["email", "username", "password"])).toEqual({
      email: "An email address must have an @-sign.",
      password: "must be at least 10 characters",
    });
  });

  it("maps a dotted path to its top-level field: tags.2 → tags", () => {
    const error = invalid([
      { field: "tags.2", message: "must be at most 30 characters" },
      { field: "image_ids.0", message: "is not an image of yours" },
    ]);
    expect(fieldErrors(error, ["title", "tags", "image_ids"])).toEqual({
      tags: "must be at most 30 characters",
      image_ids: "is not an image of yours",
    });
  });

  it("drops a leading body. from the field name", () => {
    expect(fieldErrors(invalid([{ field: "body.title", message: "is required" }]), ["title"])).toEqual({
      title: "is required",
    });
  });

  it("keeps the first message of a field", () => {
    const error = invalid([
      { field: "password", message: "must be at least 10 characters" },
      { field: "password", message: "is too common; choose something less guessable" },
    ]);
    expect(fieldErrors(error, ["password"])).toEqual({ password: "must be at least 10 characters" });
  });

  it("puts fields the form does not have under \"\", named, so nothing is lost", () => {
    const error = invalid([
      { field: "title", message: "is required" },
      { field: "visibility", message: "must be public or private" },
      { field: "token", message: "is invalid, expired or already used" },
    ]);
    expect(fieldErrors(error, ["title"])).toEqual({
      title: "is required",
      "": "visibility: must be public or private is invalid, expired or already used",
    });
  });

  it("takes every field as known when no list is given", () => {
    expect(fieldErrors(invalid([{ field: "tags.1", message: "is empty" }]))).toEqual({ tags: "is empty" });
  });

  it("reads a raw problem body as well as an ApiError", () => {
    const body = { type: "x", title: "Invalid input", status: 422, detail: "d", errors: [{ field: "bio", message: "is too long" }] };
    expect(fieldErrors(body, ["bio"])).toEqual({ bio: "is too long" });
  });

  it("is empty for an error without field errors", () => {
    expect(fieldErrors(new ApiError(401, null, null), ["email"])).toEqual({});
    expect(fieldErrors(new Error("boom"), ["email"])).toEqual({});
  });
});

describe("parseRetryAfter", () => {
  it("reads delta-seconds", () => {
    expect(parseRetryAfter("120")).toBe(120);
    expect(parseRetryAfter(" 7 ")).toBe(7);
    expect(parseRetryAfter("0")).toBe(0);
  });

  it("reads an HTTP date as the seconds until then, rounded up", () => {
    const now = Date.parse("Tue, 01 Dec 2026 08:00:00 GMT");
    expect(parseRetryAfter("Tue, 01 Dec 2026 08:01:30 GMT", now)).toBe(90);
    expect(parseRetryAfter("Tue, 01 Dec 2026 08:00:00 GMT", now + 500)).toBe(0);
    expect(parseRetryAfter("Tue, 01 Dec 2026 08:00:01 GMT", now + 500)).toBe(1);
  });

  it("says 0 for a date already past", () => {
    const now = Date.parse("Tue, 01 Dec 2026 08:00:00 GMT");
    expect(parseRetryAfter("Mon, 30 Nov 2026 08:00:00 GMT", now)).toBe(0);
  });

  it("is null when absent or unreadable", () => {
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter("")).toBeNull();
    expect(parseRetryAfter("soon")).toBeNull();
    expect(parseRetryAfter("-5")).toBeNull();
    expect(parseRetryAfter("1.5")).toBeNull();
  });
});

describe("asProblem", () => {
  it("accepts the RFC 9457 shape and fills what is missing", () => {
    expect(asProblem({ title: "Not found", status: 404 })).toEqual({
      type: "about:blank",
      title: "Not found",
      status: 404,
      detail: "Not found",
      code: "",
      errors: null,
    });
  });

  it("refuses anything else", () => {
    expect(asProblem(null)).toBeNull();
    expect(asProblem("<html>Bad gateway</html>")).toBeNull();
    expect(asProblem({ message: "nope" })).toBeNull();
  });
});

describe("ApiError", () => {
  it("carries the status, the problem's code and detail", () => {
    const error = new ApiError(
      409,
      asProblem({ title: "Conflict", status: 409, detail: "That email is already registered.", code: "email_taken" }),
      null,
    );
    expect(error.code).toBe("email_taken");
    expect(error.message).toBe("That email is already registered.");
    expect(error.isNetwork).toBe(false);
    expect(new ApiError(0, null, null).isNetwork).toBe(true);
  });
});

describe("describeError", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("says when to try again after a 429", () => {
    expect(describeError(new ApiError(429, null, 30))).toBe("Too many attempts. Try again in 30 seconds.");
    expect(describeError(new ApiError(429, null, 1))).toBe("Too many attempts. Try again in 1 second.");
    expect(describeError(new ApiError(429, null, 61))).toBe("Too many attempts. Try again in 2 minutes.");
    expect(describeError(new ApiError(429, null, null))).toBe("Too many attempts. Wait a little, then try again.");
  });

  it("says a 503 is brief", () => {
    expect(describeError(new ApiError(503, null, 5))).toBe("The service is briefly unavailable. Try again in a moment.");
  });

  it("tells offline from an unreachable server", () => {
    vi.spyOn(navigator, "onLine", "get").mockReturnValue(false);
    expect(describeError(new ApiError(0, null, null))).toBe("You are offline. Check your connection and try again.");
    vi.spyOn(navigator, "onLine", "get").mockReturnValue(true);
    expect(describeError(new ApiError(0, null, null))).toBe("The server could not be reached. Try again in a moment.");
  });

  it("uses the problem's detail otherwise", () => {
    const error = new ApiError(403, asProblem({ title: "Forbidden", status: 403, detail: "This account is disabled." }), null);
    expect(describeError(error)).toBe("This account is disabled.");
    expect(describeError("what")).toBe("Something went wrong. Try again.");
  });

  it("formats waits in seconds, then minutes", () => {
    expect(formatWait(59)).toBe("59 seconds");
    expect(formatWait(60)).toBe("1 minute");
    expect(formatWait(900)).toBe("15 minutes");
  });
});
