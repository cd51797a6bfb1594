import { useState } from "react";
import { useLocation, useParams } from "wouter";
import { ErrorMessage } from "../../components/ErrorMessage";
import { NotFound } from "../../components/NotFound";
import { api, call, type Image, type Post, type Schemas } from "../../lib/api";
import { ApiError, describeError } from "../../lib/problem";
import { isAdmin, useSession } from "../../lib/useSession";
import { useTitle } from "../../lib/useTitle";
import { PostForm, type PostValues } from "./PostForm";
import { useEditablePost } from "./useEditablePost";
import type { Discarder, Uploader } from "./useUploadQueue";

interface Props {
  /** Injected by tests; the real uploader otherwise. */
  upload?: Uploader;
  discard?: Discarder;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index]);
}

/** Only what the form changed: the API replaces each field sent, the gallery as a whole. */
export function changesOf(post: Post, values: PostValues): Schemas["PostUpdate"] {
  const changes: Schemas["PostUpdate"] = {};
  if (values.title !== post.title) changes.title = values.title;
  if (values.body !== post.body) changes.body = values.body;
  if (!sameList(values.tags, post.tags)) changes.tags = values.tags;
  if (values.visibility !== post.visibility) changes.visibility = values.visibility;
  const imageIds = post.images.map((image) => image.id);
  if (!sameList(values.image_ids, imageIds)) changes.image_ids = values.image_ids;
  return changes;
}

/** Whether any of the post's images now has other alt text than when the post was read. */
export function altsChanged(post: Post, images: readonly Image[]): boolean {
  const before = new Map(post.images.map((image) => [image.id, image.alt ?? null]));
  return images.some((image) => before.has(image.id) && before.get(image.id) !== (image.alt ?? null));
}

/** /p/:id/edit: the author (or an admin) changes a post, refused if it changed meanwhile. */
export default function EditPostPage({ upload, discard }: Props = {}) {
  const { id = "" } = useParams<{ id: string }>();
  const session = useSession();
  const { state, retry, reload } = useEditablePost(id);
  const [, navigate] = useLocation();
  const [conflict, setConflict] = useState(false);
  const [reloading, setReloading] = useState(false);
  const [reloadError, setReloadError] = useState<unknown>(null);
  useTitle(state.status === "ready" ? `Edit “${state.post.title}”` : "Edit post");

  if (state.status === "loading") {
    return (
      <p className="loading" aria-busy="true">
        Loading the post…
      </p>
    );
  }
  if (state.status === "not-found") return <NotFound what="post" />;
  if (state.status === "error") {
    return (
      <section className="compose-page">
        <h1>Edit post</h1>
        <ErrorMessage error={state.error} onRetry={retry} />
      </section>
    );
  }

  const { post, etag } = state;
  const user = session.status === "signed-in" ? session.user : null;
  // Others see the same page as for a post that is not there.
  if (user === null || (user.id !== post.author.id && !isAdmin(session))) {
    return <NotFound what="post" />;
  }

  async function save(values: PostValues, images: Image[]) {
    const changes = changesOf(post, values);
    // New alt text alone still goes with a PATCH (even an empty one): it moves the
    // post to a new version, so a copy cached under the old ETag is not reused.
    if (Object.keys(changes).length > 0 || altsChanged(post, images)) {
      try {
        await call(
          api.PATCH("/posts/{post_id}", {
            params: { path: { post_id: post.id } },
            body: changes,
            headers: etag ? { "If-Match": etag } : {},
          }),
        );
      } catch (error) {
        if (error instanceof ApiError && error.status === 412) {
          setConflict(true);
          return;
        }
        throw error;
      }
    }
    navigate(`/p/${post.id}`);
  }

  async function loadLatest() {
    setReloading(true);
    setReloadError(null);
    try {
      await reload();
      setConflict(false);
    } catch (error) {
      setReloadError(error);
    } finally {
      setReloading(false);
    }
  }

  const notice = conflict ? (
    <div className="compose-notice" role="alert">
      <p>
        <strong>This post was changed elsewhere since you opened it</strong>, so your changes were
        not saved. They are still in the form above.
      </p>
      <p>
        Reloading shows the latest version in the form; your unsaved changes are then lost (copy any
        text you want to keep first).
      </p>
      {reloadError ? <p className="field-error">{describeError(reloadError)}</p> : null}
      <button type="button" className="button" disabled={reloading} onClick={() => void loadLatest()}>
        Reload the latest version
      </button>
    </div>
  ) : null;

  return (
    <section className="compose-page">
      <h1>Edit post</h1>
      <PostForm
        // A reloaded version starts the form afresh.
        key={`${post.id}:${etag ?? post.version}`}
        initial={{
          title: post.title,
          body: post.body,
          tags: post.tags,
          visibility: post.visibility,
          images: post.images,
        }}
        submitLabel="Save"
        onSubmit={save}
        allowUploads={user.id === post.author.id}
        notice={notice}
        {...(upload ? { upload } : {})}
        {...(discard ? { discard } : {})}
      />
    </section>
  );
}
