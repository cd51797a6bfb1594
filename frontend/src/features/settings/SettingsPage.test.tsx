import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import { session } from "../../lib/api";
import { stubApi } from "../../test/fakeApi";
import { json, makePair, makeUser, noContent, problem } from "../../test/fixtures";
import { renderAt } from "../../test/render";
import SettingsPage from "./SettingsPage";

const ANN = makeUser();

describe("SettingsPage", () => {
  beforeEach(() => {
    session.accept(makePair(1, 900, ANN));
  });

  it("shows the account and refreshes it from the API", async () => {
    session.updateUser(makeUser({ email_verified: false }));
    stubApi({ "GET /users/me": () => json(makeUser({ email_verified: true })) });
    renderAt("/settings", <SettingsPage />);
    const account = screen.getByRole("region", { name: "Account" });
    expect(within(account).getByText("ann@example.com")).toBeInTheDocument();
    expect(within(account).getByRole("link", { name: "ann" })).toHaveAttribute("href", "/u/ann");
    expect(within(account).getByText("Not verified")).toBeInTheDocument();
    expect(await within(account).findByText("Verified")).toBeInTheDocument();
  });

  it("resends the verification link while the address is unverified", async () => {
    const unverified = makeUser({ email_verified: false });
    session.updateUser(unverified);
    const api = stubApi({
      "GET /users/me": () => json(unverified),
      "POST /auth/verify-email/resend": () => noContent(),
    });
    renderAt("/settings", <SettingsPage />);
    await userEvent.click(screen.getByRole("button", { name: "Resend the verification link" }));
    expect(await screen.findByText("Sent: check your inbox.")).toBeInTheDocument();
    expect(api.calls("POST /auth/verify-email/resend")).toHaveLength(1);
  });

  it("saves the display name and bio, and the session shows them", async () => {
    const api = stubApi({
      "GET /users/me": () => json(ANN),
      "PATCH /users/me": (_request, seen) => json({ ...ANN, ...(JSON.parse(seen.body) as object) }),
    });
    renderAt("/settings", <SettingsPage />);
    const name = screen.getByLabelText("Display name");
    expect(name).toHaveValue("Ann Okafor");
    await userEvent.clear(name);
    await userEvent.type(name, "Ann O.");
    await userEvent.clear(screen.getByLabelText("Bio"));
    await userEvent.type(screen.getByLabelText("Bio"), "Boats.");
    await userEvent.click(screen.getByRole("button", { name: "Save profile" }));
    expect(await screen.findByText("Profile saved.")).toBeInTheDocument();
    expect(api.bodies("PATCH /users/me")).toEqual([{ display_name: "Ann O.", bio: "Boats." }]);
    expect(session.state.user?.display_name).toBe("Ann O.");
  });

  it("puts a 422 on the profile beside its field", async () => {
    stubApi({
      "GET /users/me": () => json(ANN),
      "PATCH /users/me": () =>
        problem(422, "invalid_input", "Invalid value for: display_name", {
          errors: [{ field: "display_name", message: "String should have at most 50 characters" }],
        }),
    });
    renderAt("/settings", <SettingsPage />);
    await userEvent.click(screen.getByRole("button", { name: "Save profile" }));
    await waitFor(() =>
      expect(screen.getByLabelText("Display name")).toHaveAccessibleDescription(
        /String should have at most 50 characters\./,
      ),
    );
  });

  it("changes the password and says the other sessions ended", async () => {
    const api = stubApi({ "GET /users/me": () => json(ANN), "POST /users/me/password": () => noContent() });
    renderAt("/settings", <SettingsPage />);
    await userEvent.type(screen.getByLabelText("Current password"), "violet-harbour-71");
    await userEvent.type(screen.getByLabelText("New password"), "a-much-better-one-42");
    await userEvent.click(screen.getByRole("button", { name: "Change password" }));
    expect(await screen.findByText(/Your password was changed\. Your other sessions were signed out/)).toBeInTheDocument();
    expect(api.bodies("POST /users/me/password")).toEqual([
      { current_password: "violet-harbour-71", new_password: "a-much-better-one-42" },
    ]);
    expect(screen.getByLabelText("Current password")).toHaveValue("");
    expect(session.state.status).toBe("signed-in");
  });

  it("puts a wrong current password beside Current password", async () => {
    stubApi({
      "GET /users/me": () => json(ANN),
      "POST /users/me/password": () =>
        problem(422, "invalid_input", "current_password: is wrong", {
          errors: [{ field: "current_password", message: "is wrong" }],
        }),
    });
    renderAt("/settings", <SettingsPage />);
    await userEvent.type(screen.getByLabelText("Current password"), "nope-nope-nope");
    await userEvent.type(screen.getByLabelText("New password"), "a-much-better-one-42");
    await userEvent.click(screen.getByRole("button", { name: "Change password" }));
    expect(await screen.findByText("Current password is wrong.")).toBeInTheDocument();
    expect(screen.getByLabelText("Current password")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByLabelText("New password")).toHaveAttribute("aria-invalid", "false");
  });
});
