import { render } from "@testing-library/react";
import { StrictMode, type ReactNode } from "react";
import { Router } from "wouter";
import { memoryLocation } from "wouter/memory-location";

/**
 * Renders `ui` at `path` (query included) with an in-memory location that
 * records navigation. `strict` wraps it all in StrictMode, as main.tsx does:
 * React runs effects twice on mount only under a StrictMode at the root.
 */
export function renderAt(path: string, ui: ReactNode, { strict = false } = {}) {
  const memory = memoryLocation({ path, record: true });
  const tree = (
    <Router hook={memory.hook} searchHook={memory.searchHook}>
      {ui}
    </Router>
  );
  const result = render(strict ? <StrictMode>{tree}</StrictMode> : tree);
  return { ...result, history: memory.history, navigate: memory.navigate };
}
