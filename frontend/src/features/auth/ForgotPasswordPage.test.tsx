import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { stubApi } from "../../test/fakeApi";
import { json, problem } from "../../test/fixtures";
import { renderAt } from "../../test/render";
import ForgotPasswordPage from "./ForgotPasswordPage";

const ACCEPTED = "If an account exists for that address, we sent it a link to reset the password.";

describe("ForgotPasswordPage", () => {
  it("says the same thing whatever the address", async () => {
    const api = stubApi({
      "POST /auth/password-reset": () => json({ status: "accepted", detail: ACCEPTED }, 202),
    });
    renderAt("/forgot-password", <ForgotPasswordPage />);
    await userEvent.type(screen.getByLabelText("Email"), "nobody@example.com");
    await userEvent.click(screen.getByRole("button", { name: "Send the link" }));
    expect(await screen.findByText(ACCEPTED)).toBeInTheDocument();
    expect(api.bodies("POST /auth/password-reset")).toEqual([{ email: "nobody@example.com" }]);
  });

  it("says when to ask again after the limit", async () => {
    stubApi({
      "POST /auth/password-reset": () =>
        problem(429, "rate_limited", "Too many requests.", { headers: { "Retry-After": "3000" } }),
    });
    renderAt("/forgot-password", <ForgotPasswordPage />);
    await userEvent.type(screen.getByLabelText("Email"), "ann@example.com");
    await userEvent.click(screen.getByRole("button", { name: "Send the link" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Try again in 50 minutes.");
  });
});
