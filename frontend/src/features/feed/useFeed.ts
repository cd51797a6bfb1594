import { useCallback, useEffect, useReducer, useRef } from "react";
import { api, call, type Post } from "../../lib/api";

export interface FeedFilters {
  tag?: string | null;
  q?: string | null;
  /** A username: only their posts. */
  author?: string | null;
}

export interface FeedState {
  /** "loading" is the first page; later pages keep the list and set `loadingMore`. */
  status: "loading" | "ready" | "error";
  items: Post[];
  /** The first page failed. */
  error: unknown;
  hasMore: boolean;
  loadingMore: boolean;
  /** A later page failed: the list stays, with a retry. */
  moreError: unknown;
  loadMore: () => void;
  retry: () => void;
}

interface Data {
  key: string;
  status: FeedState["status"];
  items: Post[];
  cursor: string | null;
  error: unknown;
  loadingMore: boolean;
  moreError: unknown;
  /** Bumped by retry() to fetch the first page again. */
  attempt: number;
}

type Action =
  | { type: "reset"; key: string }
  | { type: "retry" }
  | { type: "first"; key: string; items: Post[]; cursor: string | null }
  | { type: "more-start" }
  | { type: "more"; key: string; items: Post[]; cursor: string | null }
  | { type: "failed"; key: string; error: unknown; more: boolean };

function initial(key: string, attempt = 0): Data {
  return { key, status: "loading", items: [], cursor: null, error: null, loadingMore: false, moreError: null, attempt };
}

function reducer(state: Data, action: Action): Data {
  switch (action.type) {
    case "reset":
      return initial(action.key);
    case "retry":
      return initial(state.key, state.attempt + 1);
    case "first":
      if (action.key !== state.key) return state;
      return { ...state, status: "ready", items: action.items, cursor: action.cursor };
    case "more-start":
      return { ...state, loadingMore: true, moreError: null };
    case "more": {
      if (action.key !== state.key) return state;
      // A post published between two pages can appear in both: keep the first copy.
      const seen = new Set(state.items.map((post) => post.id));
      const fresh = action.items.filter((post) => !seen.has(post.id));
      return { ...state, items: [...state.items, ...fresh], cursor: action.cursor, loadingMore: false };
    }
    case "failed":
      if (action.key !== state.key) return state;
      return action.more
        ? { ...state, loadingMore: false, moreError: action.error }
        : { ...state, status: "error", error: action.error };
  }
}

function clean(value: string | null | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

type Query = [tag: string | undefined, q: string | undefined, author: string | undefined, limit: number];

function queryKey(filters: FeedFilters, limit: number): string {
  const query: Query = [clean(filters.tag), clean(filters.q), clean(filters.author), limit];
  return JSON.stringify(query);
}

function fetchPage(key: string, cursor: string | undefined, signal: AbortSignal) {
  const [tag, q, author, limit] = JSON.parse(key) as Query;
  return call(api.GET("/posts", { params: { query: { limit, cursor, tag, q, author } }, signal }));
}

/**
 * The feed, newest first, a page at a time over the API's cursor.
 *
 * Changing the filters starts again from the first page; `loadMore()` follows
 * `next_cursor` (never an offset, so posts arriving meanwhile do not shift the
 * pages) and does nothing while a page is already on its way.
 */
export function useFeed(filters: FeedFilters, { limit = 9 }: { limit?: number } = {}): FeedState {
  const key = queryKey(filters, limit);
  const [stored, dispatch] = useReducer(reducer, key, initial);
  if (stored.key !== key) dispatch({ type: "reset", key });
  const data = stored.key === key ? stored : initial(key);
  const more = useRef<AbortController | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    fetchPage(key, undefined, controller.signal).then(
      (page) => dispatch({ type: "first", key, items: page.items, cursor: page.next_cursor }),
      (error: unknown) => {
        if (!controller.signal.aborted) dispatch({ type: "failed", key, error, more: false });
      },
    );
    return () => {
      controller.abort();
      more.current?.abort();
      more.current = null;
    };
  }, [key, data.attempt]);

  const { status, cursor } = data;
  const loadMore = useCallback(() => {
    // The ref, not state: the sentinel and the button can both ask within one render.
    if (status !== "ready" || cursor === null || more.current !== null) return;
    const controller = new AbortController();
    more.current = controller;
    dispatch({ type: "more-start" });
    fetchPage(key, cursor, controller.signal)
      .then(
        (page) => dispatch({ type: "more", key, items: page.items, cursor: page.next_cursor }),
        (error: unknown) => {
          if (!controller.signal.aborted) dispatch({ type: "failed", key, error, more: true });
        },
      )
      .finally(() => {
        if (more.current === controller) more.current = null;
      });
  }, [status, cursor, key]);

  const retry = useCallback(() => {
    if (status === "error") dispatch({ type: "retry" });
    else loadMore();
  }, [status, loadMore]);

  return {
    status: data.status,
    items: data.items,
    error: data.error,
    hasMore: data.status === "ready" && data.cursor !== null,
    loadingMore: data.loadingMore,
    moreError: data.moreError,
    loadMore,
    retry,
  };
}
