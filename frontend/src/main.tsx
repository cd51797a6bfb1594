import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { session } from "./lib/api";
import "./styles.css";

// A reload starts without an access token: the refresh cookie restores the session.
void session.restore();

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
