import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import { session } from "../../lib/api";
import { stubApi } from "../../test/fakeApi";
import { json, makePair, makeUser, noContent, problem } from "../../test/fixtures";
import { renderAt } from "../../test/render";
import VerifyEmailPage from "./VerifyEmailPage";

const used = () =>
  problem(422, "invalid_input", "token: is invalid, expired or already used", {
    errors: [{ field: "token", message: "is invalid, expired or already used" }],
  });

function renderStrict(path: string) {
  return renderAt(path, <VerifyEmailPage />, { strict: true });
}

describe("VerifyEmailPage", () => {
  beforeEach(() => {
    session.signOut();
  });

  it("posts the token once, even under StrictMode's double effects", async () => {
    // A second POST of the single-use token would be refused: the page must not send one.
    const api = stubApi({ "POST /auth/verify-email": [() => noContent(), used] });
    renderStrict("/verify-email?token=tok-once");
    expect(await screen.findByText("Your email is verified. Thank you!")).toBeInTheDocument();
    expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("Email verified");
    expect(api.bodies("POST /auth/verify-email")).toEqual([{ token: "tok-once" }]);
    expect(screen.getByRole("link", { name: "Log in" })).toHaveAttribute("href", "/login");
  });

  it("refreshes a signed-in user so the account shows as verified", async () => {
    session.accept(makePair(1, 900, makeUser({ email_verified: false })));
    stubApi({
      "POST /auth/verify-email": () => noContent(),
      "GET /users/me": () => json(makeUser({ email_verified: true })),
    });
    renderStrict("/verify-email?token=tok-signed-in");
    await screen.findByText("Your email is verified. Thank you!");
    await waitFor(() => expect(session.state.user?.email_verified).toBe(true));
  });

  it("explains a used or expired link and, signed in, sends a new one", async () => {
    session.accept(makePair(1, 900, makeUser({ email_verified: false })));
    const api = stubApi({
      "POST /auth/verify-email": used,
      "POST /auth/verify-email/resend": () => noContent(),
    });
    renderStrict("/verify-email?token=tok-used");
    expect(await screen.findByText("This link is invalid, has expired or was already used.")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Send a new link" }));
    expect(await screen.findByText("Sent: check your inbox.")).toBeInTheDocument();
    expect(api.calls("POST /auth/verify-email/resend")).toHaveLength(1);
    expect(api.calls("POST /auth/verify-email")).toHaveLength(1);
  });

  it("asks an anonymous visitor with a bad link to log in for a new one", async () => {
    stubApi({ "POST /auth/verify-email": used });
    renderStrict("/verify-email?token=tok-anon");
    await screen.findByText("This link is invalid, has expired or was already used.");
    expect(screen.getByRole("link", { name: "Log in" })).toHaveAttribute("href", "/login?next=/settings");
    expect(screen.queryByRole("button", { name: "Send a new link" })).not.toBeInTheDocument();
  });

  it("offers to try again after a network failure, with the same token", async () => {
    const api = stubApi({
      "POST /auth/verify-email": [
        () => {
          throw new TypeError("Failed to fetch");
        },
        () => noContent(),
      ],
    });
    renderStrict("/verify-email?token=tok-net");
    await userEvent.click(await screen.findByRole("button", { name: "Try again" }));
    expect(await screen.findByText("Your email is verified. Thank you!")).toBeInTheDocument();
    expect(api.bodies("POST /auth/verify-email")).toEqual([{ token: "tok-net" }, { token: "tok-net" }]);
  });

  it("says so when the link has no token, and posts nothing", () => {
    const api = stubApi({});
    renderStrict("/verify-email");
    expect(screen.getByText(/this link has no token/)).toBeInTheDocument();
    expect(api.seen).toHaveLength(0);
  });
});
