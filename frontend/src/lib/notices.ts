/**
 * App-wide notices that are not any one form's business: the server asked us
 * to slow down, the service is briefly down, the browser went offline. The API
 * client reports them here and the banner shows the newest.
 */

export type Notice =
  | { kind: "rate-limited"; until: number }
  | { kind: "unavailable"; until: number }
  | { kind: "offline" };

type Listener = () => void;

let current: Notice | null = null;
const listeners = new Set<Listener>();

function emit(): void {
  for (const listener of listeners) listener();
}

export const notices = {
  get(): Notice | null {
    return current;
  },
  subscribe(listener: Listener): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  report(notice: Notice): void {
    current = notice;
    emit();
  },
  clear(kind?: Notice["kind"]): void {
    if (current === null || (kind !== undefined && current.kind !== kind)) return;
    current = null;
    emit();
  },
};
