import { useEffect, useId, useRef, useState, type DragEvent } from "react";
import { ACCEPTED_TYPES, MAX_IMAGES, altChanged, itemName, type QueueItem } from "./uploadQueue";
import type { UploadQueue } from "./useUploadQueue";

const REORDER_TYPE = "application/x-snapboard-image";

interface Props {
  queue: UploadQueue;
  /** The API's message for `image_ids`, or the form's. */
  error?: string | undefined;
  /** The API's messages for single images (`image_ids.3`), by item key. */
  itemErrors?: Record<string, string>;
  /** False when someone other than the author edits: the API attaches only the author's uploads. */
  allowUploads?: boolean;
}

/** How an announcement names an image: its file, or its alt text once saved in a post. */
function spokenName(item: QueueItem): string {
  if (item.file) return item.file.name;
  return item.image?.alt ? `The image “${item.image.alt}”` : "The image";
}

function hasFiles(event: DragEvent): boolean {
  return Array.from(event.dataTransfer.types).includes("Files");
}

/**
 * The images of a post: pick or drop files (each goes straight to the image
 * store), watch them upload, cancel, retry, remove, describe and reorder them,
 * by drag and drop or with the Move buttons (the new position is announced).
 */
export function ImagesField({ queue, error, itemErrors = {}, allowUploads = true }: Props) {
  const inputId = useId();
  const hintId = `${inputId}-hint`;
  const errorId = `${inputId}-error`;
  const [dropping, setDropping] = useState(false);
  const [dragKey, setDragKey] = useState<string | null>(null);
  const [announcement, setAnnouncement] = useState("");
  const moveButtons = useRef(new Map<string, HTMLButtonElement>());
  const focusAfterMove = useRef<{ key: string; direction: "left" | "right" } | null>(null);
  const { items } = queue;
  const full = items.length >= MAX_IMAGES;
  const canAdd = allowUploads && !full;

  // A Move button keeps the focus as its image moves; at an end, the other one takes it.
  useEffect(() => {
    const target = focusAfterMove.current;
    if (target === null) return;
    focusAfterMove.current = null;
    const other = target.direction === "left" ? "right" : "left";
    const button =
      moveButtons.current.get(`${target.key}:${target.direction}`) ?? null;
    const fallback = moveButtons.current.get(`${target.key}:${other}`) ?? null;
    (button && !button.disabled ? button : fallback)?.focus();
  }, [items]);

  function moveBy(index: number, delta: -1 | 1) {
    const item = items[index];
    const to = index + delta;
    if (item === undefined || to < 0 || to >= items.length) return;
    focusAfterMove.current = { key: item.key, direction: delta < 0 ? "left" : "right" };
    queue.move(index, to);
    setAnnouncement(`${spokenName(item)} moved to position ${to + 1} of ${items.length}.`);
  }

  function onDropFiles(event: DragEvent) {
    if (!hasFiles(event)) return;
    event.preventDefault();
    setDropping(false);
    if (!canAdd) return;
    queue.addFiles(Array.from(event.dataTransfer.files));
  }

  function onDropOnItem(event: DragEvent, index: number) {
    if (dragKey === null) return;
    event.preventDefault();
    event.stopPropagation();
    const from = items.findIndex((item) => item.key === dragKey);
    setDragKey(null);
    const item = items[from];
    if (item === undefined || from === index) return;
    queue.move(from, index);
    setAnnouncement(`${spokenName(item)} moved to position ${index + 1} of ${items.length}.`);
  }

  const describedBy = [hintId, error ? errorId : null].filter(Boolean).join(" ");
  return (
    <fieldset
      className={dropping ? "images-field is-dropping" : "images-field"}
      onDragOver={(event) => {
        if (!hasFiles(event)) return;
        event.preventDefault();
        event.dataTransfer.dropEffect = canAdd ? "copy" : "none";
        setDropping(true);
      }}
      onDragLeave={(event) => {
        if (!event.currentTarget.contains(event.relatedTarget as Node | null)) setDropping(false);
      }}
      onDrop={onDropFiles}
    >
      <legend>Images</legend>
      <div className="dropzone">
        <input
          id={inputId}
          className="sr-only file-input"
          type="file"
          multiple
          accept={ACCEPTED_TYPES.join(",")}
          disabled={!canAdd}
          aria-describedby={describedBy}
          aria-invalid={Boolean(error)}
          onChange={(event) => {
            const files = Array.from(event.target.files ?? []);
            // Cleared, so picking the same file again is a change too.
            event.target.value = "";
            queue.addFiles(files);
          }}
        />
        <label htmlFor={inputId} className="button dropzone-button">
          Add images
        </label>
        <p className="field-hint" id={hintId}>
          {allowUploads
            ? `Or drop them here. JPEG, PNG, WebP, GIF or AVIF; up to ${MAX_IMAGES} per post${
                items.length > 0 ? ` (${items.length} added)` : ""
              }.`
            : "Only the author can add images to this post; you can still reorder or remove them."}
        </p>
      </div>
      {queue.notice ? (
        <div className="images-notice" role="alert">
          <p>{queue.notice}</p>
          <button type="button" className="link-button" onClick={queue.dismissNotice}>
            Dismiss
          </button>
        </div>
      ) : null}
      {error ? (
        <p className="field-error" id={errorId} role="alert">
          {error}
        </p>
      ) : null}
      {items.length > 0 ? (
        <ol className="image-list">
          {items.map((item, index) => (
            <ImageItem
              key={item.key}
              item={item}
              index={index}
              count={items.length}
              queue={queue}
              apiError={itemErrors[item.key]}
              dragging={dragKey === item.key}
              onMove={(delta) => moveBy(index, delta)}
              registerMoveButton={(direction, button) => {
                const id = `${item.key}:${direction}`;
                if (button) moveButtons.current.set(id, button);
                else moveButtons.current.delete(id);
              }}
              onDragStart={(event) => {
                event.dataTransfer.effectAllowed = "move";
                event.dataTransfer.setData(REORDER_TYPE, item.key);
                setDragKey(item.key);
              }}
              onDragEnd={() => setDragKey(null)}
              onDragOver={(event) => {
                if (dragKey === null) return;
                event.preventDefault();
                event.stopPropagation();
                event.dataTransfer.dropEffect = "move";
              }}
              onDrop={(event) => onDropOnItem(event, index)}
            />
          ))}
        </ol>
      ) : null}
      <p className="sr-only" role="status" aria-live="polite">
        {announcement}
      </p>
    </fieldset>
  );
}

