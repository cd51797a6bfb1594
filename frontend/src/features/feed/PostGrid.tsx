import { useEffect, useRef, useSyncExternalStore, type ReactNode } from "react";
import { Link } from "wouter";
import { Avatar } from "../../components/Avatar";
import { ErrorMessage } from "../../components/ErrorMessage";
import { ResponsiveImage } from "../../components/ResponsiveImage";
import type { Image, Post } from "../../lib/api";
import { absoluteTime, relativeTime } from "../../lib/time";
import type { FeedState } from "./useFeed";
import "./feed.css";

/**
 * How wide a card's image is shown: keep in step with `.post-grid` in feed.css
 * (one column, two from 40rem, three from 60rem; 1rem gaps and page padding;
 * the page is at most 72rem wide).
 */
export const CARD_SIZES =
  "(min-width: 72rem) 363px, (min-width: 60rem) calc((100vw - 4rem) / 3), (min-width: 40rem) calc((100vw - 3rem) / 2), calc(100vw - 2rem)";

/** Every card crops its image to one ratio, so the grid is even and each box is known before it loads. */
export const CARD_RATIO = 4 / 3;

const TWO_COLUMNS = "(min-width: 40rem)";
const THREE_COLUMNS = "(min-width: 60rem)";

/** How many cards the first row holds at this viewport (only they are fetched eagerly). */
function useColumns(): number {
  return useSyncExternalStore(
    (listener) => {
      if (typeof window.matchMedia !== "function") return () => undefined;
      const queries = [window.matchMedia(TWO_COLUMNS), window.matchMedia(THREE_COLUMNS)];
      queries.forEach((query) => query.addEventListener("change", listener));
      return () => queries.forEach((query) => query.removeEventListener("change", listener));
    },
    () => {
      if (typeof window.matchMedia !== "function") return 1;
      if (window.matchMedia(THREE_COLUMNS).matches) return 3;
      return window.matchMedia(TWO_COLUMNS).matches ? 2 : 1;
    },
    () => 1,
  );
}

/** The alt text an image shows, with a description of where it is when its owner gave none. */
export function altText(image: Image, index: number, post: Pick<Post, "title" | "images">): string {
  return image.alt?.trim() || `Photo ${index + 1} of ${post.images.length} from ${post.title}`;
}

export function TagLink({ tag }: { tag: string }) {
  return (
    <Link href={`/?tag=${encodeURIComponent(tag)}`} className="tag">
      <span aria-hidden="true">#</span>
      {tag}
    </Link>
  );
}

interface CardProps {
  post: Post;
  /** The first row of a page: its images are the LCP candidates. */
  priority?: boolean;
  headingLevel?: 2 | 3;
}

export function PostCard({ post, priority = false, headingLevel = 2 }: CardProps) {
  const Heading = headingLevel === 2 ? "h2" : "h3";
  const first = post.images[0];
  const name = post.author.display_name || post.author.username;
  return (
    <article className="post-card">
      {first ? (
        <ResponsiveImage
          image={{ ...first, alt: altText(first, 0, post) }}
          sizes={CARD_SIZES}
          ratio={CARD_RATIO}
          priority={priority}
          className="post-card-image"
        />
      ) : (
        <div className="post-card-text" style={{ aspectRatio: String(CARD_RATIO) }}>
          <p>{post.body || post.title}</p>
        </div>
      )}
      {post.visibility !== "public" ? (
        <span className="post-card-badge">{post.visibility === "private" ? "Private" : "Draft"}</span>
      ) : null}
      <div className="post-card-body">
        <Heading className="post-card-title">
          <Link href={`/p/${post.id}`}>{post.title}</Link>
        </Heading>
        <p className="post-card-meta">
          <Link href={`/u/${post.author.username}`} className="post-card-author">
            <Avatar user={post.author} size={32} />
            <span>{name}</span>
          </Link>
          <span aria-hidden="true">·</span>
          <time dateTime={post.created_at} title={absoluteTime(post.created_at)}>
            {relativeTime(post.created_at)}
          </time>
        </p>
        {post.tags.length > 0 ? (
          <ul className="tag-list" aria-label="Tags">
            {post.tags.map((tag) => (
              <li key={tag}>
                <TagLink tag={tag} />
              </li>
            ))}
          </ul>
        ) : (
          <div className="tag-list" />
        )}
      </div>
    </article>
  );
}

