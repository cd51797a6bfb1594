import type { ReactNode } from "react";

/** What a form says that belongs to none of its fields, announced when it appears. */
export function FormAlert({ children }: { children?: ReactNode }) {
  if (!children) return null;
  return (
    <p className="form-error" role="alert">
      {children}
    </p>
  );
}

interface SubmitButtonProps {
  /** While true the button is disabled and says `busyLabel`. */
  busy: boolean;
  busyLabel: string;
  children: ReactNode;
}

/** A form's primary submit button, which says what it is doing while the request runs. */
export function SubmitButton({ busy, busyLabel, children }: SubmitButtonProps) {
  return (
    <button type="submit" className="button button-primary" disabled={busy}>
      {busy ? busyLabel : children}
    </button>
  );
}
