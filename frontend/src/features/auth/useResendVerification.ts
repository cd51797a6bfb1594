import { useCallback, useState } from "react";
import { api, call } from "../../lib/api";

export type ResendState =
  | { status: "idle" }
  | { status: "sending" }
  | { status: "sent" }
  | { status: "failed"; error: unknown };

/** `POST /auth/verify-email/resend`: mail the signed-in user a new verification link. */
export function useResendVerification(): { state: ResendState; resend: () => Promise<void> } {
  const [state, setState] = useState<ResendState>({ status: "idle" });
  const resend = useCallback(async () => {
    setState({ status: "sending" });
    try {
      await call(api.POST("/auth/verify-email/resend"));
      setState({ status: "sent" });
    } catch (error) {
      setState({ status: "failed", error });
    }
  }, []);
  return { state, resend };
}
