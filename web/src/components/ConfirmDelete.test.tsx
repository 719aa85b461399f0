import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import { ConfirmDelete } from "./ConfirmDelete";

describe("ConfirmDelete", () => {
  it("deletes only once the name is typed", () => {
    const onConfirm = vi.fn();
    render(<ConfirmDelete what="topic orders" name="orders" consequence="Gone." onClose={() => {}} onConfirm={onConfirm} pending={false} error={null} />);
    const button = screen.getByRole("button", { name: "Delete", hidden: true }) as HTMLButtonElement;
    expect(button.disabled).toBe(true);
    fireEvent.change(screen.getByLabelText("Type orders to confirm"), { target: { value: "order" } });
    expect(button.disabled).toBe(true);
    fireEvent.change(screen.getByLabelText("Type orders to confirm"), { target: { value: "orders" } });
    expect(button.disabled).toBe(false);
    fireEvent.click(button);
    expect(onConfirm).toHaveBeenCalledOnce();
  });
});
