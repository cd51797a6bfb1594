/**
 * One image, straight from the browser to the image store.
 *
 * `GET /images/upload-auth` signs a single-use upload into the caller's folder;
 * the official ImageKit SDK posts the file (with progress and cancel); then
 * `POST /images/register` has the API confirm the file with the store and adopt
 * it. The SDK always posts to ImageKit's own endpoint, so the XMLHttpRequest we
 * hand it opens the `upload_url` the API returned instead: ImageKit's endpoint in
 * production, the local store's `/media/upload` (same protocol) in development.
 */
import { api, call, type Image } from "./api";

export interface UploadOptions {
  alt?: string | null;
  /** 0..1 as the bytes leave the browser. */
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
}

export class UploadCancelled extends Error {
  constructor() {
    super("The upload was cancelled.");
    this.name = "UploadCancelled";
  }
}

export async function uploadImage(file: File, options: UploadOptions = {}): Promise<Image> {
  const { upload, ImageKitAbortError, ImageKitInvalidRequestError, ImageKitServerError } =
    await import("@imagekit/javascript");
  const auth = await call(api.GET("/images/upload-auth", { signal: options.signal ?? null }));
  if (options.signal?.aborted) throw new UploadCancelled();

  const xhr = new XMLHttpRequest();
  const open = xhr.open.bind(xhr) as (method: string, url: string, async: boolean) => void;
  xhr.open = ((method: string) => open(method, auth.upload_url, true)) as typeof xhr.open;

  let uploaded;
  try {
    uploaded = await upload({
      file,
      fileName: file.name || "image",
      token: auth.token,
      signature: auth.signature,
      expire: auth.expire,
      publicKey: auth.public_key,
      folder: auth.folder,
      useUniqueFileName: true,
      xhr,
      ...(options.signal ? { abortSignal: options.signal } : {}),
      onProgress: (event) => {
        if (event.lengthComputable && event.total > 0) options.onProgress?.(event.loaded / event.total);
      },
    });
  } catch (error) {
    if (error instanceof ImageKitAbortError) throw new UploadCancelled();
    if (error instanceof ImageKitInvalidRequestError || error instanceof ImageKitServerError) {
      throw new Error(`The image store refused the file: ${error.message}`, { cause: error });
    }
    throw new Error("The upload did not reach the image store. Check your connection and retry.", {
      cause: error,
    });
  }
  options.onProgress?.(1);
  return call(
    api.POST("/images/register", {
      body: { file_id: uploaded.fileId ?? "", alt: options.alt ?? null },
      signal: options.signal ?? null,
    }),
  );
}
