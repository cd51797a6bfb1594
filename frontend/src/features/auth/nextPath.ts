/**
 * Where to go after logging in: the `next` query parameter when it is a path on
 * this site, else the feed. Only "/…" is accepted, never "//host" or "/\host"
 * (browsers read both as another origin), so a crafted link cannot send a
 * person who just typed their password to someone else's page.
 */
export function safeNext(raw: string | null | undefined): string {
  if (!raw || !raw.startsWith("/") || raw.startsWith("//") || raw.startsWith("/\\")) return "/";
  // URL parsers drop tabs and newlines ("/\t/evil.com" is "//evil.com"): judge what they see.
  try {
    const url = new URL(raw, "http://snapboard.invalid");
    if (url.origin !== "http://snapboard.invalid") return "/";
    return url.pathname + url.search + url.hash;
  } catch {
    return "/";
  }
}
