import { useCallback, useEffect, useState } from "react";
import { api, callWithResponse, type Post } from "../../lib/api";
import { ApiError } from "../../lib/problem";
import { useSession } from "../../lib/useSession";

export type PostResult =
  | { status: "loading"; post: null; etag: null; error: null }
  | { status: "ready"; post: Post; etag: string | null; error: null }
  | { status: "error"; post: null; etag: null; error: unknown };

export type UsePost = PostResult & {
  /** Fetch again (after a 412, or a retry); the post already shown stays until the answer. */
  reload: () => void;
};

const loading: PostResult = { status: "loading", post: null, etag: null, error: null };

/** A 404: the post does not exist, or is someone else's private post or draft. */
export function isNotFound(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404;
}

/**
 * One post and its ETag (send it as `If-Match` when saving an edit).
 *
 * Fetched again when the signed-in person changes: a private post appears
 * after logging in as its author and disappears after logging out.
 */
export function usePost(id: string): UsePost {
  const session = useSession();
  // While the session restores, the request would wait for it anyway; asking once it
  // is known avoids a second request for the same post.
  const viewer = session.status === "restoring" ? null : (session.user?.id ?? "anonymous");
  const key = `${id} ${viewer}`;
  const [state, setState] = useState<{ key: string; result: PostResult }>({ key, result: loading });
  const [attempt, setAttempt] = useState(0);

  // A new post (or viewer) shows its loading state, not the previous post.
  const current = state.key === key ? state.result : state.result.post?.id === id ? state.result : loading;

  useEffect(() => {
    if (viewer === null) return;
    const controller = new AbortController();
    callWithResponse(api.GET("/posts/{post_id}", { params: { path: { post_id: id } }, signal: controller.signal })).then(
      ({ data, response }) =>
        setState({ key, result: { status: "ready", post: data, etag: response.headers.get("ETag"), error: null } }),
      (error: unknown) => {
        if (!controller.signal.aborted) setState({ key, result: { status: "error", post: null, etag: null, error } });
      },
    );
    return () => controller.abort();
  }, [id, viewer, key, attempt]);

  const reload = useCallback(() => {
    // After an error there is nothing to keep showing: say it is loading again.
    setState((previous) => (previous.result.status === "error" ? { ...previous, result: loading } : previous));
    setAttempt((n) => n + 1);
  }, []);
  return { ...current, reload };
}
