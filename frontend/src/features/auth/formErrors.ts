import { ApiError, describeError, fieldErrors } from "../../lib/problem";

/** The form's fields: the API's field name → the label a person sees. */
export type FieldLabels = Record<string, string>;

export interface FormErrors {
  /** Messages to show beside each field, keyed by the API's field name. */
  fields: Record<string, string>;
  /** What belongs to no field (a 401, a 429 with its wait, the network). */
  form: string | null;
}

export const NO_ERRORS: FormErrors = { fields: {}, form: null };

/**
 * The API says "must be at least 10 characters" about `password`; beside the
 * field a person reads "Password must be at least 10 characters."
 */
export function fieldSentence(label: string, message: string): string {
  const text = /^[a-z]/.test(message) ? `${label} ${message}` : message;
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/**
 * Split a failed call into per-field messages and one form-level message: a
 * 422's `errors` go beside their fields, a 409 whose code names a field
 * (`email_taken`, `username_taken`) goes beside that field, the rest is said once.
 */
export function formErrors(error: unknown, labels: FieldLabels): FormErrors {
  const known = Object.keys(labels);
  if (error instanceof ApiError && error.status === 409 && error.code) {
    const field = known.find((name) => error.code === `${name}_taken`);
    if (field) return { fields: { [field]: describeError(error) }, form: null };
  }
  if (error instanceof ApiError && error.status === 422 && error.problem?.errors?.length) {
    const mapped = fieldErrors(error, known);
    const fields: Record<string, string> = {};
    for (const [name, message] of Object.entries(mapped)) {
      const label = labels[name];
      if (name !== "" && label !== undefined) fields[name] = fieldSentence(label, message);
    }
    return { fields, form: mapped[""] ?? null };
  }
  return { fields: {}, form: describeError(error) };
}

export const PASSWORD_RULES =
  "At least 10 characters, not a common password, and not your email address or username.";
