import { useEffect } from "react";
import { api, call, session } from "../../lib/api";

/**
 * While `when` holds (checked again whenever it changes), fetch the account as
 * the API has it now and keep it in the session; a failure leaves the session as it was.
 */
export function useRefreshUser(when: boolean): void {
  useEffect(() => {
    if (!when) return;
    let live = true;
    call(api.GET("/users/me")).then(
      (user) => {
        if (live) session.updateUser(user);
      },
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [when]);
}
