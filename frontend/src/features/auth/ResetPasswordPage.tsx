import { useState, type FormEvent } from "react";
import { Link, useSearch } from "wouter";
import { PasswordField } from "../../components/Field";
import { FormAlert, SubmitButton } from "../../components/Form";
import { api, call, session } from "../../lib/api";
import { ApiError } from "../../lib/problem";
import { useTitle } from "../../lib/useTitle";
import { formErrors, NO_ERRORS, PASSWORD_RULES, type FormErrors } from "./formErrors";
import "./accounts.css";

const MIN_LENGTH = 10;
const LABELS = { password: "New password", token: "The link" };

function isBadToken(error: unknown): boolean {
  return (
    error instanceof ApiError &&
    error.status === 422 &&
    (error.problem?.errors ?? []).some((item) => item.field.replace(/^body\./, "") === "token")
  );
}

/** `/reset-password?token=…`: the page the reset mail links to. */
export default function ResetPasswordPage() {
  const token = new URLSearchParams(useSearch()).get("token") ?? "";
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [outcome, setOutcome] = useState<"changed" | "bad-token" | null>(null);
  useTitle(outcome === "changed" ? "Password changed" : "Choose a new password");

  async function submit(event: FormEvent) {
    event.preventDefault();
    // Checked here first: the API spends the link's token even on a password it refuses.
    if (password.length < MIN_LENGTH) {
      setErrors({ fields: { password: `New password must be at least ${MIN_LENGTH} characters.` }, form: null });
      return;
    }
    if (password !== confirm) {
      setErrors({ fields: { confirm: "The two passwords differ." }, form: null });
      return;
    }
    setBusy(true);
    setErrors(NO_ERRORS);
    try {
      await call(api.POST("/auth/password-reset/confirm", { body: { token, password } }));
      // Every session of the account has ended, this tab's included.
      if (session.state.status === "signed-in") session.signOut();
      setOutcome("changed");
    } catch (error) {
      if (isBadToken(error)) setOutcome("bad-token");
      else setErrors(formErrors(error, LABELS));
    } finally {
      setBusy(false);
    }
  }

  if (outcome === "changed") {
    return (
      <section className="auth-page">
        <h1>Password changed</h1>
        <div className="auth-result" role="status">
          <p>Your password was changed, and every session of your account was signed out.</p>
          <p>
            <Link href="/login" className="button button-primary">
              Log in
            </Link>
          </p>
        </div>
      </section>
    );
  }

  if (!token || outcome === "bad-token") {
    return (
      <section className="auth-page">
        <h1>Choose a new password</h1>
        <div className="auth-result" role="alert">
          <p>
            {token
              ? "This reset link is invalid, has expired or was already used."
              : "This link has no reset token: open the link from the mail exactly as it came."}
          </p>
          <p>
            <Link href="/forgot-password">Request a new link</Link>
          </p>
        </div>
      </section>
    );
  }

  return (
    <section className="auth-page">
      <h1>Choose a new password</h1>
      <form className="form" onSubmit={(event) => void submit(event)} noValidate>
        <FormAlert>{errors.form}</FormAlert>
        <PasswordField
          label="New password"
          error={errors.fields.password}
          hint={PASSWORD_RULES}
          name="password"
          autoComplete="new-password"
          value={password}
          onChange={setPassword}
        />
        <PasswordField
          label="Confirm password"
          error={errors.fields.confirm}
          name="confirm"
          autoComplete="new-password"
          value={confirm}
          onChange={setConfirm}
        />
        <div className="form-actions">
          <SubmitButton busy={busy} busyLabel="Saving…">
            Change password
          </SubmitButton>
        </div>
      </form>
    </section>
  );
}
