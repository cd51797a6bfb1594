import { useId, useRef, useState, type FormEvent, type ReactNode } from "react";
import { Link } from "wouter";
import { Field, TextField } from "../../components/Field";
import type { Image, Schemas } from "../../lib/api";
import { ApiError, describeError, fieldErrors } from "../../lib/problem";
import { ImagesField } from "./ImagesField";
import { TagsInput, addTags } from "./TagsInput";
import { splitTags } from "./tags";
import { AltTextNotSaved, useUploadQueue, type Discarder, type Uploader } from "./useUploadQueue";
import "./compose.css";

export type Visibility = NonNullable<Schemas["PostCreate"]["visibility"]>;

export interface PostValues {
  title: string;
  body: string;
  tags: string[];
  visibility: Visibility;
  image_ids: string[];
}

/** The API's limits (posts/models.py); the API's own answer stays the authority. */
export const MAX_TITLE = 140;
export const MAX_BODY = 10_000;

const FIELDS = ["title", "body", "tags", "visibility", "image_ids"] as const;
type FieldName = (typeof FIELDS)[number];
type Errors = Partial<Record<FieldName, string>>;

const VISIBILITIES: { value: Visibility; label: string; hint: string }[] = [
  { value: "public", label: "Public", hint: "Anyone can see it, in the feed and on your profile." },
  { value: "private", label: "Private", hint: "Only you (and administrators) can see it." },
  { value: "draft", label: "Draft", hint: "Not finished yet: like Private, only you (and administrators) can see it." },
];

export interface PostFormProps {
  /** The post being edited; nothing for a new one. */
  initial?: {
    title: string;
    body: string;
    tags: string[];
    visibility: Visibility;
    images: Image[];
  };
  submitLabel: string;
  /**
   * Saves; throws the ApiError to show it on the form. Called once every changed
   * alt text is saved, with the gallery's images as the API now has them.
   */
  onSubmit: (values: PostValues, images: Image[]) => Promise<void>;
  /** Shown above the buttons (the edit page's conflict message). */
  notice?: ReactNode;
  /** False when someone other than the author edits (the API attaches only the author's images). */
  allowUploads?: boolean;
  upload?: Uploader;
  discard?: Discarder;
}

function checkLocally(values: Omit<PostValues, "image_ids">): Errors {
  const errors: Errors = {};
  if (values.title.trim() === "") errors.title = "Give the post a title.";
  else if (values.title.trim().length > MAX_TITLE) {
    errors.title = `The title is ${values.title.trim().length} characters; at most ${MAX_TITLE}.`;
  }
  if (values.body.length > MAX_BODY) {
    errors.body = `The text is ${values.body.length.toLocaleString("en")} characters; at most ${MAX_BODY.toLocaleString("en")}.`;
  }
  return errors;
}

