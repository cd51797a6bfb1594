import { useState, type FormEvent } from "react";
import { Link } from "wouter";
import { Field, PasswordField, TextField } from "../../components/Field";
import { FormAlert, SubmitButton } from "../../components/Form";
import { api, call, session } from "../../lib/api";
import type { User } from "../../lib/session";
import { useSession } from "../../lib/useSession";
import { useTitle } from "../../lib/useTitle";
import { formErrors, NO_ERRORS, PASSWORD_RULES, type FormErrors } from "../auth/formErrors";
import { ResendVerification } from "../auth/ResendVerification";
import { useRefreshUser } from "../auth/useRefreshUser";
import "../auth/accounts.css";

/** `/settings`: the account, the public profile and the password. */
export default function SettingsPage() {
  useTitle("Settings");
  // The account as the API has it now (verified in another tab, say).
  useRefreshUser(true);
  const state = useSession();
  // RequireAuth renders this page only for a signed-in person.
  if (state.status !== "signed-in") return null;
  const user = state.user;
  return (
    <section className="settings-page">
      <h1>Settings</h1>
      <AccountSection user={user} />
      <ProfileForm user={user} />
      <PasswordForm />
    </section>
  );
}

function AccountSection({ user }: { user: User }) {
  return (
    <section className="settings-section" aria-labelledby="account-heading">
      <h2 id="account-heading">Account</h2>
      <dl className="account-facts">
        <dt>Email</dt>
        <dd>{user.email}</dd>
        <dt>Username</dt>
        <dd>
          <Link href={`/u/${user.username}`}>{user.username}</Link>
        </dd>
        <dt>Email status</dt>
        <dd>
          {user.email_verified ? (
            <span className="badge badge-ok">Verified</span>
          ) : (
            <>
              <span className="badge badge-warn">Not verified</span>{" "}
              <span>Confirm your email to post.</span>{" "}
              <ResendVerification label="Resend the verification link" />
            </>
          )}
        </dd>
      </dl>
    </section>
  );
}

const PROFILE_LABELS = { display_name: "Display name", bio: "Bio" };

function ProfileForm({ user }: { user: User }) {
  const [displayName, setDisplayName] = useState(user.display_name);
  const [bio, setBio] = useState(user.bio);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setSaved(false);
    setErrors(NO_ERRORS);
    try {
      const updated = await call(
        api.PATCH("/users/me", { body: { display_name: displayName, bio } }),
      );
      session.updateUser(updated);
      setDisplayName(updated.display_name);
      setBio(updated.bio);
      setSaved(true);
    } catch (error) {
      setErrors(formErrors(error, PROFILE_LABELS));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="settings-section" aria-labelledby="profile-heading">
      <h2 id="profile-heading">Profile</h2>
      <form className="form" onSubmit={(event) => void submit(event)} noValidate>
        <FormAlert>{errors.form}</FormAlert>
        <TextField
          label="Display name"
          error={errors.fields.display_name}
          hint="Shown with your posts instead of your username. Up to 50 characters."
          name="display_name"
          autoComplete="name"
          maxLength={50}
          value={displayName}
          onChange={(value) => {
            setDisplayName(value);
            setSaved(false);
          }}
        />
        <Field label="Bio" error={errors.fields.bio} hint="Up to 500 characters.">
          {(props) => (
            <textarea
              {...props}
              name="bio"
              maxLength={500}
              rows={3}
              value={bio}
              onChange={(event) => {
                setBio(event.target.value);
                setSaved(false);
              }}
            />
          )}
        </Field>
        <div className="form-actions">
          <SubmitButton busy={busy} busyLabel="Saving…">
            Save profile
          </SubmitButton>
          <span role="status" className="success">
            {saved ? "Profile saved." : ""}
          </span>
        </div>
      </form>
    </section>
  );
}

const PASSWORD_LABELS = { current_password: "Current password", new_password: "New password" };

function PasswordForm() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [busy, setBusy] = useState(false);
  const [changed, setChanged] = useState(false);
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setChanged(false);
    setErrors(NO_ERRORS);
    try {
      await call(
        api.POST("/users/me/password", { body: { current_password: current, new_password: next } }),
      );
      setCurrent("");
      setNext("");
      setChanged(true);
    } catch (error) {
      setErrors(formErrors(error, PASSWORD_LABELS));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="settings-section" aria-labelledby="password-heading">
      <h2 id="password-heading">Password</h2>
      <form className="form" onSubmit={(event) => void submit(event)} noValidate>
        <FormAlert>{errors.form}</FormAlert>
        <PasswordField
          label="Current password"
          error={errors.fields.current_password}
          name="current_password"
          autoComplete="current-password"
          value={current}
          onChange={setCurrent}
        />
        <PasswordField
          label="New password"
          error={errors.fields.new_password}
          hint={PASSWORD_RULES}
          name="new_password"
          autoComplete="new-password"
          value={next}
          onChange={setNext}
        />
        <div className="form-actions">
          <SubmitButton busy={busy} busyLabel="Changing…">
            Change password
          </SubmitButton>
        </div>
        <p role="status" className="success">
          {changed
            ? "Your password was changed. Your other sessions were signed out; this one stays."
            : ""}
        </p>
      </form>
    </section>
  );
}
