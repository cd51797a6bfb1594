import { useCallback, useEffect, useLayoutEffect, useMemo, useReducer, useRef } from "react";
import { api, call, type Image } from "../../lib/api";
import { describeError } from "../../lib/problem";
import { UploadCancelled, uploadImage, type UploadOptions } from "../../lib/upload";
import {
  ACCEPTED_TYPES,
  MAX_IMAGES,
  altChanged,
  initialQueue,
  normaliseAlt,
  queueReducer,
  summarise,
  type NewEntry,
  type QueueItem,
} from "./uploadQueue";

export type Uploader = (file: File, options: UploadOptions) => Promise<Image>;
/** Deletes an image nothing uses any more; failures are ignored (the API expires it in a day). */
export type Discarder = (imageId: string) => Promise<void>;

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
 * Alt text: the API takes an image's alt only when the image is registered
 * (`POST /images/register {file_id, alt}`; images/routes.py has no PATCH and
 * a file id registers once). So the alt typed while a file uploads is read at
 * the moment it is registered, and text changed after that is honoured by
 * uploading the same file again with the new alt (`commitAlt`, on leaving the
 * field) and deleting the superseded image. Images a saved post already has
 * cannot get new alt text: there is no file here to upload again.
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
      const superseded = item.image?.id ?? null;
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
          if (superseded !== null && superseded !== image.id) forget(superseded);
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

  /** The alt field was left: an image already registered with other text is uploaded again. */
  const commitAlt = useCallback((key: string) => {
    const item = stateRef.current.items.find((candidate) => candidate.key === key);
    if (item && item.status === "done" && item.file !== null && altChanged(item)) {
      dispatch({ type: "reupload", key });
    }
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
    commitAlt,
    reset,
    dismissNotice,
  };
}

export type UploadQueue = ReturnType<typeof useUploadQueue>;
