import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import { session } from "../../lib/api";
import { stubApi } from "../../test/fakeApi";
import { makePair, noContent, problem } from "../../test/fixtures";
import { renderAt } from "../../test/render";
import ResetPasswordPage from "./ResetPasswordPage";

async function choose(password: string, confirm = password) {
  const user = userEvent.setup();
  await user.type(screen.getByLabelText("New password"), password);
  await user.type(screen.getByLabelText("Confirm password"), confirm);
  await user.click(screen.getByRole("button", { name: "Change password" }));
}

describe("ResetPasswordPage", () => {
  beforeEach(() => {
    session.signOut();
  });

  it("sets the new password with the link's token, then offers to log in", async () => {
    const api = stubApi({ "POST /auth/password-reset/confirm": () => noContent() });
    renderAt("/reset-password?token=tok-1", <ResetPasswordPage />);
    await choose("a-much-better-one-42");
    expect(await screen.findByRole("heading", { level: 1, name: "Password changed" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Log in" })).toHaveAttribute("href", "/login");
    expect(api.bodies("POST /auth/password-reset/confirm")).toEqual([
      { token: "tok-1", password: "a-much-better-one-42" },
    ]);
  });

  it("signs this tab out: the reset ended every session", async () => {
    session.accept(makePair(1));
    stubApi({ "POST /auth/password-reset/confirm": () => noContent() });
    renderAt("/reset-password?token=tok-2", <ResetPasswordPage />);
    await choose("a-much-better-one-42");
    await screen.findByRole("heading", { level: 1, name: "Password changed" });
    expect(session.state.status).toBe("anonymous");
  });

  it("checks that the two passwords match before sending anything", async () => {
    const api = stubApi({});
    renderAt("/reset-password?token=tok-3", <ResetPasswordPage />);
    await choose("a-much-better-one-42", "a-much-better-one-43");
    expect(screen.getByLabelText("Confirm password")).toHaveAccessibleDescription("The two passwords differ.");
    expect(api.seen).toHaveLength(0);
  });

  it("refuses a short password before sending it (the API would spend the link on it)", async () => {
    const api = stubApi({});
    renderAt("/reset-password?token=tok-4", <ResetPasswordPage />);
    await choose("short");
    expect(screen.getByLabelText("New password")).toHaveAccessibleDescription(
      /New password must be at least 10 characters\./,
    );
    expect(api.seen).toHaveLength(0);
  });

  it("puts the API's 422 beside the new password", async () => {
    stubApi({
      "POST /auth/password-reset/confirm": () =>
        problem(422, "invalid_input", "Invalid value for: password", {
          errors: [{ field: "password", message: "is too common; choose something less guessable" }],
        }),
    });
    renderAt("/reset-password?token=tok-5", <ResetPasswordPage />);
    await choose("password1234");
    expect(await screen.findByText("New password is too common; choose something less guessable.")).toBeInTheDocument();
    expect(screen.getByLabelText("New password")).toHaveAttribute("aria-invalid", "true");
  });

  it("explains a bad link and links to a new one", async () => {
    stubApi({
      "POST /auth/password-reset/confirm": () =>
        problem(422, "invalid_input", "token: is invalid, expired or already used", {
          errors: [{ field: "token", message: "is invalid, expired or already used" }],
        }),
    });
    renderAt("/reset-password?token=tok-6", <ResetPasswordPage />);
    await choose("a-much-better-one-42");
    expect(await screen.findByText("This reset link is invalid, has expired or was already used.")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Request a new link" })).toHaveAttribute("href", "/forgot-password");
  });

  it("without a token, says so and links to a new one", () => {
    renderAt("/reset-password", <ResetPasswordPage />);
    expect(screen.getByRole("link", { name: "Request a new link" })).toBeInTheDocument();
    expect(screen.queryByLabelText("New password")).not.toBeInTheDocument();
  });
});
