import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import { session } from "../../lib/api";
import type { User } from "../../lib/session";
import { stubApi, type Seen } from "../../test/fakeApi";
import { json, makePair, makeUser, problem } from "../../test/fixtures";
import { renderAt } from "../../test/render";
import AdminUsersPage from "./AdminUsersPage";

const ANN = makeUser({ id: "u1", username: "ann", email: "ann@example.com", roles: ["admin", "user"] });
const BOB = makeUser({ id: "u2", username: "bob", email: "bob@example.com", display_name: "Bob" });
const CAT = makeUser({ id: "u3", username: "cat", email: "cat@example.com", disabled: true, email_verified: false });

/** PATCH /admin/users/{id} as the API does it: the changed account comes back. */
function patched(users: User[]) {
  return (_request: Request, seen: Seen) => {
    const id = seen.path.split("/").at(-1);
    const user = users.find((u) => u.id === id)!;
    const body = JSON.parse(seen.body) as Partial<User>;
    return json({ ...user, ...body, roles: body.roles ? [...new Set([...body.roles, "user"])].sort() : user.roles });
  };
}

function row(name: string) {
  return screen.getByRole("link", { name }).closest("tr")!;
}

describe("AdminUsersPage", () => {
  beforeEach(() => {
    session.accept(makePair(1, 900, ANN));
  });

  it("lists the accounts with their state", async () => {
    const api = stubApi({ "GET /admin/users": () => json({ items: [CAT, BOB, ANN], next_cursor: null }) });
    renderAt("/admin/users", <AdminUsersPage />);
    const table = await screen.findByRole("table");
    expect(within(table).getAllByRole("row")).toHaveLength(4);
    const cat = within(row("cat"));
    expect(cat.getByText("cat@example.com")).toBeInTheDocument();
    expect(cat.getByRole("button", { name: "Enable cat" })).toBeInTheDocument();
    expect(cat.getByRole("button", { name: "Grant admin to cat" })).toBeInTheDocument();
    expect(within(row("ann")).getByRole("button", { name: "Revoke admin from ann" })).toBeInTheDocument();
    expect(within(row("ann")).getByText("admin, user")).toBeInTheDocument();
    expect(api.calls("GET /admin/users")[0]!.query.get("cursor")).toBeNull();
  });

  it("disables and enables an account with PATCH {disabled}, showing the answer", async () => {
    const api = stubApi({
      "GET /admin/users": () => json({ items: [BOB], next_cursor: null }),
      "PATCH /admin/users/u2": [patched([BOB]), patched([{ ...BOB, disabled: true }])],
    });
    renderAt("/admin/users", <AdminUsersPage />);
    await userEvent.click(await screen.findByRole("button", { name: "Disable bob" }));
    expect(await screen.findByRole("button", { name: "Enable bob" })).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Enable bob" }));
    expect(await screen.findByRole("button", { name: "Disable bob" })).toBeInTheDocument();
    expect(api.bodies("PATCH /admin/users/u2")).toEqual([{ disabled: true }, { disabled: false }]);
  });

  it("grants and revokes admin with PATCH {roles}", async () => {
    const api = stubApi({
      "GET /admin/users": () => json({ items: [BOB], next_cursor: null }),
      "PATCH /admin/users/u2": [patched([BOB]), patched([{ ...BOB, roles: ["admin", "user"] }])],
    });
    renderAt("/admin/users", <AdminUsersPage />);
    await userEvent.click(await screen.findByRole("button", { name: "Grant admin to bob" }));
    expect(await within(row("bob")).findByText("admin, user")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Revoke admin from bob" }));
    expect(await screen.findByRole("button", { name: "Grant admin to bob" })).toBeInTheDocument();
    expect(api.bodies("PATCH /admin/users/u2")).toEqual([{ roles: ["user", "admin"] }, { roles: ["user"] }]);
  });

  it("shows a refusal in the row it belongs to", async () => {
    stubApi({
      "GET /admin/users": () => json({ items: [BOB, ANN], next_cursor: null }),
      "PATCH /admin/users/u1": () =>
        problem(409, "cannot_change_self", "Administrators cannot disable or demote themselves."),
    });
    renderAt("/admin/users", <AdminUsersPage />);
    await userEvent.click(await screen.findByRole("button", { name: "Revoke admin from ann" }));
    expect(await within(row("ann")).findByRole("alert")).toHaveTextContent(
      "Administrators cannot disable or demote themselves.",
    );
    expect(within(row("bob")).queryByRole("alert")).not.toBeInTheDocument();
    expect(within(row("ann")).getByRole("button", { name: "Revoke admin from ann" })).toBeEnabled();
  });

  it("pages forward by cursor and back through the cursors seen", async () => {
    const api = stubApi({
      "GET /admin/users": (_request, seen) => {
        const cursor = seen.query.get("cursor");
        if (cursor === null) return json({ items: [ANN], next_cursor: "c2" });
        if (cursor === "c2") return json({ items: [BOB], next_cursor: "c3" });
        return json({ items: [CAT], next_cursor: null });
      },
    });
    renderAt("/admin/users", <AdminUsersPage />);
    await screen.findByRole("link", { name: "ann" });
    expect(screen.getByRole("button", { name: "Previous page" })).toBeDisabled();

    await userEvent.click(screen.getByRole("button", { name: "Next page" }));
    await screen.findByRole("link", { name: "bob" });
    await userEvent.click(screen.getByRole("button", { name: "Next page" }));
    await screen.findByRole("link", { name: "cat" });
    expect(screen.getByRole("button", { name: "Next page" })).toBeDisabled();

    await userEvent.click(screen.getByRole("button", { name: "Previous page" }));
    await screen.findByRole("link", { name: "bob" });
    await userEvent.click(screen.getByRole("button", { name: "Previous page" }));
    await screen.findByRole("link", { name: "ann" });
    await waitFor(() => expect(screen.getByRole("button", { name: "Previous page" })).toBeDisabled());
    expect(api.calls("GET /admin/users").map((s) => s.query.get("cursor"))).toEqual([null, "c2", "c3", "c2", null]);
  });

  it("offers to try again when the list fails", async () => {
    stubApi({
      "GET /admin/users": [
        () => problem(503, "unavailable", "The database is not answering."),
        () => json({ items: [BOB], next_cursor: null }),
      ],
    });
    renderAt("/admin/users", <AdminUsersPage />);
    expect(await screen.findByRole("alert")).toHaveTextContent("briefly unavailable");
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByRole("link", { name: "bob" })).toBeInTheDocument();
  });
});
