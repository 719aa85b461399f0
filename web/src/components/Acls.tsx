import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ApiError } from "../lib/api";
import type { Acl } from "../lib/types";
import { Badge, Button, Card, cx, Empty, ErrorBox, Field, inputClass, Loading, Modal, Table, td, th } from "./ui";

// The operations each resource type has (Kafka's, as broker/acls.py lists them).
const OPERATIONS: Record<string, string[]> = {
  TOPIC: ["ALL", "READ", "WRITE", "CREATE", "DESCRIBE", "DELETE", "ALTER", "DESCRIBE_CONFIGS", "ALTER_CONFIGS"],
  GROUP: ["ALL", "READ", "DESCRIBE", "DELETE"],
  CLUSTER: ["ALL", "CREATE", "CLUSTER_ACTION", "DESCRIBE_CONFIGS", "ALTER_CONFIGS", "IDEMPOTENT_WRITE", "ALTER", "DESCRIBE"],
  TRANSACTIONAL_ID: ["ALL", "DESCRIBE", "WRITE"],
};

const key = (a: Acl) => [a.resource_type, a.resource_name, a.pattern_type, a.principal, a.host, a.operation, a.permission].join("|");

export function Acls({ canChange }: { canChange: boolean }) {
  const qc = useQueryClient();
  const [adding, setAdding] = useState(false);
  const acls = useQuery({ queryKey: ["acls"], queryFn: () => api.get<Acl[]>("/api/v1/acls") });
  const remove = useMutation({
    mutationFn: (a: Acl) =>
      api.del(
        `/api/v1/acls?${new URLSearchParams({
          resource_type: a.resource_type,
          resource_name: a.resource_name,
          pattern_type: a.pattern_type,
          principal: a.principal,
          host: a.host,
          operation: a.operation,
          permission: a.permission,
        })}`,
      ),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["acls"] }),
  });
  const disabled = acls.error instanceof ApiError && acls.error.status === 409;
  return (
    <Card title="ACLs" className="mt-4" actions={canChange && !disabled && <Button onClick={() => setAdding(true)}>Add ACL</Button>}>
      {disabled ? (
        <Empty>No ACLs while logins are off: every port is open (start the agent with --admin-key-file).</Empty>
      ) : acls.isPending ? (
        <Loading />
      ) : acls.error ? (
        <ErrorBox error={acls.error} />
      ) : acls.data.length === 0 ? (
        <Empty>No ACLs: each key does what its scope allows.</Empty>
      ) : (
        <Table label="ACLs">
          <thead>
            <tr>
              {["Principal", "Permission", "Operation", "Resource", "Host"].map((h) => (
                <th key={h} className={th}>
                  {h}
                </th>
              ))}
              {canChange && <th className={th}><span className="sr-only">Actions</span></th>}
            </tr>
          </thead>
          <tbody>
            {acls.data.map((a) => (
              <tr key={key(a)}>
                <td className={cx(td, "font-mono text-xs")}>{a.principal}</td>
                <td className={td}>
                  <Badge tone={a.permission === "ALLOW" ? "good" : "bad"}>{a.permission}</Badge>
                </td>
                <td className={td}>{a.operation}</td>
                <td className={td}>
                  {a.resource_type} <code>{a.resource_name}</code>
                  {a.pattern_type === "PREFIXED" && <span className="text-muted"> (prefix)</span>}
                </td>
                <td className={cx(td, "font-mono text-xs")}>{a.host}</td>
                {canChange && (
                  <td className={cx(td, "text-right")}>
                    <Button variant="ghost" aria-label={`Remove ACL ${a.principal} ${a.operation} ${a.resource_name}`} onClick={() => remove.mutate(a)}>
                      Remove
                    </Button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </Table>
      )}
      <ErrorBox error={remove.error} />
      {adding && <AddAcl onClose={() => setAdding(false)} />}
    </Card>
  );
}

function AddAcl({ onClose }: { onClose: () => void }) {
  const qc = useQueryClient();
  const [acl, setAcl] = useState<Acl>({
    resource_type: "TOPIC",
    resource_name: "",
    pattern_type: "LITERAL",
    principal: "User:",
    host: "*",
    operation: "READ",
    permission: "ALLOW",
  });
  const set = (k: keyof Acl, v: string) => setAcl((a) => ({ ...a, [k]: v }));
  const add = useMutation({
    mutationFn: () => api.post<Acl[]>("/api/v1/acls", [acl]),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ["acls"] });
      onClose();
    },
  });
  const select = (k: keyof Acl, label: string, options: string[]) => (
    <Field label={label}>
      {(id) => (
        <select id={id} className={inputClass} value={acl[k]} onChange={(e) => set(k, e.target.value)}>
          {options.map((o) => (
            <option key={o}>{o}</option>
          ))}
        </select>
      )}
    </Field>
  );
  return (
    <Modal
      title="Add an ACL"
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button variant="primary" onClick={() => add.mutate()} disabled={add.isPending}>
            Add
          </Button>
        </>
      }
    >
      <Field label="Principal" hint="User:<key id or SCRAM user>, or User:* for everyone">
        {(id) => <input id={id} className={cx(inputClass, "font-mono")} value={acl.principal} onChange={(e) => set("principal", e.target.value)} />}
      </Field>
      <div className="grid grid-cols-2 gap-3">
        {select("permission", "Permission", ["ALLOW", "DENY"])}
        {select("resource_type", "Resource type", Object.keys(OPERATIONS))}
        {select("operation", "Operation", OPERATIONS[acl.resource_type] ?? ["ALL"])}
        {select("pattern_type", "Pattern", ["LITERAL", "PREFIXED"])}
      </div>
      <Field label="Resource name" hint={acl.resource_type === "CLUSTER" ? "kafka-cluster" : "a name, a prefix, or * for all"}>
        {(id) => <input id={id} className={cx(inputClass, "font-mono")} value={acl.resource_name} onChange={(e) => set("resource_name", e.target.value)} />}
      </Field>
      <Field label="Host" hint="* or an IP address">
        {(id) => <input id={id} className={cx(inputClass, "font-mono")} value={acl.host} onChange={(e) => set("host", e.target.value)} />}
      </Field>
      <ErrorBox error={add.error} />
    </Modal>
  );
}
