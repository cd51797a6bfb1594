import { useState, type FormEvent } from "react";
import { Link } from "wouter";
import { EmailField, PasswordField, TextField } from "../../components/Field";
import { FormAlert, SubmitButton } from "../../components/Form";
import { api, call } from "../../lib/api";
import { useTitle } from "../../lib/useTitle";
import { formErrors, NO_ERRORS, PASSWORD_RULES, type FormErrors } from "./formErrors";
import "./accounts.css";

const LABELS = { email: "Email", username: "Username", password: "Password" };

/** `/signup`: create an account; the verification link goes to the address given. */
export default function SignupPage() {
  const [email, setEmail] = useState("");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [sentTo, setSentTo] = useState<string | null>(null);
  useTitle(sentTo ? "Check your email" : "Sign up");

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setErrors(NO_ERRORS);
    try {
      const { user } = await call(
        api.POST("/auth/register", { body: { email, username, password } }),
      );
      setSentTo(user.email);
    } catch (error) {
      setErrors(formErrors(error, LABELS));
    } finally {
      setBusy(false);
    }
  }

  if (sentTo !== null) {
    return (
      <section className="auth-page">
        <h1>Check your email</h1>
        <div className="auth-result" role="status">
          <p>
            Your account is ready. We sent a link to <strong>{sentTo}</strong>: open it to confirm
            the address. The link works once and expires in 24 hours.
          </p>
          <p>You can log in now, but you can post only once the address is confirmed.</p>
          {import.meta.env.DEV ? (
            <p className="field-hint">Running locally? The mail is a file in .data/outbox.</p>
          ) : null}
        </div>
        <p className="auth-links">
          <Link href="/login" className="button button-primary">
            Log in
          </Link>
        </p>
      </section>
    );
  }

  return (
    <section className="auth-page">
      <h1>Sign up</h1>
      <form className="form" onSubmit={(event) => void submit(event)} noValidate>
        <FormAlert>{errors.form}</FormAlert>
        <EmailField label="Email" error={errors.fields.email} value={email} onChange={setEmail} />
        <TextField
          label="Username"
          error={errors.fields.username}
          hint="3–30 characters: lower-case letters, digits and underscores."
          name="username"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          required
          value={username}
          onChange={setUsername}
        />
        <PasswordField
          label="Password"
          error={errors.fields.password}
          hint={PASSWORD_RULES}
          name="password"
          autoComplete="new-password"
          value={password}
          onChange={setPassword}
        />
        <div className="form-actions">
          <SubmitButton busy={busy} busyLabel="Creating account…">
            Create account
          </SubmitButton>
        </div>
      </form>
      <div className="auth-links">
        <p>
          Already have an account? <Link href="/login">Log in</Link>
        </p>
      </div>
    </section>
  );
}
