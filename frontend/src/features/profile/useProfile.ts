import { useCallback, useEffect, useState } from "react";
import { api, call, type Schemas } from "../../lib/api";

export type Profile = Schemas["UserPublic"];

export type ProfileResult =
  | { status: "loading"; profile: null; error: null }
  | { status: "ready"; profile: Profile; error: null }
  | { status: "error"; profile: null; error: unknown };

const loading: ProfileResult = { status: "loading", profile: null, error: null };

/** A person's public profile; `replace` shows what a change of one's own returned. */
export function useProfile(username: string) {
  const [state, setState] = useState<{ username: string; result: ProfileResult }>({ username, result: loading });
  const [attempt, setAttempt] = useState(0);
  const result = state.username === username ? state.result : loading;

  useEffect(() => {
    const controller = new AbortController();
    call(api.GET("/users/{username}", { params: { path: { username } }, signal: controller.signal })).then(
      (profile) => setState({ username, result: { status: "ready", profile, error: null } }),
      (error: unknown) => {
        if (!controller.signal.aborted) setState({ username, result: { status: "error", profile: null, error } });
      },
    );
    return () => controller.abort();
  }, [username, attempt]);

  const reload = useCallback(() => {
    setState((previous) => (previous.result.status === "error" ? { ...previous, result: loading } : previous));
    setAttempt((n) => n + 1);
  }, []);
  const replace = useCallback(
    (profile: Profile) => setState({ username: profile.username, result: { status: "ready", profile, error: null } }),
    [],
  );
  return { ...result, reload, replace };
}
