import { useId, type InputHTMLAttributes, type ReactNode, type Ref } from "react";

interface Props {
  label: string;
  error?: string | undefined;
  hint?: ReactNode;
  children: (props: {
    id: string;
    "aria-invalid": boolean;
    "aria-describedby": string | undefined;
  }) => ReactNode;
}

/**
 * A labelled control with its hint and its error, tied together with
 * `aria-describedby` so a screen reader reads the error with the field.
 */
export function Field({ label, error, hint, children }: Props) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(" ") || undefined;
  return (
    <div className={error ? "field has-error" : "field"}>
      <label htmlFor={id}>{label}</label>
      {children({ id, "aria-invalid": Boolean(error), "aria-describedby": describedBy })}
      {hint ? (
        <p className="field-hint" id={hintId}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p className="field-error" id={errorId} role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}

type InputAttributes = Omit<
  InputHTMLAttributes<HTMLInputElement>,
  "id" | "value" | "onChange" | "aria-invalid" | "aria-describedby" | "children"
>;

interface TextFieldProps extends InputAttributes {
  label: string;
  error?: string | undefined;
  hint?: ReactNode;
  value: string;
  /** The input's new text. */
  onChange: (value: string) => void;
  ref?: Ref<HTMLInputElement>;
}

/**
 * A `Field` around one text-like `<input>` (text, email, password…): every
 * other attribute (`type`, `name`, `autoComplete`, `required`…) goes to the input.
 */
export function TextField({ label, error, hint, value, onChange, ref, ...input }: TextFieldProps) {
  return (
    <Field label={label} error={error} hint={hint}>
      {(props) => (
        <input
          {...props}
          {...input}
          ref={ref}
          value={value}
          onChange={(event) => onChange(event.target.value)}
        />
      )}
    </Field>
  );
}

type PresetProps = Omit<TextFieldProps, "type" | "name" | "autoComplete" | "required">;

/** The account's email address, required, as browsers and password managers know it. */
export function EmailField(props: PresetProps) {
  return <TextField {...props} type="email" name="email" autoComplete="email" required />;
}

interface PasswordFieldProps extends PresetProps {
  name: string;
  /** `current-password` to sign in or confirm, `new-password` where one is chosen. */
  autoComplete: "current-password" | "new-password";
}

/** A required password input. */
export function PasswordField(props: PasswordFieldProps) {
  return <TextField {...props} type="password" required />;
}
