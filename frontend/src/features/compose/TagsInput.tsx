import { useState, type KeyboardEvent, type Ref } from "react";
import { Field } from "../../components/Field";
import { MAX_TAGS, normaliseTag, splitTags, tagProblem } from "./tags";

interface Props {
  tags: string[];
  onChange: (tags: string[]) => void;
  /** Text typed but not yet a chip; the form commits it on submit. */
  draft: string;
  onDraftChange: (draft: string) => void;
  /** An error from the form's checks or the API. */
  error?: string | undefined;
  inputRef?: Ref<HTMLInputElement>;
}

/** Adds the tags in `words` to `tags`; the first problem, if any, stops there. */
export function addTags(
  tags: readonly string[],
  words: readonly string[],
): { tags: string[]; problem: string | null; left: string[] } {
  const next = [...tags];
  for (const [index, word] of words.entries()) {
    const tag = normaliseTag(word);
    if (tag === "") continue;
    const problem = tagProblem(tag, next);
    if (problem !== null) return { tags: next, problem, left: words.slice(index) as string[] };
    if (!next.includes(tag)) next.push(tag);
  }
  return { tags: next, problem: null, left: [] };
}

/**
 * Tags typed as text: a comma, a space or Enter turns what was typed into a
 * chip (lower-cased); each chip has its remove button; Backspace in the empty
 * input removes the last one.
 */
export function TagsInput({ tags, onChange, draft, onDraftChange, error, inputRef }: Props) {
  const [problem, setProblem] = useState<string | null>(null);

  function take(words: string[], rest: string) {
    const result = addTags(tags, words);
    setProblem(result.problem);
    if (result.tags.length !== tags.length) onChange(result.tags);
    onDraftChange(result.left.length > 0 ? [...result.left, rest].filter(Boolean).join(" ") : rest);
  }

  function onKeyDown(event: KeyboardEvent<HTMLInputElement>) {
    if (event.key === "Enter") {
      // Enter adds the tag instead of submitting the form.
      event.preventDefault();
      take([draft], "");
    } else if (event.key === "Backspace" && draft === "" && tags.length > 0) {
      onChange(tags.slice(0, -1));
    }
  }

  const shown = error ?? problem ?? undefined;
  return (
    <div className="tags-field">
      <Field
        label="Tags"
        error={shown}
        hint={`Separate tags with commas or spaces; up to ${MAX_TAGS}, of letters, digits and hyphens.`}
      >
        {(props) => (
          <input
            {...props}
            ref={inputRef}
            type="text"
            autoComplete="off"
            autoCapitalize="none"
            spellCheck={false}
            value={draft}
            onChange={(event) => {
              const { complete, rest } = splitTags(event.target.value);
              if (complete.length > 0) take(complete, rest);
              else {
                setProblem(null);
                onDraftChange(rest);
              }
            }}
            onKeyDown={onKeyDown}
            onBlur={() => {
              if (draft.trim() !== "") take([draft], "");
            }}
          />
        )}
      </Field>
      {tags.length > 0 ? (
        <ul className="tag-chips">
          {tags.map((tag) => (
            <li key={tag} className="tag-chip">
              <span>#{tag}</span>
              <button
                type="button"
                className="tag-chip-remove"
                aria-label={`Remove tag ${tag}`}
                onClick={() => onChange(tags.filter((other) => other !== tag))}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
