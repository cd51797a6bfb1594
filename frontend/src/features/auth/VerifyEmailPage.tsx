import { useEffect, useState } from "react";
import { Link, useSearch } from "wouter";
import { api, call } from "../../lib/api";
import { ApiError, describeError } from "../../lib/problem";
import type { SessionState } from "../../lib/session";
import { useSession } from "../../lib/useSession";
import { useTitle } from "../../lib/useTitle";
import { ResendVerification } from "./ResendVerification";
import { useRefreshUser } from "./useRefreshUser";
import "./accounts.css";

type Outcome = { status: "verified" } | { status: "failed"; error: unknown };

/**
 * One POST per token for the life of the page: the token works once, so the
 * second effect run of React's StrictMode (or coming back to this page) must
 * reuse the first answer, not send the token again and be told it was used.
 */
const attempts = new Map<string, Promise<Outcome>>();

function verify(token: string): Promise<Outcome> {
  let attempt = attempts.get(token);
  if (attempt === undefined) {
    attempt = call(api.POST("/auth/verify-email", { body: { token } })).then(
      (): Outcome => ({ status: "verified" }),
      (error: unknown): Outcome => {
        // Only a network failure or a 5xx may be tried again with the same token.
        if (!(error instanceof ApiError) || error.isNetwork || error.status >= 500) {
          attempts.delete(token);
        }
        return { status: "failed", error };
      },
    );
    attempts.set(token, attempt);
  }
  return attempt;
}

/** The API refused the token itself (unknown, expired, already used). */
function isBadToken(error: unknown): boolean {
  return error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 429;
}

/** Verified here: a signed-in tab shows the account as verified without a reload. */
function useRefreshUserOnceVerified(verified: boolean) {
  const state = useSession();
  useRefreshUser(verified && state.status === "signed-in" && !state.user.email_verified);
}

/** `/verify-email?token=…`: the page the verification mail links to. */
export default function VerifyEmailPage() {
  const token = new URLSearchParams(useSearch()).get("token") ?? "";
  const [result, setResult] = useState<{ token: string; outcome: Outcome } | null>(null);
  const [tries, setTries] = useState(0);
  const state = useSession();
  const outcome = result?.token === token ? result.outcome : null;
  useTitle(outcome?.status === "verified" ? "Email verified" : "Verify your email");
  useRefreshUserOnceVerified(outcome?.status === "verified");

  useEffect(() => {
    if (!token) return;
    let live = true;
    void verify(token).then((answer) => {
      if (live) setResult({ token, outcome: answer });
    });
    return () => {
      live = false;
    };
  }, [token, tries]);

  let body;
  if (!token) {
    body = <NoToken session={state.status} />;
  } else if (outcome === null) {
    body = (
      <p className="loading" aria-busy="true">
        Confirming your email address…
      </p>
    );
  } else if (outcome.status === "verified") {
    body = (
      <div className="auth-result" role="status">
        <p>Your email is verified. Thank you!</p>
        <p>
          {state.status === "signed-in" ? (
            <Link href="/new">Write your first post</Link>
          ) : (
            <>
              <Link href="/login">Log in</Link> to start posting.
            </>
          )}
        </p>
      </div>
    );
  } else if (isBadToken(outcome.error)) {
    body = <BadToken session={state.status} verified={state.user?.email_verified ?? false} />;
  } else {
    body = (
      <div className="error-message" role="alert">
        <p>{describeError(outcome.error)}</p>
        <button type="button" className="button" onClick={() => {
            setResult(null);
            setTries((n) => n + 1);
          }}>
          Try again
        </button>
      </div>
    );
  }

  return (
    <section className="auth-page">
      <h1>{outcome?.status === "verified" ? "Email verified" : "Verify your email"}</h1>
      {body}
    </section>
  );
}

type SessionStatus = SessionState["status"];

/** How to get a new link: send one when signed in, else log in first. */
function NewLink({ session: status }: { session: SessionStatus }) {
  if (status === "restoring") return null;
  return (
    <p>
      {status === "signed-in" ? (
        <ResendVerification label="Send a new link" />
      ) : (
        <>
          <Link href="/login?next=/settings">Log in</Link> to get a new link.
        </>
      )}
    </p>
  );
}

function BadToken({ session: status, verified }: { session: SessionStatus; verified: boolean }) {
  return (
    <div className="auth-result" role="alert">
      <p>This link is invalid, has expired or was already used.</p>
      {verified ? (
        <p>Your email address is already verified: there is nothing more to do.</p>
      ) : (
        <NewLink session={status} />
      )}
    </div>
  );
}

function NoToken({ session: status }: { session: SessionStatus }) {
  return (
    <div className="auth-result">
      <p>This page confirms your email address from the link we mailed you, and this link has no token.</p>
      <NewLink session={status} />
    </div>
  );
}
