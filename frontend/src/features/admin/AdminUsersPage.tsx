import { useState } from "react";
import { Link } from "wouter";
import { ErrorMessage } from "../../components/ErrorMessage";
import { api, call } from "../../lib/api";
import { describeError } from "../../lib/problem";
import { useSession } from "../../lib/useSession";
import { useTitle } from "../../lib/useTitle";
import { useAdminUsers, type AdminUser } from "./useAdminUsers";
import "./admin.css";

/** `/admin/users`: every account, newest first, a page at a time; disable and promote. */
export default function AdminUsersPage() {
  useTitle("Users");
  const state = useSession();
  const me = state.status === "signed-in" ? state.user.id : null;
  // The cursors of the pages before this one: "Previous page" pops back to them.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const { page, replace, retry } = useAdminUsers(cursor);

  return (
    <section className="admin-page">
      <h1>Users</h1>
      {page.status === "loading" ? (
        <p className="loading" aria-busy="true">
          Loading users…
        </p>
      ) : page.status === "failed" ? (
        <ErrorMessage error={page.error} onRetry={retry} />
      ) : page.items.length === 0 ? (
        <p>No accounts on this page.</p>
      ) : (
        <table className="admin-users">
          <caption className="sr-only">Accounts, newest first (page {cursors.length})</caption>
          <thead>
            <tr>
              <th scope="col">Username</th>
              <th scope="col">Email</th>
              <th scope="col">Roles</th>
              <th scope="col">Verified</th>
              <th scope="col">Disabled</th>
              <th scope="col">Created</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {page.items.map((user) => (
              <UserRow key={user.id} user={user} isSelf={user.id === me} onChange={replace} />
            ))}
          </tbody>
        </table>
      )}
      <nav className="admin-pager" aria-label="Pages of users">
        <button
          type="button"
          className="button"
          disabled={cursors.length <= 1}
          onClick={() => setCursors((stack) => stack.slice(0, -1))}
        >
          Previous page
        </button>
        <span>Page {cursors.length}</span>
        <button
          type="button"
          className="button"
          disabled={page.status !== "ready" || page.next === null}
          onClick={() => {
            if (page.status === "ready" && page.next !== null) {
              const next = page.next;
              setCursors((stack) => [...stack, next]);
            }
          }}
        >
          Next page
        </button>
      </nav>
    </section>
  );
}

type Change = { disabled: boolean } | { roles: ("user" | "admin")[] };

function UserRow({
  user,
  isSelf,
  onChange,
}: {
  user: AdminUser;
  isSelf: boolean;
  onChange: (user: AdminUser) => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const admin = user.roles.includes("admin");
  const created = new Date(user.created_at);

  async function change(body: Change) {
    setBusy(true);
    setError(null);
    try {
      const updated = await call(
        api.PATCH("/admin/users/{user_id}", { params: { path: { user_id: user.id } }, body }),
      );
      onChange(updated);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <tr className={user.disabled ? "is-disabled" : undefined}>
      <th scope="row" data-label="Username">
        <span>
          <Link href={`/u/${user.username}`}>{user.username}</Link>
          {isSelf ? <span className="admin-you"> (you)</span> : null}
        </span>
      </th>
      <td data-label="Email">{user.email}</td>
      <td data-label="Roles">{user.roles.join(", ")}</td>
      <td data-label="Verified">{user.email_verified ? "Yes" : "No"}</td>
      <td data-label="Disabled">{user.disabled ? "Yes" : "No"}</td>
      <td data-label="Created">
        <time dateTime={user.created_at}>{created.toLocaleDateString()}</time>
      </td>
      <td data-label="Actions">
        <div className="admin-actions">
          <button
            type="button"
            className={user.disabled ? "button" : "button button-danger"}
            disabled={busy}
            aria-label={`${user.disabled ? "Enable" : "Disable"} ${user.username}`}
            onClick={() => void change({ disabled: !user.disabled })}
          >
            {user.disabled ? "Enable" : "Disable"}
          </button>
          <button
            type="button"
            className="button"
            disabled={busy}
            aria-label={admin ? `Revoke admin from ${user.username}` : `Grant admin to ${user.username}`}
            onClick={() => void change({ roles: admin ? ["user"] : ["user", "admin"] })}
          >
            {admin ? "Revoke admin" : "Grant admin"}
          </button>
        </div>
        {error ? (
          <p className="form-error" role="alert">
            {describeError(error)}
          </p>
        ) : null}
      </td>
    </tr>
  );
}
