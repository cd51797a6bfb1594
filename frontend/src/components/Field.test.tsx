import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { createRef, useState } from "react";
import { describe, expect, it, vi } from "vitest";
import { EmailField, PasswordField, TextField } from "./Field";
import { FormAlert, SubmitButton } from "./Form";

function Controlled({ onChange, error }: { onChange: (value: string) => void; error?: string }) {
  const [value, setValue] = useState("");
  return (
    <TextField
      label="Email"
      hint="The one you signed up with."
      error={error}
      type="email"
      name="email"
      autoComplete="email"
      required
      value={value}
      onChange={(next) => {
        setValue(next);
        onChange(next);
      }}
    />
  );
}

describe("TextField", () => {
  it("ties its label and hint to the input and passes the input's attributes on", () => {
    render(<Controlled onChange={() => undefined} />);
    const input = screen.getByRole("textbox", { name: "Email" });
    expect(input).toHaveAccessibleDescription("The one you signed up with.");
    expect(input).toHaveAttribute("type", "email");
    expect(input).toHaveAttribute("name", "email");
    expect(input).toHaveAttribute("autocomplete", "email");
    expect(input).toBeRequired();
    expect(input).toHaveAttribute("aria-invalid", "false");
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
  });

  it("announces its error and adds it to the input's description", () => {
    render(<Controlled onChange={() => undefined} error="Email is already taken." />);
    const input = screen.getByLabelText("Email");
    expect(screen.getByRole("alert")).toHaveTextContent("Email is already taken.");
    expect(input).toHaveAccessibleDescription("The one you signed up with. Email is already taken.");
    expect(input).toHaveAttribute("aria-invalid", "true");
  });

  it("gives onChange the input's text", async () => {
    const onChange = vi.fn();
    render(<Controlled onChange={onChange} />);
    await userEvent.type(screen.getByLabelText("Email"), "ab");
    expect(onChange.mock.calls).toEqual([["a"], ["ab"]]);
    expect(screen.getByLabelText("Email")).toHaveValue("ab");
  });

  it("hands its ref to the input", () => {
    const ref = createRef<HTMLInputElement>();
    render(<TextField ref={ref} label="Title" value="" onChange={() => undefined} />);
    expect(ref.current).toBe(screen.getByLabelText("Title"));
  });
});

describe("EmailField and PasswordField", () => {
  it("give the input the attributes browsers and password managers expect", () => {
    render(
      <>
        <EmailField label="Email" value="" onChange={() => undefined} />
        <PasswordField label="New password" name="new_password" autoComplete="new-password" value="" onChange={() => undefined} />
      </>,
    );
    const email = screen.getByRole("textbox", { name: "Email" });
    expect(email).toHaveAttribute("type", "email");
    expect(email).toHaveAttribute("name", "email");
    expect(email).toHaveAttribute("autocomplete", "email");
    expect(email).toBeRequired();
    const password = screen.getByLabelText("New password");
    expect(password).toHaveAttribute("type", "password");
    expect(password).toHaveAttribute("name", "new_password");
    expect(password).toHaveAttribute("autocomplete", "new-password");
    expect(password).toBeRequired();
  });
});

describe("FormAlert", () => {
  it("says nothing without a message and announces one", () => {
    const { rerender } = render(<FormAlert>{null}</FormAlert>);
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
    rerender(<FormAlert>Email or password is wrong.</FormAlert>);
    expect(screen.getByRole("alert")).toHaveTextContent("Email or password is wrong.");
  });
});

describe("SubmitButton", () => {
  it("submits its form, and while busy is disabled and says so", async () => {
    const onSubmit = vi.fn((event: { preventDefault(): void }) => event.preventDefault());
    const { rerender } = render(
      <form onSubmit={onSubmit}>
        <SubmitButton busy={false} busyLabel="Saving…">
          Save
        </SubmitButton>
      </form>,
    );
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(onSubmit).toHaveBeenCalledTimes(1);
    rerender(
      <form onSubmit={onSubmit}>
        <SubmitButton busy busyLabel="Saving…">
          Save
        </SubmitButton>
      </form>,
    );
    expect(screen.getByRole("button", { name: "Saving…" })).toBeDisabled();
  });
});
