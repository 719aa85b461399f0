import { useState } from "react";
import { Button, ErrorBox, Field, inputClass, Modal } from "./ui";

/** A deletion that needs its target's name typed first. */
export function ConfirmDelete({
  what,
  name,
  consequence,
  onClose,
  onConfirm,
  pending,
  error,
}: {
  what: string;
  name: string;
  consequence: string;
  onClose: () => void;
  onConfirm: () => void;
  pending: boolean;
  error: unknown;
}) {
  const [typed, setTyped] = useState("");
  return (
    <Modal
      title={`Delete ${what}`}
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button variant="danger" disabled={typed !== name || pending} onClick={onConfirm}>
            {pending ? "Deleting…" : "Delete"}
          </Button>
        </>
      }
    >
      <p className="text-sm">{consequence} This cannot be undone.</p>
      <Field label={`Type ${name} to confirm`}>
        {(id) => <input id={id} className={inputClass} value={typed} onChange={(e) => setTyped(e.target.value)} autoFocus />}
      </Field>
      <ErrorBox error={error} />
    </Modal>
  );
}
