import { useState, type FormEvent } from "react";
import { Link, Redirect, useLocation, useSearch } from "wouter";
import { EmailField, PasswordField } from "../../components/Field";
import { FormAlert, SubmitButton } from "../../components/Form";
import { api, call, session } from "../../lib/api";
import { ApiError, describeError } from "../../lib/problem";
import { useSession } from "../../lib/useSession";
import { useTitle } from "../../lib/useTitle";
import { formErrors, NO_ERRORS, type FormErrors } from "./formErrors";
import { safeNext } from "./nextPath";
import "./accounts.css";

const LABELS = { email: "Email", password: "Password" };

function loginErrors(error: unknown): FormErrors {
  if (error instanceof ApiError) {
    if (error.status === 401) return { fields: {}, form: "Email or password is wrong." };
    if (error.status === 403) {
      return { fields: {}, form: error.problem?.detail ?? "This account is disabled." };
    }
    if (error.status === 429 && error.code === "login_throttled") {
      // The API's own explanation (a known device or a reset gets in), then when to retry.
      const when = describeError(error).replace(/^Too many attempts\. /, "");
      return { fields: {}, form: `${error.problem?.detail ?? "Too many failed sign-ins."} ${when}` };
    }
  }
  return formErrors(error, LABELS);
}

/** `/login?next=/somewhere`: sign in, then go back where the person was. */
export default function LoginPage() {
  useTitle("Log in");
  const state = useSession();
  const [, navigate] = useLocation();
  const next = safeNext(new URLSearchParams(useSearch()).get("next"));
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);

  if (state.status === "signed-in" && !busy) return <Redirect to={next} replace />;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setErrors(NO_ERRORS);
    try {
      const pair = await call(api.POST("/auth/login", { body: { email, password } }));
      // The refresh token in the body is ignored: the httpOnly cookie holds it.
      session.accept(pair);
      navigate(next, { replace: true });
    } catch (error) {
      setErrors(loginErrors(error));
      setBusy(false);
    }
  }

  return (
    <section className="auth-page">
      <h1>Log in</h1>
      <form className="form" onSubmit={(event) => void submit(event)} noValidate>
        <FormAlert>{errors.form}</FormAlert>
        <EmailField label="Email" error={errors.fields.email} value={email} onChange={setEmail} />
        <PasswordField
          label="Password"
          error={errors.fields.password}
          name="password"
          autoComplete="current-password"
          value={password}
          onChange={setPassword}
        />
        <div className="form-actions">
          <SubmitButton busy={busy} busyLabel="Logging in…">
            Log in
          </SubmitButton>
          <Link href="/forgot-password">Forgot password?</Link>
        </div>
      </form>
      <div className="auth-links">
        <p>
          New to Snapboard? <Link href="/signup">Sign up</Link>
        </p>
      </div>
    </section>
  );
}
