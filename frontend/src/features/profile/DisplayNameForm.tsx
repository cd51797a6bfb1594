import { useRef, useState, type FormEvent } from "react";
import { ErrorMessage } from "../../components/ErrorMessage";
import { TextField } from "../../components/Field";
import { FormAlert } from "../../components/Form";
import { api, call, session } from "../../lib/api";
import { ApiError, fieldErrors } from "../../lib/problem";
import type { Profile } from "./useProfile";

interface Props {
  profile: Profile;
  onChanged: (profile: Profile) => void;
}

/** On one's own profile: the display name, edited in place. */
export function DisplayNameForm({ profile, onChanged }: Props) {
  const [editing, setEditing] = useState(false);
  const [value, setValue] = useState(profile.display_name);
  const [saving, setSaving] = useState(false);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<unknown>(null);
  const opener = useRef<HTMLButtonElement>(null);

  function open() {
    setValue(profile.display_name);
    setErrors({});
    setFailure(null);
    setEditing(true);
  }

  function close() {
    setEditing(false);
    // The button is back after this render.
    requestAnimationFrame(() => opener.current?.focus());
  }

  async function save(event: FormEvent) {
    event.preventDefault();
    if (saving) return;
    setSaving(true);
    setErrors({});
    setFailure(null);
    try {
      const user = await call(api.PATCH("/users/me", { body: { display_name: value.trim() } }));
      session.updateUser(user);
      onChanged({ ...profile, display_name: user.display_name });
      close();
    } catch (error) {
      const byField = error instanceof ApiError && error.status === 422 ? fieldErrors(error, ["display_name"]) : {};
      if (Object.keys(byField).length > 0) setErrors(byField);
      else setFailure(error);
    } finally {
      setSaving(false);
    }
  }

  if (!editing) {
    return (
      <button ref={opener} type="button" className="button" onClick={open}>
        Edit display name
      </button>
    );
  }
  return (
    <form className="display-name-form" onSubmit={(event) => void save(event)} noValidate>
      <TextField
        label="Display name"
        error={errors.display_name}
        hint="Up to 50 characters. Empty shows your username."
        value={value}
        onChange={setValue}
        maxLength={50}
        autoComplete="nickname"
        autoFocus
      />
      <FormAlert>{errors[""]}</FormAlert>
      {failure ? <ErrorMessage error={failure} /> : null}
      <div className="form-actions">
        <button type="submit" className="button button-primary" aria-disabled={saving}>
          Save
        </button>
        <button type="button" className="button" onClick={close}>
          Cancel
        </button>
      </div>
    </form>
  );
}
