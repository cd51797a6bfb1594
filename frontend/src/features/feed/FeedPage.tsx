import { useEffect, useMemo, useState, type FormEvent } from "react";
import { Link, useSearchParams } from "wouter";
import type { Post } from "../../lib/api";
import { useTitle } from "../../lib/useTitle";
import { PostGrid } from "./PostGrid";
import { useFeed } from "./useFeed";

/** The tags most used by the posts on screen, for the filter chips. */
function topTags(items: Post[], limit = 10): string[] {
  const counts = new Map<string, number>();
  for (const post of items) for (const tag of post.tags) counts.set(tag, (counts.get(tag) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, limit)
    .map(([tag]) => tag);
}

function SearchForm({ q, onSearch }: { q: string; onSearch: (q: string) => void }) {
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const value = new FormData(event.currentTarget).get("q");
    onSearch(typeof value === "string" ? value.trim() : "");
  }
  return (
    <form role="search" className="feed-search" onSubmit={submit}>
      <label htmlFor="feed-q" className="sr-only">
        Search posts
      </label>
      <input id="feed-q" name="q" type="search" defaultValue={q} placeholder="Search posts" />
      <button type="submit" className="button">
        Search
      </button>
    </form>
  );
}

export default function FeedPage() {
  const [params, setParams] = useSearchParams();
  const tag = params.get("tag")?.trim() ?? "";
  const q = params.get("q")?.trim() ?? "";
  const filtered = tag !== "" || q !== "";
  const feed = useFeed({ tag, q });
  useTitle(tag ? `#${tag}` : q ? `Search: ${q}` : null);

  // The chips stay as they were while the next filter's first page loads.
  const fromItems = useMemo(() => topTags(feed.items), [feed.items]);
  const [chips, setChips] = useState(fromItems);
  if (fromItems.length > 0 && fromItems !== chips) setChips(fromItems);
  const shownChips = tag && !chips.includes(tag) ? [tag, ...chips] : chips;

  // A new filter shows its results from the top, as a new page would.
  useEffect(() => {
    if (window.scrollY > 0) window.scrollTo(0, 0);
  }, [tag, q]);

  /** Pushes the new filters, so Back returns to the previous ones. */
  function update(next: { tag?: string; q?: string }) {
    const merged = { tag, q, ...next };
    if (merged.tag === tag && merged.q === q) return;
    const search = new URLSearchParams();
    if (merged.tag) search.set("tag", merged.tag);
    if (merged.q) search.set("q", merged.q);
    setParams(search);
  }

  return (
    <section className="feed">
      <div className="feed-head">
        <h1>Latest posts</h1>
        {/* Keyed by the URL's query: Back and Forward put its words back in the box. */}
        <SearchForm key={q} q={q} onSearch={(words) => update({ q: words })} />
      </div>
      <ul className="tag-bar" aria-label="Filter by tag">
        {shownChips.map((chip) => (
          <li key={chip}>
            <button
              type="button"
              aria-pressed={chip === tag}
              onClick={() => update({ tag: chip === tag ? "" : chip })}
            >
              <span aria-hidden="true">#</span>
              {chip}
            </button>
          </li>
        ))}
      </ul>
      {filtered ? (
        <p className="feed-filters">
          <span>
            {tag ? (
              <>
                Tagged <strong>#{tag}</strong>
              </>
            ) : null}
            {tag && q ? ", matching " : q ? "Matching " : null}
            {q ? <strong>“{q}”</strong> : null}
          </span>
          <Link href="/">Clear filters</Link>
        </p>
      ) : null}
      <PostGrid
        feed={feed}
        label={filtered ? "Matching posts" : "Latest posts"}
        skeletons={12}
        empty={
          filtered ? (
            <>
              <p>No posts match these filters.</p>
              <Link href="/">Show all posts</Link>
            </>
          ) : (
            <p>No posts yet.</p>
          )
        }
      />
    </section>
  );
}
