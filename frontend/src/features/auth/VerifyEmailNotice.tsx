import { useSession } from "../../lib/useSession";
import { ResendVerification } from "./ResendVerification";
import "./accounts.css";

/**
 * For a signed-in person whose address is not confirmed yet: they can read but
 * not post until they follow the mailed link; this offers a new one.
 */
export function VerifyEmailNotice() {
  const state = useSession();
  if (state.status !== "signed-in" || state.user.email_verified) return null;
  return (
    // A named region: a landmark of its own wherever the layout puts it.
    <section className="verify-notice" aria-label="Email verification">
      <p>
        Confirm your email to post. <ResendVerification />
      </p>
    </section>
  );
}