/** Why a request failed, for a person: the API's message for `alt` when it names one. */
function reasonOf(error: unknown): string {
  return (error instanceof ApiError ? fieldErrors(error, ["alt"]).alt : undefined) ?? describeError(error);
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function plural(count: number, one: string, many: string): string {
  return count === 1 ? `1 ${one}` : `${count} ${many}`;
}

/**
 * Title, body, tags, visibility and images of a post, for both /new and
 * /p/:id/edit. Submitting waits until every image is uploaded, then saves the
 * changed alt texts (`PATCH /images/{id}`, all at once) and only if all of
 * them succeeded sends the post; the API's field errors (422) appear beside
 * their fields, anything else above the buttons.
 */
export function PostForm({
  initial,
  submitLabel,
  onSubmit,
  notice,
  allowUploads = true,
  upload,
  discard,
}: PostFormProps) {
  const [title, setTitle] = useState(initial?.title ?? "");
  const [body, setBody] = useState(initial?.body ?? "");
  const [tags, setTags] = useState<string[]>(initial?.tags ?? []);
  const [tagDraft, setTagDraft] = useState("");
  const [visibility, setVisibility] = useState<Visibility>(initial?.visibility ?? "public");
  const [errors, setErrors] = useState<Errors>({});
  const [itemErrors, setItemErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<ReactNode>(null);
  const [submitting, setSubmitting] = useState(false);
  const queue = useUploadQueue({
    ...(initial ? { initial: initial.images } : {}),
    ...(upload ? { upload } : {}),
    ...(discard ? { discard } : {}),
  });
  const reasonId = useId();
  const visibilityId = useId();
  const titleRef = useRef<HTMLInputElement>(null);
  const bodyRef = useRef<HTMLTextAreaElement>(null);
  const tagsRef = useRef<HTMLInputElement>(null);
  const visibilityRef = useRef<HTMLFieldSetElement>(null);
  const imagesRef = useRef<HTMLDivElement>(null);

  function focusFirst(found: Errors) {
    const order: [FieldName, { focus(): void } | null][] = [
      ["title", titleRef.current],
      ["body", bodyRef.current],
      ["tags", tagsRef.current],
      ["visibility", visibilityRef.current?.querySelector("input") ?? null],
      ["image_ids", imagesRef.current?.querySelector("input") ?? null],
    ];
    order.find(([name]) => found[name] !== undefined)?.[1]?.focus();
  }

  let reason: string | null = null;
  if (queue.waiting > 0) reason = `Waiting for ${plural(queue.waiting, "upload", "uploads")}…`;
  else if (queue.failed > 0) {
    reason = `${plural(queue.failed, "upload", "uploads")} failed: retry or remove ${queue.failed === 1 ? "it" : "them"} first.`;
  } else if (submitting) reason = "Saving…";
  const blocked = queue.imageIds === null || submitting;

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (blocked || queue.imageIds === null) return;
    // What is still typed in the tags box counts too.
    const typed = splitTags(`${tagDraft} `).complete;
    const withTyped = addTags(tags, typed);
    const local: Errors = checkLocally({ title, body, tags: withTyped.tags, visibility });
    if (withTyped.problem !== null) local.tags = withTyped.problem;
    else if (typed.length > 0) {
      setTags(withTyped.tags);
      setTagDraft("");
    }
    setItemErrors({});
    setFormError(null);
    if (Object.keys(local).length > 0) {
      setErrors(local);
      focusFirst(local);
      return;
    }
    setErrors({});
    const submittedKeys = queue.items.map((item) => item.key);
    setSubmitting(true);
    const values: PostValues = {
      title: title.trim(),
      body,
      tags: withTyped.tags,
      visibility,
      image_ids: queue.imageIds,
    };
    try {
      // Before the post, so the post the API answers shows the new text.
      const images = await queue.saveAlts();
      await onSubmit(values, images);
    } catch (error) {
      showError(error, submittedKeys);
    } finally {
      setSubmitting(false);
    }
  }

  function showError(error: unknown, submittedKeys: string[]) {
    if (error instanceof AltTextNotSaved) {
      const perItem: Record<string, string> = {};
      for (const failure of error.failures) {
        perItem[failure.key] = `Alt text not saved: ${reasonOf(failure.error)}`;
      }
      setItemErrors(perItem);
      const first = error.failures[0];
      setFormError(`The post was not saved: ${lowerFirst(error.message)} ${first ? reasonOf(first.error) : ""}`.trim());
      return;
    }
    if (error instanceof ApiError && error.status === 422) {
      const found = fieldErrors(error, FIELDS);
      const { "": other, ...byField } = found;
      setErrors(byField);
      // `image_ids.3` names one image: say it beside that one too.
      const perItem: Record<string, string> = {};
      for (const item of error.problem?.errors ?? []) {
        const match = /^(?:body\.)?image_ids\.(\d+)$/.exec(item.field);
        const key = match ? submittedKeys[Number(match[1])] : undefined;
        if (key !== undefined && perItem[key] === undefined) perItem[key] = item.message;
      }
      setItemErrors(perItem);
      if (other !== undefined) setFormError(other);
      focusFirst(byField);
      return;
    }
    if (error instanceof ApiError && error.code === "email_not_verified") {
      setFormError(
        <>
          Verify your email address before posting: open the link we emailed you, or{" "}
          <Link href="/settings">resend it from your settings</Link>.
        </>,
      );
      return;
    }
    setFormError(describeError(error));
  }

  return (
    <form className="post-form" noValidate onSubmit={(event) => void submit(event)}>
      <TextField
        label="Title"
        error={errors.title}
        hint={`Required; up to ${MAX_TITLE} characters.`}
        ref={titleRef}
        type="text"
        required
        value={title}
        onChange={setTitle}
      />
      <Field label="Body" error={errors.body} hint={`Optional; up to ${MAX_BODY.toLocaleString("en")} characters.`}>
        {(props) => (
          <textarea
            {...props}
            ref={bodyRef}
            rows={6}
            value={body}
            onChange={(event) => setBody(event.target.value)}
          />
        )}
      </Field>
      <TagsInput
        tags={tags}
        onChange={(next) => {
          setTags(next);
          if (errors.tags) setErrors({ ...errors, tags: undefined });
        }}
        draft={tagDraft}
        onDraftChange={setTagDraft}
        error={errors.tags}
        inputRef={tagsRef}
      />
      <fieldset
        ref={visibilityRef}
        className={errors.visibility ? "field visibility-field has-error" : "field visibility-field"}
        aria-describedby={errors.visibility ? `${visibilityId}-error` : undefined}
      >
        <legend>Visibility</legend>
        {VISIBILITIES.map((option) => (
          <div className="visibility-option" key={option.value}>
            <input
              type="radio"
              name="visibility"
              id={`${visibilityId}-${option.value}`}
              value={option.value}
              checked={visibility === option.value}
              aria-describedby={`${visibilityId}-${option.value}-hint`}
              onChange={() => setVisibility(option.value)}
            />
            <label htmlFor={`${visibilityId}-${option.value}`}>{option.label}</label>
            <p className="field-hint" id={`${visibilityId}-${option.value}-hint`}>
              {option.hint}
            </p>
          </div>
        ))}
        {errors.visibility ? (
          <p className="field-error" id={`${visibilityId}-error`} role="alert">
            {errors.visibility}
          </p>
        ) : null}
      </fieldset>
      <div ref={imagesRef}>
        <ImagesField
          queue={queue}
          error={errors.image_ids}
          itemErrors={itemErrors}
          allowUploads={allowUploads}
        />
      </div>
      {notice}
      {formError ? (
        <div className="error-message" role="alert">
          <p>{formError}</p>
        </div>
      ) : null}
      <div className="post-form-actions">
        <button
          type="submit"
          className="button button-primary"
          disabled={blocked}
          aria-describedby={reason ? reasonId : undefined}
        >
          {submitLabel}
        </button>
        <p className="post-form-reason" id={reasonId} aria-live="polite">
          {reason}
        </p>
      </div>
    </form>
  );
}
