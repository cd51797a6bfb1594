import type { ReactNode } from "react";
import { Redirect, useLocation } from "wouter";
import { useSession } from "../lib/useSession";

/** Pages for signed-in people: others go to the login page and come back afterwards. */
export function RequireAuth({ children, admin = false }: { children: ReactNode; admin?: boolean }) {
  const state = useSession();
  const [location] = useLocation();
  if (state.status === "restoring") return <p className="loading" aria-busy="true">Loading…</p>;
  if (state.status === "anonymous") {
    const next = encodeURIComponent(location + window.location.search);
    return <Redirect to={`/login?next=${next}`} replace />;
  }
  if (admin && !state.user.roles.includes("admin")) {
    return (
      <section>
        <h1>Administrators only</h1>
        <p>Your account cannot open this page.</p>
      </section>
    );
  }
  return <>{children}</>;
}
