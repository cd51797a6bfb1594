import { lazy, Suspense, useState, type ReactNode } from "react";
import { Link, useLocation } from "wouter";
import { api, call, session } from "../lib/api";
import { ApiError, describeError } from "../lib/problem";
import { isAdmin, useSession } from "../lib/useSession";
import { Avatar } from "./Avatar";
import { StatusBanner } from "./StatusBanner";

// Only an unverified account sees it: not part of everybody's first paint.
const VerifyEmailNotice = lazy(() =>
  import("../features/auth/VerifyEmailNotice").then((module) => ({ default: module.VerifyEmailNotice })),
);

function LogoutButton() {
  const [, navigate] = useLocation();
  const [error, setError] = useState<unknown>(null);
  async function logout() {
    try {
      await call(api.POST("/auth/logout"));
    } catch (err) {
      // A 401 means the session had already ended; anything else left the cookie in place.
      if (!(err instanceof ApiError) || err.status !== 401) {
        setError(err);
        return;
      }
    }
    session.signOut();
    navigate("/");
  }
  return (
    <>
      <button type="button" className="link-button" onClick={() => void logout()}>
        Log out
      </button>
      {error ? (
        <span role="alert" className="nav-error">
          {describeError(error)}
        </span>
      ) : null}
    </>
  );
}

export function Layout({ children }: { children: ReactNode }) {
  const state = useSession();
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="site-header">
        <nav aria-label="Main" className="site-nav">
          <Link href="/" className="brand">
            Snapboard
          </Link>
          <ul>
            {state.status === "signed-in" ? (
              <>
                <li>
                  <Link href="/new" className="button button-primary">
                    New post
                  </Link>
                </li>
                {isAdmin(state) ? (
                  <li>
                    <Link href="/admin/users">Admin</Link>
                  </li>
                ) : null}
                <li>
                  <Link href="/settings">Settings</Link>
                </li>
                <li>
                  <Link href={`/u/${state.user.username}`} className="nav-profile">
                    <Avatar user={state.user} size={32} />
                    <span>{state.user.display_name || state.user.username}</span>
                  </Link>
                </li>
                <li>
                  <LogoutButton />
                </li>
              </>
            ) : state.status === "anonymous" ? (
              <>
                <li>
                  <Link href="/login">Log in</Link>
                </li>
                <li>
                  <Link href="/signup" className="button button-primary">
                    Sign up
                  </Link>
                </li>
              </>
            ) : null}
          </ul>
        </nav>
      </header>
      <StatusBanner />
      {state.status === "signed-in" && !state.user.email_verified ? (
        <Suspense fallback={null}>
          <VerifyEmailNotice />
        </Suspense>
      ) : null}
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
