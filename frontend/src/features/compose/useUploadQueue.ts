import { useCallback, useEffect, useLayoutEffect, useMemo, useReducer, useRef } from "react";
import { api, call, type Image } from "../../lib/api";
import { describeError } from "../../lib/problem";
import { UploadCancelled, uploadImage, type UploadOptions } from "../../lib/upload";
import {
  ACCEPTED_TYPES,
  MAX_IMAGES,
  altChanges,
  initialQueue,
  itemName,
  normaliseAlt,
  queueReducer,
  summarise,
  type NewEntry,
  type QueueItem,
} from "./uploadQueue";

export type Uploader = (file: File, options: UploadOptions) => Promise<Image>;
/** Deletes an image nothing uses any more; failures are ignored (the API expires it in a day). */
export type Discarder = (imageId: string) => Promise<void>;

/** Some alt texts were not saved (`PATCH /images/{id}` failed); the others were. */
export class AltTextNotSaved extends Error {
  constructor(readonly failures: { key: string; name: string; error: unknown }[]) {
    super(`The alt text for ${failures.map((failure) => failure.name).join(" and ")} could not be saved.`);
    this.name = "AltTextNotSaved";
  }
}

export interface UploadQueueOptions {
  /** Images the post already has (edit): shown as uploaded. */
  initial?: readonly Image[];
  upload?: Uploader;
  discard?: Discarder;
  /** Uploads running at once; the rest wait their turn. */
  concurrency?: number;
}

async function discardImage(imageId: string): Promise<void> {
  await call(api.DELETE("/images/{image_id}", { params: { path: { image_id: imageId } } }));
}

function saveAlt(imageId: string, alt: string | null): Promise<Image> {
  return call(api.PATCH("/images/{image_id}", { params: { path: { image_id: imageId } }, body: { alt } }));
}

let nextKey = 0;
const makeKey = () => `upload-${++nextKey}`;

function previewOf(file: File): string | null {
  return typeof URL.createObjectURL === "function" ? URL.createObjectURL(file) : null;
}

function revoke(url: string | null): void {
  if (url !== null && typeof URL.revokeObjectURL === "function") URL.revokeObjectURL(url);
}

/**
 * The images of the form: picked files upload straight to the image store
 * (`uploadImage`: upload-auth → the store → /images/register), at most
 * `concurrency` at a time, each with its progress, cancel and retry.
 *
 * Alt text is always editable. The text typed while a file uploads is sent
 * with `POST /images/register`, read at the moment it is registered; any image
 * whose text then differs from what the API has (typed later, or an image the
 * post already had) is saved by `saveAlts()` with `PATCH /images/{id} {alt}`,
 * which the form calls before it sends the post.
 */