/** A card's shape with nothing in it yet: the same box, so the real cards replace it in place. */
function SkeletonCard() {
  return (
    <div className="post-card post-card-skeleton">
      <div className="skeleton-block" style={{ aspectRatio: String(CARD_RATIO) }} />
      <div className="post-card-body">
        <div className="post-card-title">
          <span className="skeleton-line" />
        </div>
        <div className="post-card-meta">
          <span className="skeleton-dot" />
          <span className="skeleton-line skeleton-short" />
        </div>
        <div className="tag-list" />
      </div>
    </div>
  );
}

interface GridProps {
  feed: FeedState;
  /** Shown when the first page is empty. */
  empty: ReactNode;
  /** Names the list of posts for assistive technology. */
  label: string;
  headingLevel?: 2 | 3;
  skeletons?: number;
  /** Cards a page brings (the feed's `limit`): as many skeletons while the next one loads. */
  pageSize?: number;
}

/**
 * Posts as a grid of cards, fed a page at a time: the next page loads when the
 * sentinel under the grid comes near the viewport, or with the "Load more"
 * button (for keyboards, and browsers without IntersectionObserver).
 */
export function PostGrid({ feed, empty, label, headingLevel = 2, skeletons = 6, pageSize = 12 }: GridProps) {
  const columns = useColumns();
  const sentinel = useRef<HTMLDivElement>(null);
  const list = useRef<HTMLUListElement>(null);
  /** After "Load more" by keyboard or click: the first new card gets the focus. */
  const focusFrom = useRef<number | null>(null);
  const { status, items, hasMore, loadingMore, moreError, loadMore } = feed;

  useEffect(() => {
    const from = focusFrom.current;
    if (from === null || items.length <= from) return;
    focusFrom.current = null;
    list.current?.children[from]?.querySelector<HTMLAnchorElement>(".post-card-title a")?.focus();
  }, [items.length]);

  function loadMoreByButton() {
    if (loadingMore) return;
    focusFrom.current = items.length;
    loadMore();
  }

  useEffect(() => {
    const node = sentinel.current;
    if (!hasMore || loadingMore || moreError || node === null) return;
    if (typeof IntersectionObserver === "undefined") return;
    // A new observer after every page reports at once whether the sentinel is still
    // in view (a tall screen can show the whole page), so the feed keeps filling it.
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) loadMore();
      },
      { rootMargin: "0px 0px 800px 0px" },
    );
    observer.observe(node);
    return () => observer.disconnect();
  }, [hasMore, loadingMore, moreError, loadMore, items.length]);

  if (status === "loading") {
    return (
      // Keyed: React must not turn the skeleton's nodes into the real ones' neighbours,
      // which the browser would count as a layout shift.
      <div key="loading" className="post-grid-wrap" aria-busy="true">
        <p className="sr-only" role="status">
          Loading posts…
        </p>
        <div className="post-grid" aria-hidden="true">
          {Array.from({ length: skeletons }, (_, index) => (
            <SkeletonCard key={index} />
          ))}
        </div>
      </div>
    );
  }
  if (status === "error") {
    return <ErrorMessage error={feed.error} onRetry={feed.retry} />;
  }
  if (items.length === 0) {
    return <div className="feed-empty">{empty}</div>;
  }
  return (
    <div key="ready" className="post-grid-wrap">
      <ul className="post-grid" aria-label={label} ref={list}>
        {items.map((post, index) => (
          <li key={post.id}>
            <PostCard post={post} priority={index < columns} headingLevel={headingLevel} />
          </li>
        ))}
        {/* The next page's boxes while it loads (the sentinel asks early, so usually below the
            fold): its cards then take their places, and nothing under them moves twice. */}
        {loadingMore
          ? Array.from({ length: pageSize }, (_, index) => (
              <li key={`skeleton-${index}`} aria-hidden="true">
                <SkeletonCard />
              </li>
            ))
          : null}
      </ul>
      <div className="feed-more">
        <p className="sr-only" role="status">
          {loadingMore ? "Loading more posts…" : `Showing ${items.length} posts.`}
        </p>
        {moreError ? (
          <ErrorMessage error={moreError} onRetry={feed.retry} />
        ) : hasMore ? (
          <>
            <div ref={sentinel} className="feed-sentinel" />
            {/* Not disabled while loading: a disabled button would drop the keyboard focus. */}
            <button
              type="button"
              className="button"
              onClick={loadMoreByButton}
              aria-disabled={loadingMore}
            >
              Load more posts
            </button>
          </>
        ) : (
          <p className="feed-end">You have reached the end.</p>
        )}
      </div>
    </div>
  );
}
