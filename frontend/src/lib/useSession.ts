import { useSyncExternalStore } from "react";
import { session } from "./api";
import type { SessionState } from "./session";

/** The signed-in state of this tab; re-renders on sign-in, sign-out and profile changes. */
export function useSession(): SessionState {
  return useSyncExternalStore(session.subscribe, session.getState, session.getState);
}

export function isAdmin(state: SessionState): boolean {
  return state.status === "signed-in" && state.user.roles.includes("admin");
}
