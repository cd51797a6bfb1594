/**
 * The images of a post being written: a pure reducer, so every transition
 * (add, progress, done, failed, cancel, retry, remove, move, alt text) is
 * testable without a browser. `useUploadQueue` runs the uploads it asks for
 * and saves changed alt text.
 */
import type { Image } from "../../lib/api";

/** The API's limit on images per post (posts/models.py MAX_IMAGES). */
export const MAX_IMAGES = 20;
export const ACCEPTED_TYPES = ["image/jpeg", "image/png", "image/webp", "image/gif", "image/avif"];

export type ItemStatus = "queued" | "uploading" | "done" | "failed";

export interface QueueItem {
  key: string;
  /** The picked file; null for an image the post already had (nothing to upload again). */
  file: File | null;
  /** An object URL of the file, revoked when the item goes. */
  previewUrl: string | null;
  status: ItemStatus;
  /** 0..1 while uploading. */
  progress: number;
  error: string | null;
  /** The registered image, as the API last returned it (its `alt` is what the API has). */
  image: Image | null;
  /**
   * The alt text as typed: sent when the image is registered, and with
   * `PATCH /images/{id}` on saving the post when it differs from `image.alt`.
   */
  alt: string;
}

export interface QueueState {
  items: QueueItem[];
  /** Said to the user after an add that could not take every file. */
  notice: string | null;
}

export interface NewEntry {
  key: string;
  file: File;
  previewUrl: string | null;
}

export type QueueAction =
  | { type: "add"; entries: NewEntry[]; rejected?: string[] }
  | { type: "reset"; images: Image[] }
  | { type: "start"; key: string }
  | { type: "progress"; key: string; fraction: number }
  | { type: "done"; key: string; image: Image }
  | { type: "failed"; key: string; error: string }
  | { type: "cancel"; key: string }
  | { type: "retry"; key: string }
  | { type: "remove"; key: string }
  | { type: "move"; from: number; to: number }
  | { type: "setAlt"; key: string; alt: string }
  | { type: "altSaved"; image: Image }
  | { type: "dismiss" };

export function existingItem(image: Image): QueueItem {
  return {
    key: `image-${image.id}`,
    file: null,
    previewUrl: null,
    status: "done",
    progress: 1,
    error: null,
    image,
    alt: image.alt ?? "",
  };
}

export function initialQueue(images: readonly Image[] = []): QueueState {
  return { items: images.map(existingItem), notice: null };
}

function update(state: QueueState, key: string, change: (item: QueueItem) => QueueItem | null): QueueState {
  let changed = false;
  const items: QueueItem[] = [];
  for (const item of state.items) {
    if (item.key !== key) {
      items.push(item);
      continue;
    }
    const next = change(item);
    if (next !== item) changed = true;
    if (next !== null) items.push(next);
  }
  return changed ? { ...state, items } : state;
}

export function queueReducer(state: QueueState, action: QueueAction): QueueState {
  switch (action.type) {
    case "add": {
      const room = Math.max(0, MAX_IMAGES - state.items.length);
      const taken = action.entries.slice(0, room);
      const reasons = [...(action.rejected ?? [])];
      const overflow = action.entries.length - taken.length;
      if (overflow > 0) {
        reasons.push(
          `A post holds at most ${MAX_IMAGES} images: ${overflow === 1 ? "1 file was" : `${overflow} files were`} not added.`,
        );
      }
      const added: QueueItem[] = taken.map((entry) => ({
        key: entry.key,
        file: entry.file,
        previewUrl: entry.previewUrl,
        status: "queued",
        progress: 0,
        error: null,
        image: null,
        alt: "",
      }));
      return { items: [...state.items, ...added], notice: reasons.length ? reasons.join(" ") : null };
    }
    case "reset":
      return initialQueue(action.images);
    case "dismiss":
      return state.notice === null ? state : { ...state, notice: null };
    case "start":
      return update(state, action.key, (item) =>
        item.status === "queued" ? { ...item, status: "uploading", progress: 0, error: null } : item,
      );
    case "progress":
      return update(state, action.key, (item) =>
        item.status === "uploading"
          ? { ...item, progress: Math.min(1, Math.max(item.progress, action.fraction)) }
          : item,
      );
    case "done":
      // A result for an item that was cancelled or removed meanwhile is dropped.
      return update(state, action.key, (item) =>
        item.status === "uploading"
          ? { ...item, status: "done", progress: 1, image: action.image, error: null }
          : item,
      );
    case "failed":
      return update(state, action.key, (item) =>
        item.status === "uploading" ? { ...item, status: "failed", error: action.error } : item,
      );
    case "cancel":
      // Only a file still to be registered uploads: cancelling drops it.
      return update(state, action.key, (item) => (isRunning(item) ? null : item));
    case "retry":
      return update(state, action.key, (item) =>
        item.status === "failed" ? { ...item, status: "queued", progress: 0, error: null } : item,
      );
    case "remove":
      return update(state, action.key, () => null);
    case "move": {
      const { from, to } = action;
      const count = state.items.length;
      if (from === to || from < 0 || to < 0 || from >= count || to >= count) return state;
      const items = [...state.items];
      const [moved] = items.splice(from, 1);
      if (moved === undefined) return state;
      items.splice(to, 0, moved);
      return { ...state, items };
    }
    case "setAlt":
      return update(state, action.key, (item) => (item.alt === action.alt ? item : { ...item, alt: action.alt }));
    case "altSaved": {
      // The API's answer to PATCH /images/{id}: what it now has. The text typed
      // meanwhile stays as typed (and is saved next time if it differs).
      const item = state.items.find((candidate) => candidate.image?.id === action.image.id);
      return item ? update(state, item.key, (found) => ({ ...found, image: action.image })) : state;
    }
  }
}

/** The alt text typed differs from what the API has for the registered image. */
export function altChanged(item: QueueItem): boolean {
  return item.image !== null && normaliseAlt(item.alt) !== normaliseAlt(item.image.alt ?? "");
}

/** Registered images whose alt text has to be sent (`PATCH /images/{id} {alt}`) before the post. */
export function altChanges(state: QueueState): { key: string; imageId: string; alt: string | null }[] {
  return state.items.flatMap((item) =>
    item.image !== null && item.status === "done" && altChanged(item)
      ? [{ key: item.key, imageId: item.image.id, alt: normaliseAlt(item.alt) }]
      : [],
  );
}

/** What the API stores for an alt text: trimmed, and none rather than empty. */
export function normaliseAlt(alt: string): string | null {
  const trimmed = alt.trim();
  return trimmed === "" ? null : trimmed;
}

/** How the form names an image: the file's name, or its position for an image the post already had. */
export function itemName(item: QueueItem, index: number): string {
  return item.file?.name ?? `image ${index + 1}`;
}

export function isRunning(item: QueueItem): boolean {
  return item.status === "queued" || item.status === "uploading";
}

export interface QueueSummary {
  /** Uploads queued or running. */
  waiting: number;
  failed: number;
  /** True while any upload still has to finish. */
  pending: boolean;
  /** The gallery in order, once every image is registered; null until then. */
  imageIds: string[] | null;
}

export function summarise(state: QueueState): QueueSummary {
  const waiting = state.items.filter(isRunning).length;
  const failed = state.items.filter((item) => item.status === "failed").length;
  const ready = waiting === 0 && failed === 0;
  return {
    waiting,
    failed,
    pending: waiting > 0,
    imageIds: ready ? state.items.map((item) => item.image?.id ?? "") : null,
  };
}
