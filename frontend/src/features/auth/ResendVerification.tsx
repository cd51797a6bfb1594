import { describeError } from "../../lib/problem";
import { useResendVerification } from "./useResendVerification";

/** "Resend the link", with what happened said beside it (a 429 says when to try again). */
export function ResendVerification({ label = "Resend the link" }: { label?: string }) {
  const { state, resend } = useResendVerification();
  return (
    <span className="resend">
      <button
        type="button"
        className="link-button"
        onClick={() => void resend()}
        disabled={state.status === "sending"}
      >
        {label}
      </button>
      <span role="status" className="success">
        {state.status === "sent" ? "Sent: check your inbox." : ""}
      </span>
      {state.status === "failed" ? (
        <span role="alert" className="form-error">
          {describeError(state.error)}
        </span>
      ) : null}
    </span>
  );
}
