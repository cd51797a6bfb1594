import { useEffect, useId, useRef, useState, type ChangeEvent } from "react";
import { ErrorMessage } from "../../components/ErrorMessage";
import { api, call, session } from "../../lib/api";
import { uploadImage, UploadCancelled } from "../../lib/upload";
import type { Profile } from "./useProfile";

type Step = { kind: "idle" } | { kind: "uploading"; fraction: number } | { kind: "saving" } | { kind: "removing" };

interface Props {
  profile: Profile;
  /** The profile as it is after the change. */
  onChanged: (profile: Profile) => void;
}

/** On one's own profile: upload a new avatar (straight to the image store), or remove it. */
export function AvatarControls({ profile, onChanged }: Props) {
  const inputId = useId();
  const [step, setStep] = useState<Step>({ kind: "idle" });
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const upload = useRef<AbortController | null>(null);

  // Leaving the page ends an upload in flight.
  useEffect(() => () => upload.current?.abort(), []);

  function changed(avatar: Profile["avatar"], message: string) {
    onChanged({ ...profile, avatar });
    const state = session.getState();
    if (state.status === "signed-in") session.updateUser({ ...state.user, avatar });
    setDone(message);
  }

  async function pick(event: ChangeEvent<HTMLInputElement>) {
    const input = event.currentTarget;
    const file = input.files?.[0];
    input.value = ""; // the same file can be picked again after a failure
    if (!file) return;
    const controller = new AbortController();
    upload.current = controller;
    setError(null);
    setDone(null);
    setStep({ kind: "uploading", fraction: 0 });
    try {
      const image = await uploadImage(file, {
        alt: null,
        signal: controller.signal,
        onProgress: (fraction) => setStep({ kind: "uploading", fraction }),
      });
      setStep({ kind: "saving" });
      const avatar = await call(api.PUT("/users/me/avatar", { body: { image_id: image.id } }));
      changed(avatar.urls, "Your avatar was changed.");
    } catch (err) {
      if (!(err instanceof UploadCancelled)) setError(err);
    } finally {
      if (upload.current === controller) upload.current = null;
      setStep({ kind: "idle" });
    }
  }

  async function remove() {
    if (step.kind !== "idle") return;
    if (!window.confirm("Remove your avatar? Its image is deleted.")) return;
    setError(null);
    setDone(null);
    setStep({ kind: "removing" });
    try {
      await call(api.DELETE("/users/me/avatar"));
      changed(null, "Your avatar was removed.");
    } catch (err) {
      setError(err);
    } finally {
      setStep({ kind: "idle" });
    }
  }

  const busy = step.kind !== "idle";
  return (
    <div className="avatar-controls">
      <div className="avatar-buttons">
        <input
          id={inputId}
          className="file-input"
          type="file"
          accept="image/*"
          onChange={(event) => void pick(event)}
          disabled={busy}
        />
        <label htmlFor={inputId} className="button" aria-disabled={busy}>
          Change avatar
        </label>
        {profile.avatar ? (
          <button type="button" className="button button-danger" onClick={() => void remove()} aria-disabled={busy}>
            Remove avatar
          </button>
        ) : null}
      </div>
      {step.kind === "uploading" ? (
        <div className="avatar-progress">
          <progress max={1} value={step.fraction} aria-label="Avatar upload" />
          <span>{Math.round(step.fraction * 100)}%</span>
          <button type="button" className="link-button" onClick={() => upload.current?.abort()}>
            Cancel upload
          </button>
        </div>
      ) : step.kind === "saving" || step.kind === "removing" ? (
        <p className="loading">{step.kind === "saving" ? "Saving…" : "Removing…"}</p>
      ) : null}
      <p role="status" className="success">
        {done}
      </p>
      {error ? <ErrorMessage error={error} /> : null}
    </div>
  );
}
