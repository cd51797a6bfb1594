import type { components } from "./api-types";

export type Problem = components["schemas"]["Problem"];

/** Why a call failed, in terms a page can show: the API's problem, or the network. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem | null;
  /** Seconds the server asked us to wait (`Retry-After`), on a 429 or 503. */
  readonly retryAfter: number | null;

  constructor(status: number, problem: Problem | null, retryAfter: number | null, message?: string) {
    super(message ?? problem?.detail ?? problem?.title ?? `The request failed (${status}).`);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
    this.retryAfter = retryAfter;
  }

  /** 0 is a request that never got an answer: offline, DNS, a dropped connection. */
  get isNetwork(): boolean {
    return this.status === 0;
  }

  get code(): string | null {
    return this.problem?.code ?? null;
  }
}

/** `Retry-After` as seconds: delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (value === null || value.trim() === "") return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  // An HTTP date names its day and month; Date.parse alone reads "-5" or "1.5" as dates.
  if (!/[a-z]{3}/i.test(value)) return null;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** A body is a problem when it has the RFC 9457 shape the API promises. */
export function asProblem(body: unknown): Problem | null {
  if (typeof body !== "object" || body === null) return null;
  const candidate = body as Partial<Problem>;
  if (typeof candidate.status !== "number" || typeof candidate.title !== "string") return null;
  return {
    type: String(candidate.type ?? "about:blank"),
    title: candidate.title,
    status: candidate.status,
    detail: String(candidate.detail ?? candidate.title),
    code: String(candidate.code ?? ""),
    errors: Array.isArray(candidate.errors) ? candidate.errors : null,
  };
}

/**
 * A 422's `errors`, keyed by the form field each belongs to.
 *
 * The API names fields by their dotted path in the request (`title`, `tags.2`,
 * `image_ids.0`); a form shows the message beside the top-level field, so
 * `tags.2` lands on `tags`. The first message for a field wins, and messages
 * for fields the form does not have are returned under `""` so nothing is lost.
 */
export function fieldErrors(
  error: unknown,
  known: readonly string[] = [],
): Record<string, string> {
  const problem = error instanceof ApiError ? error.problem : asProblem(error);
  const result: Record<string, string> = {};
  for (const item of problem?.errors ?? []) {
    const top = item.field.replace(/^body\./, "").split(".")[0] ?? "";
    const key = known.length === 0 || known.includes(top) ? top : "";
    if (key === "" && result[""] !== undefined) {
      result[""] = `${result[""]} ${item.message}`;
    } else if (result[key] === undefined) {
      result[key] = key === "" && top !== "" ? `${top}: ${item.message}` : item.message;
    }
  }
  return result;
}

/** One sentence for a person, whatever went wrong. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.isNetwork) {
      return typeof navigator !== "undefined" && !navigator.onLine
        ? "You are offline. Check your connection and try again."
        : "The server could not be reached. Try again in a moment.";
    }
    if (error.status === 429) {
      const wait = error.retryAfter;
      return wait === null
        ? "Too many attempts. Wait a little, then try again."
        : `Too many attempts. Try again in ${formatWait(wait)}.`;
    }
    if (error.status === 503) {
      return "The service is briefly unavailable. Try again in a moment.";
    }
    return error.message;
  }
  if (error instanceof Error && error.message) return error.message;
  return "Something went wrong. Try again.";
}

export function formatWait(seconds: number): string {
  if (seconds < 60) return seconds === 1 ? "1 second" : `${seconds} seconds`;
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? "1 minute" : `${minutes} minutes`;
}
