/** The API's tag rules (posts/models.py): lower-cased, 1-30 of a-z 0-9 -, at most 10, no repeats. */
export const MAX_TAGS = 10;
const TAG = /^[a-z0-9-]{1,30}$/;

export function normaliseTag(raw: string): string {
  return raw.trim().replace(/^#+/, "").toLowerCase();
}

/** Why this tag cannot be added to these, or null when it can. */
export function tagProblem(tag: string, current: readonly string[]): string | null {
  if (!TAG.test(tag)) {
    return `“${tag}” is not a tag: use 1–30 letters a–z, digits or hyphens.`;
  }
  if (!current.includes(tag) && current.length >= MAX_TAGS) {
    return `A post has at most ${MAX_TAGS} tags.`;
  }
  return null;
}

/** Splits typed text at commas and spaces: the finished tags, and what is still being typed. */
export function splitTags(text: string): { complete: string[]; rest: string } {
  const parts = text.split(/[\s,]+/);
  const rest = parts.pop() ?? "";
  return { complete: parts.map(normaliseTag).filter((tag) => tag !== ""), rest };
}
