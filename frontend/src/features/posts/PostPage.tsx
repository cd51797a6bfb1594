import { useState } from "react";
import { Link, useLocation, useParams } from "wouter";
import { Avatar } from "../../components/Avatar";
import { ErrorMessage } from "../../components/ErrorMessage";
import { NotFound } from "../../components/NotFound";
import { api, call, type Post } from "../../lib/api";
import { isAdmin, useSession } from "../../lib/useSession";
import { absoluteTime, relativeTime } from "../../lib/time";
import { useTitle } from "../../lib/useTitle";
import { TagLink } from "../feed/PostGrid";
import { Gallery } from "./Gallery";
import { isNotFound, usePost } from "./usePost";
import "./posts.css";

const VISIBILITY_LABEL: Record<Post["visibility"], string | null> = {
  public: null,
  private: "Private",
  draft: "Draft",
};

/** The body as its author wrote it: a blank line starts a paragraph, a newline breaks a line. */
function Paragraphs({ text }: { text: string }) {
  const paragraphs = text
    .split(/\n\s*\n/)
    .map((part) => part.trim())
    .filter(Boolean);
  return (
    <div className="post-body">
      {paragraphs.map((paragraph, index) => (
        <p key={index}>{paragraph}</p>
      ))}
    </div>
  );
}

function PostActions({ post }: { post: Post }) {
  const [, navigate] = useLocation();
  const [deleting, setDeleting] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function remove() {
    if (deleting) return;
    if (!window.confirm(`Delete “${post.title}”? Its images are deleted too. This cannot be undone.`)) return;
    setDeleting(true);
    setError(null);
    try {
      await call(api.DELETE("/posts/{post_id}", { params: { path: { post_id: post.id } } }));
      // Replace: Back must not lead to the post that is gone.
      navigate("/", { replace: true });
    } catch (err) {
      setError(err);
      setDeleting(false);
    }
  }

  return (
    <div className="post-actions">
      <Link href={`/p/${post.id}/edit`} className="button">
        Edit
      </Link>
      <button
        type="button"
        className="button button-danger"
        onClick={() => void remove()}
        aria-disabled={deleting}
      >
        {deleting ? "Deleting…" : "Delete"}
      </button>
      {error ? <ErrorMessage error={error} /> : null}
    </div>
  );
}

function PostView({ post }: { post: Post }) {
  const session = useSession();
  const mayChange = session.status === "signed-in" && (session.user.id === post.author.id || isAdmin(session));
  const badge = VISIBILITY_LABEL[post.visibility];
  const name = post.author.display_name || post.author.username;
  return (
    <article className="post">
      <header className="post-header">
        <div className="post-heading">
          <h1>{post.title}</h1>
          {badge ? <span className={`badge badge-${post.visibility}`}>{badge}</span> : null}
        </div>
        <p className="post-meta">
          <Link href={`/u/${post.author.username}`} className="post-author">
            <Avatar user={post.author} size={48} />
            <span>{name}</span>
          </Link>
          <time dateTime={post.created_at} title={absoluteTime(post.created_at)}>
            {relativeTime(post.created_at)}
          </time>
        </p>
        {mayChange ? <PostActions post={post} /> : null}
      </header>
      {post.images.length > 0 ? <Gallery key={post.id} post={post} /> : null}
      <Paragraphs text={post.body} />
      {post.tags.length > 0 ? (
        <ul className="tag-list post-tags" aria-label="Tags">
          {post.tags.map((tag) => (
            <li key={tag}>
              <TagLink tag={tag} />
            </li>
          ))}
        </ul>
      ) : null}
    </article>
  );
}

export default function PostPage() {
  const { id = "" } = useParams<{ id: string }>();
  const result = usePost(id);
  useTitle(result.post?.title ?? (isNotFound(result.error) ? "Not found" : null));

  if (result.status === "loading") {
    return (
      <p className="loading" aria-busy="true">
        Loading the post…
      </p>
    );
  }
  if (result.status === "error") {
    if (isNotFound(result.error)) return <NotFound what="post" />;
    return (
      <section>
        <h1>The post could not be loaded</h1>
        <ErrorMessage error={result.error} onRetry={result.reload} />
      </section>
    );
  }
  return <PostView post={result.post} />;
}
