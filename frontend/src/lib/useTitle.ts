import { useEffect } from "react";

/** The tab's title for this page. */
export function useTitle(title: string | null): void {
  useEffect(() => {
    document.title = title ? `${title} · Snapboard` : "Snapboard";
  }, [title]);
}
