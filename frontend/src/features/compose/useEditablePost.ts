import { useCallback, useEffect, useState } from "react";
import { api, callWithResponse, type Post } from "../../lib/api";
import { ApiError } from "../../lib/problem";

export type EditablePost =
  | { status: "loading" }
  | { status: "not-found" }
  | { status: "error"; error: unknown }
  | { status: "ready"; post: Post; etag: string | null };

async function fetchPost(id: string, signal: AbortSignal | null) {
  const { data, response } = await callWithResponse(
    api.GET("/posts/{post_id}", {
      params: { path: { post_id: id } },
      // Always the server's current version: a cached copy would carry a stale ETag.
      cache: "no-store",
      signal,
    }),
  );
  return { status: "ready" as const, post: data, etag: response.headers.get("ETag") };
}

/**
 * A post with the ETag it was read at, for an edit sent with `If-Match`.
 * `reload()` reads it again (after a 412): the form stays as it is until the
 * new version is in, and a failure is thrown to the caller to say.
 */
export function useEditablePost(id: string) {
  const [state, setState] = useState<EditablePost>({ status: "loading" });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    fetchPost(id, controller.signal).then(
      (ready) => setState(ready),
      (error: unknown) => {
        if (controller.signal.aborted) return;
        if (error instanceof ApiError && error.status === 404) setState({ status: "not-found" });
        else setState({ status: "error", error });
      },
    );
    return () => controller.abort();
  }, [id, attempt]);

  const retry = useCallback(() => {
    setState({ status: "loading" });
    setAttempt((count) => count + 1);
  }, []);

  const reload = useCallback(async () => {
    try {
      setState(await fetchPost(id, null));
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) setState({ status: "not-found" });
      else throw error;
    }
  }, [id]);

  return { state, retry, reload };
}
