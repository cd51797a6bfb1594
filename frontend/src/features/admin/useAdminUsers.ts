import { useCallback, useEffect, useState } from "react";
import { api, call, type Schemas } from "../../lib/api";

export type AdminUser = Schemas["UserPrivate"];
export const PAGE_SIZE = 20;

type Loaded =
  | { key: string; status: "ready"; items: AdminUser[]; next: string | null }
  | { key: string; status: "failed"; error: unknown };

export type UsersPage =
  | { status: "loading" }
  | { status: "failed"; error: unknown }
  | { status: "ready"; items: AdminUser[]; next: string | null };

/** One page of `GET /admin/users`, from `cursor` (null: the first page, newest accounts). */
export function useAdminUsers(cursor: string | null) {
  const [attempt, setAttempt] = useState(0);
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const key = `${attempt}:${cursor ?? ""}`;

  useEffect(() => {
    let live = true;
    const query = cursor === null ? { limit: PAGE_SIZE } : { limit: PAGE_SIZE, cursor };
    call(api.GET("/admin/users", { params: { query } })).then(
      (data) => {
        if (live) setLoaded({ key, status: "ready", items: data.items, next: data.next_cursor });
      },
      (error: unknown) => {
        if (live) setLoaded({ key, status: "failed", error });
      },
    );
    return () => {
      live = false;
    };
  }, [cursor, key]);

  /** A row the API answered with after a change replaces the one shown. */
  const replace = useCallback((user: AdminUser) => {
    setLoaded((current) =>
      current?.status === "ready"
        ? { ...current, items: current.items.map((row) => (row.id === user.id ? user : row)) }
        : current,
    );
  }, []);

  const retry = useCallback(() => setAttempt((n) => n + 1), []);

  let page: UsersPage;
  if (loaded === null || loaded.key !== key) page = { status: "loading" };
  else if (loaded.status === "failed") page = { status: "failed", error: loaded.error };
  else page = { status: "ready", items: loaded.items, next: loaded.next };
  return { page, replace, retry };
}