export function useUploadQueue(options: UploadQueueOptions = {}) {
  const { upload = uploadImage, discard = discardImage, concurrency = 3 } = options;
  const [state, dispatch] = useReducer(queueReducer, options.initial ?? [], initialQueue);
  const stateRef = useRef(state);
  const running = useRef(new Map<string, AbortController>());
  const uploadRef = useRef(upload);
  const discardRef = useRef(discard);
  // Callbacks read the latest of these; synced before any effect or event sees them.
  useLayoutEffect(() => {
    stateRef.current = state;
    uploadRef.current = upload;
    discardRef.current = discard;
  });

  const forget = useCallback((imageId: string) => {
    discardRef.current(imageId).catch(() => undefined);
  }, []);

  const start = useCallback(
    (item: QueueItem) => {
      if (item.file === null) return;
      const controller = new AbortController();
      running.current.set(item.key, controller);
      dispatch({ type: "start", key: item.key });
      const key = item.key;
      const uploadOptions: UploadOptions = {
        // uploadImage reads `alt` when it sends /images/register, after the
        // bytes are in the store: a getter hands it the text as typed by then.
        get alt() {
          const current = stateRef.current.items.find((candidate) => candidate.key === key);
          return normaliseAlt(current?.alt ?? "");
        },
        onProgress: (fraction) => dispatch({ type: "progress", key, fraction }),
        signal: controller.signal,
      };
      const settle = () => {
        if (running.current.get(key) === controller) running.current.delete(key);
      };
      uploadRef.current(item.file, uploadOptions).then(
        (image) => {
          settle();
          if (controller.signal.aborted) {
            // Registered just as it was cancelled: nothing will use it.
            forget(image.id);
            return;
          }
          dispatch({ type: "done", key, image });
        },
        (error: unknown) => {
          settle();
          if (error instanceof UploadCancelled || controller.signal.aborted) return;
          dispatch({ type: "failed", key, error: describeError(error) });
        },
      );
    },
    [forget],
  );

  // Start queued uploads while there is room.
  useEffect(() => {
    let active = running.current.size;
    for (const item of state.items) {
      if (active >= concurrency) break;
      if (item.status === "queued" && !running.current.has(item.key)) {
        start(item);
        active += 1;
      }
    }
  }, [state.items, concurrency, start]);

  // Previews go when their item goes.
  const previews = useRef(new Set<string>());
  useEffect(() => {
    const live = new Set(state.items.map((item) => item.previewUrl).filter((url) => url !== null));
    for (const url of previews.current) if (!live.has(url)) revoke(url);
    previews.current = live;
  }, [state.items]);

  // Leaving the page stops what is still uploading and frees the previews.
  useEffect(() => {
    const uploads = running.current;
    const urls = previews;
    return () => {
      for (const controller of uploads.values()) controller.abort();
      uploads.clear();
      for (const url of urls.current) revoke(url);
      urls.current = new Set();
    };
  }, []);

  const abort = useCallback((key: string) => {
    running.current.get(key)?.abort();
    running.current.delete(key);
  }, []);

  const addFiles = useCallback((files: Iterable<File>) => {
    const rejected: string[] = [];
    const accepted: File[] = [];
    for (const file of files) {
      if (ACCEPTED_TYPES.includes(file.type)) accepted.push(file);
      else rejected.push(`${file.name} is not a JPEG, PNG, WebP, GIF or AVIF image.`);
    }
    // Previews only for the files there is room for, so none is left unrevoked.
    const room = Math.max(0, MAX_IMAGES - stateRef.current.items.length);
    const entries: NewEntry[] = accepted.map((file, index) => ({
      key: makeKey(),
      file,
      previewUrl: index < room ? previewOf(file) : null,
    }));
    dispatch({ type: "add", entries, rejected });
  }, []);

  const cancel = useCallback(
    (key: string) => {
      abort(key);
      dispatch({ type: "cancel", key });
    },
    [abort],
  );

  const remove = useCallback(
    (key: string) => {
      const item = stateRef.current.items.find((candidate) => candidate.key === key);
      abort(key);
      dispatch({ type: "remove", key });
      // An image uploaded here and never saved with the post is deleted now;
      // one the post already had goes when the post is saved without it.
      if (item?.file && item.image) forget(item.image.id);
    },
    [abort, forget],
  );

  const retry = useCallback((key: string) => dispatch({ type: "retry", key }), []);
  const move = useCallback((from: number, to: number) => dispatch({ type: "move", from, to }), []);
  const setAlt = useCallback((key: string, alt: string) => dispatch({ type: "setAlt", key, alt }), []);

  /**
   * Sends each changed alt text, all at once. Resolves to the gallery's images
   * as the API now has them; if any failed, throws `AltTextNotSaved` (the ones
   * that succeeded are saved and no longer count as changed).
   */
  const saveAlts = useCallback(async (): Promise<Image[]> => {
    const { items } = stateRef.current;
    const changes = altChanges(stateRef.current);
    const results = await Promise.allSettled(changes.map((change) => saveAlt(change.imageId, change.alt)));
    const saved = new Map<string, Image>();
    const failures: AltTextNotSaved["failures"] = [];
    results.forEach((result, index) => {
      const change = changes[index];
      if (change === undefined) return;
      if (result.status === "fulfilled") {
        saved.set(result.value.id, result.value);
        dispatch({ type: "altSaved", image: result.value });
      } else {
        const position = items.findIndex((item) => item.key === change.key);
        const item = items[position];
        failures.push({ key: change.key, name: item ? itemName(item, position) : "an image", error: result.reason });
      }
    });
    if (failures.length > 0) throw new AltTextNotSaved(failures);
    return items.flatMap((item) => (item.image ? [saved.get(item.image.id) ?? item.image] : []));
  }, []);

  /** Start over from these images (a reloaded post): uploads here are stopped and dropped. */
  const reset = useCallback(
    (images: readonly Image[]) => {
      for (const item of stateRef.current.items) {
        abort(item.key);
        if (item.file && item.image) forget(item.image.id);
      }
      dispatch({ type: "reset", images: [...images] });
    },
    [abort, forget],
  );

  const dismissNotice = useCallback(() => dispatch({ type: "dismiss" }), []);

  const summary = useMemo(() => summarise(state), [state]);
  return {
    items: state.items,
    notice: state.notice,
    ...summary,
    addFiles,
    cancel,
    retry,
    remove,
    move,
    setAlt,
    saveAlts,
    reset,
    dismissNotice,
  };
}

export type UploadQueue = ReturnType<typeof useUploadQueue>;
