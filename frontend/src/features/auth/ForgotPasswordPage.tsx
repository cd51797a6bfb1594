import { useState, type FormEvent } from "react";
import { Link } from "wouter";
import { EmailField } from "../../components/Field";
import { FormAlert, SubmitButton } from "../../components/Form";
import { api, call } from "../../lib/api";
import { useTitle } from "../../lib/useTitle";
import { formErrors, NO_ERRORS, type FormErrors } from "./formErrors";
import "./accounts.css";

// The API answers the same for every address (no one learns who has an account): so does the page.
const SENT = "If an account exists for that address, we sent it a link to reset the password.";

/** `/forgot-password`: ask for a reset link. */
export default function ForgotPasswordPage() {
  useTitle("Forgot password");
  const [email, setEmail] = useState("");
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [sent, setSent] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setErrors(NO_ERRORS);
    try {
      await call(api.POST("/auth/password-reset", { body: { email } }));
      setSent(true);
    } catch (error) {
      setErrors(formErrors(error, { email: "Email" }));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="auth-page">
      <h1>Forgot password</h1>
      {sent ? (
        <div className="auth-result" role="status">
          <p>{SENT}</p>
          <p>The link works once and expires in 1 hour. No mail? Check the address and ask again.</p>
          <button type="button" className="link-button" onClick={() => setSent(false)}>
            Use another address
          </button>
        </div>
      ) : (
        <form className="form" onSubmit={(event) => void submit(event)} noValidate>
          <p>Enter the address you signed up with and we will mail you a link to choose a new password.</p>
          <FormAlert>{errors.form}</FormAlert>
          <EmailField label="Email" error={errors.fields.email} value={email} onChange={setEmail} />
          <div className="form-actions">
            <SubmitButton busy={busy} busyLabel="Sending…">
              Send the link
            </SubmitButton>
          </div>
        </form>
      )}
      <div className="auth-links">
        <p>
          Remembered it? <Link href="/login">Log in</Link>
        </p>
      </div>
    </section>
  );
}
