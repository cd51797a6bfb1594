import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import { session } from "../../lib/api";
import { stubApi } from "../../test/fakeApi";
import { json, makePair, makeUser, problem } from "../../test/fixtures";
import { renderAt } from "../../test/render";
import LoginPage from "./LoginPage";

async function logIn(email = "ann@example.com", password = "violet-harbour-71") {
  const user = userEvent.setup();
  await user.type(screen.getByLabelText("Email"), email);
  await user.type(screen.getByLabelText("Password"), password);
  await user.click(screen.getByRole("button", { name: "Log in" }));
}

describe("LoginPage", () => {
  beforeEach(() => {
    session.signOut();
  });

  it("says a 401 is a wrong email or password, and stays on the page", async () => {
    const api = stubApi({
      "POST /auth/login": () => problem(401, "invalid_credentials", "The email or password is wrong."),
    });
    const { history } = renderAt("/login?next=/p/42", <LoginPage />);
    await logIn("ann@example.com", "wrong-password");
    expect(await screen.findByRole("alert")).toHaveTextContent("Email or password is wrong.");
    expect(api.bodies("POST /auth/login")).toEqual([{ email: "ann@example.com", password: "wrong-password" }]);
    expect(history).toEqual(["/login?next=/p/42"]);
    expect(session.state.status).toBe("anonymous");
    expect(screen.getByRole("button", { name: "Log in" })).toBeEnabled();
  });

  it("signs in and goes to next, keeping no token in storage", async () => {
    const pair = makePair(1, 900, makeUser({ username: "ann" }));
    stubApi({ "POST /auth/login": () => json(pair) });
    const { history } = renderAt(`/login?next=${encodeURIComponent("/p/42?from=feed")}`, <LoginPage />);
    await logIn();
    await waitFor(() => expect(history.at(-1)).toBe("/p/42?from=feed"));
    expect(session.state).toEqual({ status: "signed-in", user: pair.user });
    expect(session.currentToken).toBe("access-1");
    const stored = JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage });
    expect(stored).not.toContain("access-1");
    expect(stored).not.toContain("refresh-1");
  });

  it.each(["//evil.com", "https://evil.com/p/1", "/\\evil.com"])("refuses next=%s and goes to the feed", async (next) => {
    stubApi({ "POST /auth/login": () => json(makePair(1)) });
    const { history } = renderAt(`/login?next=${encodeURIComponent(next)}`, <LoginPage />);
    await logIn();
    await waitFor(() => expect(history.at(-1)).toBe("/"));
  });

  it("goes to the feed without next", async () => {
    stubApi({ "POST /auth/login": () => json(makePair(1)) });
    const { history } = renderAt("/login", <LoginPage />);
    await logIn();
    await waitFor(() => expect(history.at(-1)).toBe("/"));
  });

  it("says a disabled account is disabled", async () => {
    stubApi({ "POST /auth/login": () => problem(403, "account_disabled", "This account is disabled.") });
    renderAt("/login", <LoginPage />);
    await logIn();
    expect(await screen.findByRole("alert")).toHaveTextContent("This account is disabled.");
  });

  it("says when a throttled address can try again, and how to get in meanwhile", async () => {
    stubApi({
      "POST /auth/login": () =>
        problem(
          429,
          "login_throttled",
          "Too many failed sign-ins for this email address. Try again later, sign in on a device you have used before, or reset the password.",
          { headers: { "Retry-After": "900" } },
        ),
    });
    renderAt("/login", <LoginPage />);
    await logIn();
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("sign in on a device you have used before, or reset the password.");
    expect(alert).toHaveTextContent("Try again in 15 minutes.");
  });

  it("says when to retry after too many attempts", async () => {
    stubApi({
      "POST /auth/login": () => problem(429, "rate_limited", "Too many requests.", { headers: { "Retry-After": "42" } }),
    });
    renderAt("/login", <LoginPage />);
    await logIn();
    expect(await screen.findByRole("alert")).toHaveTextContent("Try again in 42 seconds.");
  });

  it("links to the password reset and to sign-up", () => {
    renderAt("/login", <LoginPage />);
    expect(screen.getByRole("link", { name: "Forgot password?" })).toHaveAttribute("href", "/forgot-password");
    expect(screen.getByRole("link", { name: "Sign up" })).toHaveAttribute("href", "/signup");
  });

  it("sends a signed-in visitor straight on to next", async () => {
    session.accept(makePair(1));
    const { history } = renderAt("/login?next=/settings", <LoginPage />);
    await waitFor(() => expect(history.at(-1)).toBe("/settings"));
  });
});
