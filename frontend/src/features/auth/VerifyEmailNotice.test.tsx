import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import { session } from "../../lib/api";
import { stubApi } from "../../test/fakeApi";
import { makePair, makeUser, noContent, problem } from "../../test/fixtures";
import { VerifyEmailNotice } from "./VerifyEmailNotice";

describe("VerifyEmailNotice", () => {
  beforeEach(() => {
    session.signOut();
  });

  it("shows nothing to anonymous or verified people", () => {
    const { container, rerender } = render(<VerifyEmailNotice />);
    expect(container).toBeEmptyDOMElement();
    session.accept(makePair(1, 900, makeUser({ email_verified: true })));
    rerender(<VerifyEmailNotice />);
    expect(container).toBeEmptyDOMElement();
  });

  it("asks an unverified user to confirm and resends the link", async () => {
    session.accept(makePair(1, 900, makeUser({ email_verified: false })));
    const api = stubApi({ "POST /auth/verify-email/resend": () => noContent() });
    render(<VerifyEmailNotice />);
    expect(screen.getByText(/Confirm your email to post\./)).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Resend the link" }));
    expect(await screen.findByRole("status")).toHaveTextContent("Sent");
    expect(api.calls("POST /auth/verify-email/resend")).toHaveLength(1);
    expect(api.seen[0]!.authorization).toBe("Bearer access-1");
  });

  it("says when to retry after the resend limit", async () => {
    session.accept(makePair(1, 900, makeUser({ email_verified: false })));
    stubApi({
      "POST /auth/verify-email/resend": () =>
        problem(429, "rate_limited", "Too many requests.", { headers: { "Retry-After": "3600" } }),
    });
    render(<VerifyEmailNotice />);
    await userEvent.click(screen.getByRole("button", { name: "Resend the link" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Try again in 60 minutes.");
  });

  it("goes away once the session shows the address verified", () => {
    session.accept(makePair(1, 900, makeUser({ email_verified: false })));
    const { container, rerender } = render(<VerifyEmailNotice />);
    expect(container).not.toBeEmptyDOMElement();
    session.updateUser(makeUser({ email_verified: true }));
    rerender(<VerifyEmailNotice />);
    expect(container).toBeEmptyDOMElement();
  });
});
