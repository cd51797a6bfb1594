import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import { session } from "../../lib/api";
import { stubApi } from "../../test/fakeApi";
import { json, makeUser, problem } from "../../test/fixtures";
import { renderAt } from "../../test/render";
import SignupPage from "./SignupPage";

async function signUp() {
  const user = userEvent.setup();
  await user.type(screen.getByLabelText("Email"), "ann@example.com");
  await user.type(screen.getByLabelText("Username"), "ann");
  await user.type(screen.getByLabelText("Password"), "violet-harbour-71");
  await user.click(screen.getByRole("button", { name: "Create account" }));
}

describe("SignupPage", () => {
  beforeEach(() => {
    session.signOut();
  });

  it("shows the password rules with the password field", () => {
    renderAt("/signup", <SignupPage />);
    expect(screen.getByLabelText("Password")).toHaveAccessibleDescription(
      "At least 10 characters, not a common password, and not your email address or username.",
    );
  });

  it("puts a 409 email_taken beside Email", async () => {
    stubApi({ "POST /auth/register": () => problem(409, "email_taken", "That email is already registered.") });
    renderAt("/signup", <SignupPage />);
    await signUp();
    const email = screen.getByLabelText("Email");
    expect(await screen.findByText("That email is already registered.")).toBeInTheDocument();
    expect(email).toHaveAttribute("aria-invalid", "true");
    expect(email).toHaveAccessibleDescription("That email is already registered.");
    expect(screen.getByLabelText("Username")).toHaveAttribute("aria-invalid", "false");
  });

  it("puts a 409 username_taken beside Username", async () => {
    stubApi({ "POST /auth/register": () => problem(409, "username_taken", "That username is already registered.") });
    renderAt("/signup", <SignupPage />);
    await signUp();
    await screen.findByText("That username is already registered.");
    expect(screen.getByLabelText("Username")).toHaveAccessibleDescription(
      /3–30 characters.*That username is already registered\./,
    );
  });

  it("puts each 422 error beside its field", async () => {
    stubApi({
      "POST /auth/register": () =>
        problem(422, "invalid_input", "Invalid value for: email, username, password", {
          errors: [
            { field: "email", message: "An email address must have an @-sign." },
            { field: "username", message: "must be 3-30 characters of a-z, 0-9 and underscore" },
            { field: "password", message: "is too common; choose something less guessable" },
          ],
        }),
    });
    renderAt("/signup", <SignupPage />);
    await signUp();
    expect(await screen.findByText("An email address must have an @-sign.")).toBeInTheDocument();
    expect(screen.getByLabelText("Username")).toHaveAccessibleDescription(
      /Username must be 3-30 characters of a-z, 0-9 and underscore\./,
    );
    expect(screen.getByLabelText("Password")).toHaveAccessibleDescription(
      /Password is too common; choose something less guessable\./,
    );
  });

  it("on 201 says to check the email, offers to log in, and does not sign in", async () => {
    const api = stubApi({
      "POST /auth/register": () => json({ user: makeUser({ email: "ann@example.com", email_verified: false }) }, 201),
    });
    renderAt("/signup", <SignupPage />);
    await signUp();
    expect(await screen.findByRole("heading", { level: 1, name: "Check your email" })).toBeInTheDocument();
    expect(screen.getByText("ann@example.com")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Log in" })).toHaveAttribute("href", "/login");
    expect(api.bodies("POST /auth/register")).toEqual([
      { email: "ann@example.com", username: "ann", password: "violet-harbour-71" },
    ]);
    expect(session.state.status).toBe("anonymous");
  });

  it("says when to retry after the sign-up limit", async () => {
    stubApi({
      "POST /auth/register": () => problem(429, "rate_limited", "Too many requests.", { headers: { "Retry-After": "1800" } }),
    });
    renderAt("/signup", <SignupPage />);
    await signUp();
    expect(await screen.findByRole("alert")).toHaveTextContent("Try again in 30 minutes.");
  });
});
