import { Link } from "wouter";
import { useTitle } from "../lib/useTitle";

export function NotFound({ what = "page" }: { what?: string }) {
  useTitle("Not found");
  return (
    <section className="not-found">
      <h1>Not found</h1>
      <p>This {what} does not exist, or you cannot see it.</p>
      <Link href="/">Back to the feed</Link>
    </section>
  );
}
