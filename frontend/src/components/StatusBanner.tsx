import { useEffect, useState, useSyncExternalStore } from "react";
import { notices, type Notice } from "../lib/notices";
import { formatWait } from "../lib/problem";

function useOnline(): boolean {
  return useSyncExternalStore(
    (listener) => {
      window.addEventListener("online", listener);
      window.addEventListener("offline", listener);
      return () => {
        window.removeEventListener("online", listener);
        window.removeEventListener("offline", listener);
      };
    },
    () => navigator.onLine,
    () => true,
  );
}

/** Seconds left until `until`, ticking once a second while positive. */
function useCountdown(until: number | null): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (until === null || until <= Date.now()) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [until]);
  return until === null ? 0 : Math.max(0, Math.ceil((until - now) / 1000));
}

function message(notice: Notice, left: number): string | null {
  switch (notice.kind) {
    case "offline":
      return "You are offline. Changes cannot be saved until the connection is back.";
    case "rate-limited":
      return left > 0
        ? `Too many requests. Try again in ${formatWait(left)}.`
        : "You can try again now.";
    case "unavailable":
      return left > 0
        ? `The service is briefly unavailable. Try again in ${formatWait(left)}.`
        : "The service is briefly unavailable. Try again in a moment.";
  }
}

/** The app-wide notice: offline, slowed down (429) or briefly unavailable (503). */
export function StatusBanner() {
  const online = useOnline();
  const notice = useSyncExternalStore(notices.subscribe, notices.get, notices.get);
  // Requests that failed while offline said so; back online, that is no longer true.
  useEffect(() => {
    if (online) notices.clear("offline");
  }, [online]);
  const shown: Notice | null = online ? notice : { kind: "offline" };
  const until = shown && shown.kind !== "offline" ? shown.until : null;
  const left = useCountdown(until);
  const text = shown ? message(shown, left) : null;
  return (
    <div className="status-banner" role="status" aria-live="polite" hidden={text === null}>
      {text}
      {text !== null && shown?.kind !== "offline" ? (
        <button type="button" className="link-button" onClick={() => notices.clear()}>
          Dismiss
        </button>
      ) : null}
    </div>
  );
}