interface ItemProps {
  item: QueueItem;
  index: number;
  count: number;
  queue: UploadQueue;
  apiError: string | undefined;
  dragging: boolean;
  onMove: (delta: -1 | 1) => void;
  registerMoveButton: (direction: "left" | "right", button: HTMLButtonElement | null) => void;
  onDragStart: (event: DragEvent<HTMLDivElement>) => void;
  onDragEnd: () => void;
  onDragOver: (event: DragEvent<HTMLLIElement>) => void;
  onDrop: (event: DragEvent<HTMLLIElement>) => void;
}

function ImageItem(props: ItemProps) {
  const { item, index, count, queue, apiError, dragging, onMove, registerMoveButton } = props;
  const altId = useId();
  const name = itemName(item, index);
  const label = item.file ? `image ${index + 1} (${name})` : `image ${index + 1}`;
  const uploading = item.status === "queued" || item.status === "uploading";
  const src = item.previewUrl ?? item.image?.variants.thumb ?? null;
  const percent = Math.round(item.progress * 100);

  let altHint: string;
  if (uploading) altHint = "Sent with the image when its upload finishes.";
  else if (item.status !== "done") altHint = "Sent with the image when it uploads.";
  else if (altChanged(item)) altHint = "Changed: saved with the post.";
  else altHint = "Describe the image for people who cannot see it.";

  return (
    <li
      className={["image-item", dragging ? "is-dragging" : "", `is-${item.status}`].join(" ").trim()}
      onDragOver={props.onDragOver}
      onDrop={props.onDrop}
    >
      {/* The picture is the drag handle, so text in the alt field can still be selected with the mouse. */}
      <div
        className="image-item-preview"
        draggable
        title="Drag to reorder"
        onDragStart={props.onDragStart}
        onDragEnd={props.onDragEnd}
      >
        {src ? <img src={src} alt="" draggable={false} /> : null}
        <span className="image-item-position" aria-hidden="true">
          {index + 1}
        </span>
      </div>
      <div className="image-item-body">
        <p className="image-item-name" title={name}>
          {item.file ? name : `Image ${index + 1}`}
        </p>
        {uploading ? (
          <div className="image-item-progress">
            <progress
              aria-label={`Uploading ${name}`}
              max={1}
              {...(item.status === "uploading" ? { value: item.progress } : {})}
            />
            <span className="field-hint">
              {item.status === "queued" ? "Waiting…" : `${percent}%`}
            </span>
          </div>
        ) : null}
        {item.status === "failed" ? (
          <p className="field-error" role="alert">
            Upload of {name} failed: {item.error}
          </p>
        ) : null}
        {apiError ? (
          <p className="field-error" role="alert">
            {apiError}
          </p>
        ) : null}
        <div className="field image-item-alt">
          <label htmlFor={altId}>Alt text for {name}</label>
          <input
            id={altId}
            type="text"
            value={item.alt}
            maxLength={300}
            aria-describedby={`${altId}-hint`}
            onChange={(event) => queue.setAlt(item.key, event.target.value)}
          />
          <p className="field-hint" id={`${altId}-hint`}>
            {altHint}
          </p>
        </div>
        <div className="image-item-actions">
          <button
            type="button"
            className="button"
            ref={(button) => registerMoveButton("left", button)}
            aria-label={`Move ${label} left`}
            disabled={index === 0}
            onClick={() => onMove(-1)}
          >
            ←
          </button>
          <button
            type="button"
            className="button"
            ref={(button) => registerMoveButton("right", button)}
            aria-label={`Move ${label} right`}
            disabled={index === count - 1}
            onClick={() => onMove(1)}
          >
            →
          </button>
          {uploading ? (
            <button
              type="button"
              className="button"
              aria-label={`Cancel uploading ${name}`}
              onClick={() => queue.cancel(item.key)}
            >
              Cancel
            </button>
          ) : null}
          {item.status === "failed" ? (
            <button
              type="button"
              className="button"
              aria-label={`Retry ${name}`}
              onClick={() => queue.retry(item.key)}
            >
              Retry
            </button>
          ) : null}
          {!uploading ? (
            <button
              type="button"
              className="button button-danger"
              aria-label={`Remove ${name}`}
              onClick={() => queue.remove(item.key)}
            >
              Remove
            </button>
          ) : null}
        </div>
      </div>
    </li>
  );
}
