import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, enc } from "../lib/api";
import { useAuth } from "../lib/auth";
import { bytes, count, isoTime } from "../lib/format";
import type { ApiKey, Organization, Usage } from "../lib/types";
import { Badge, Button, Card, cx, Empty, ErrorBox, Field, inputClass, Loading, Modal, Page, Stat, Table, td, th } from "../components/ui";
import { Acls } from "../components/Acls";

interface Quotas {
  org_id: string;
  quotas: Record<string, Record<string, number>>;
}

// broker/quotas.py's names: counts, then rates.
const LIMITS: [string, string, (v: number) => string][] = [
  ["topics", "topics", (v) => count(v)],
  ["partitions", "partitions", (v) => count(v)],
  ["storage_bytes", "storage", (v) => bytes(v)],
  ["connections", "connections", (v) => count(v)],
  ["producer_byte_rate", "produce rate", (v) => `${bytes(v)}/s`],
  ["consumer_byte_rate", "fetch rate", (v) => `${bytes(v)}/s`],
  ["request_rate", "request time", (v) => `${v}%`],
];

export default function Organizations() {
  const { me } = useAuth();
  const isAdmin = !me.auth || me.platform_admin || me.scope === "admin";
  const org = useQuery({
    queryKey: ["organization", me.org_id],
    queryFn: () => api.get<Organization>(`/api/v1/organizations/${enc(me.org_id)}`),
  });
  const usage = useQuery({
    queryKey: ["usage", me.org_id],
    queryFn: () => api.get<Usage>(`/api/v1/organizations/${enc(me.org_id)}/usage`),
    refetchInterval: 5_000,
  });
  const quotas = useQuery({
    queryKey: ["quotas", me.org_id],
    queryFn: () => api.get<Quotas>(`/api/v1/organizations/${enc(me.org_id)}/quotas`),
  });
  const own = quotas.data?.quotas[""] ?? {};
  const used: Record<string, number> = {
    topics: usage.data?.topics ?? 0,
    partitions: usage.data?.partitions ?? 0,
    storage_bytes: usage.data?.storage_bytes ?? 0,
  };
  return (
    <Page title="Organization" subtitle={org.data ? `${org.data.name || org.data.slug} · plan ${org.data.plan}` : undefined}>
      <ErrorBox error={org.error ?? usage.error} />
      {org.data && (
        <div className="mb-4 grid grid-cols-2 gap-3 md:grid-cols-4">
          <Stat label="Slug" value={<code className="text-lg">{org.data.slug}</code>} />
          <Stat label="Status" value={<Badge tone={org.data.status === "active" ? "good" : "bad"}>{org.data.status}</Badge>} />
          <Stat label="Records" value={count(usage.data?.records)} />
          <Stat label="Created" value={<span className="text-base">{isoTime(org.data.created_at).slice(0, 10)}</span>} />
        </div>
      )}
      <Card title="Quotas and usage" className="mb-4">
        <ErrorBox error={quotas.error} />
        <Table label="Quotas">
          <thead>
            <tr>
              <th className={th}>Quota</th>
              <th className={th}>Used</th>
              <th className={th}>Limit</th>
              <th className={th}>
                <span className="sr-only">Share used</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {LIMITS.map(([name, label, fmt]) => {
              const limit = own[name];
              const u = used[name];
              const share = limit && u != null ? Math.min(1, u / limit) : null;
              return (
                <tr key={name}>
                  <td className={td}>
                    {label} <code className="text-xs text-muted">{name}</code>
                  </td>
                  <td className={cx(td, "tabular-nums")}>{u != null ? fmt(u) : "–"}</td>
                  <td className={cx(td, "tabular-nums")}>{limit != null ? fmt(limit) : "no limit"}</td>
                  <td className={cx(td, "w-40")}>
                    {share != null && (
                      <div className="h-2 rounded bg-subtle" role="meter" aria-valuenow={Math.round(share * 100)} aria-valuemin={0} aria-valuemax={100} aria-label={`${label} used`}>
                        <div className={cx("h-2 rounded", share > 0.9 ? "bg-red-600" : "bg-accent")} style={{ width: `${share * 100}%` }} />
                      </div>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </Table>
        <p className="mt-2 text-xs text-muted">
          Traffic through this agent since it started: {bytes(usage.data?.bytes_in)} in, {bytes(usage.data?.bytes_out)} out.
        </p>
      </Card>
      {me.platform_admin && org.data && <Settings org={org.data} />}
      {!me.auth ? (
        <Empty>Logins are off (open mode): API keys and ACLs take effect once the agent runs with --admin-key-file.</Empty>
      ) : isAdmin ? (
        <Keys orgId={me.org_id} />
      ) : (
        <Empty>API keys are managed with an admin key.</Empty>
      )}
      <Acls canChange={isAdmin && me.can_write} />
      {me.platform_admin && <NewOrganization />}
    </Page>
  );
}

function Keys({ orgId }: { orgId: string }) {
  const qc = useQueryClient();
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<ApiKey | null>(null);
  const keys = useQuery({
    queryKey: ["api-keys", orgId],
    queryFn: () => api.get<ApiKey[]>(`/api/v1/organizations/${enc(orgId)}/api-keys`),
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api.del(`/api/v1/organizations/${enc(orgId)}/api-keys/${enc(id)}`),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["api-keys", orgId] }),
  });
  return (
    <Card title="API keys" actions={<Button variant="primary" onClick={() => setCreating(true)}>Create key</Button>}>
      <ErrorBox error={keys.error ?? revoke.error} />
      {created && (
        <div role="status" className="mb-3 rounded border border-amber-300 bg-amber-50 p-3 text-sm text-amber-950 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-100">
          <p className="font-semibold">Copy the key now: its secret is shown only once.</p>
          <code className="mt-1 block break-all" data-testid="new-key">
            {created.id}:{created.secret}
          </code>
          <div className="mt-2 flex gap-2">
            <Button onClick={() => void navigator.clipboard?.writeText(`${created.id}:${created.secret}`)}>Copy</Button>
            <Button variant="ghost" onClick={() => setCreated(null)}>
              Done
            </Button>
          </div>
        </div>
      )}
      {keys.isPending ? (
        <Loading />
      ) : (keys.data ?? []).length === 0 ? (
        <Empty>No API keys yet.</Empty>
      ) : (
        <Table label="API keys">
          <thead>
            <tr>
              <th className={th}>Key id</th>
              <th className={th}>Scope</th>
              <th className={th}>Description</th>
              <th className={th}>Created</th>
              <th className={th}>Expires</th>
              <th className={th}>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys.data!.map((k) => (
              <tr key={k.id} className={cx(k.revoked && "opacity-60")}>
                <td className={cx(td, "font-mono text-xs")}>{k.id}</td>
                <td className={td}>
                  <Badge>{k.scope}</Badge>
                </td>
                <td className={td}>{k.description || "–"}</td>
                <td className={td}>{isoTime(k.created_at).slice(0, 16)}</td>
                <td className={td}>{k.expires_at ? isoTime(k.expires_at).slice(0, 16) : "never"}</td>
                <td className={cx(td, "text-right")}>
                  {k.revoked ? (
                    <Badge tone="bad">revoked</Badge>
                  ) : (
                    <Button variant="ghost" aria-label={`Revoke key ${k.id}`} onClick={() => revoke.mutate(k.id)}>
                      Revoke
                    </Button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
      {creating && (
        <CreateKey
          orgId={orgId}
          onClose={() => setCreating(false)}
          onCreated={(k) => {
            setCreated(k);
            setCreating(false);
            qc.invalidateQueries({ queryKey: ["api-keys", orgId] });
          }}
        />
      )}
    </Card>
  );
}

function CreateKey({ orgId, onClose, onCreated }: { orgId: string; onClose: () => void; onCreated: (k: ApiKey) => void }) {
  const [scope, setScope] = useState("read-write");
  const [description, setDescription] = useState("");
  const [days, setDays] = useState("");
  const create = useMutation({
    mutationFn: () =>
      api.post<ApiKey>(`/api/v1/organizations/${enc(orgId)}/api-keys`, {
        scope,
        description,
        expires_at: days ? Date.now() + Number(days) * 86_400_000 : null,
      }),
    onSuccess: onCreated,
  });
  return (
    <Modal
      title="Create an API key"
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button variant="primary" onClick={() => create.mutate()} disabled={create.isPending}>
            Create
          </Button>
        </>
      }
    >
      <Field label="Scope" hint="read-only keys read and describe; read-write also produce and commit; admin also manage">
        {(id) => (
          <select id={id} className={inputClass} value={scope} onChange={(e) => setScope(e.target.value)}>
            <option value="read-only">read-only</option>
            <option value="read-write">read-write</option>
            <option value="admin">admin</option>
          </select>
        )}
      </Field>
      <Field label="Description">{(id) => <input id={id} className={inputClass} value={description} onChange={(e) => setDescription(e.target.value)} />}</Field>
      <Field label="Expires after (days)" hint="empty: never">
        {(id) => <input id={id} type="number" min={1} className={inputClass} value={days} onChange={(e) => setDays(e.target.value)} />}
      </Field>
      <ErrorBox error={create.error} />
    </Modal>
  );
}

/** The platform admin's: the organization's name, plan and status. */
function Settings({ org }: { org: Organization }) {
  const qc = useQueryClient();
  const [name, setName] = useState(org.name);
  const [plan, setPlan] = useState(org.plan);
  const save = useMutation({
    mutationFn: (change: Partial<Organization>) => api.patch<Organization>(`/api/v1/organizations/${enc(org.id)}`, change),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ["organization", org.id] });
      qc.invalidateQueries({ queryKey: ["organizations"] });
    },
  });
  const suspended = org.status === "suspended";
  return (
    <Card title="Settings" className="mb-4">
      <form
        className="grid items-end gap-3 md:grid-cols-[1fr_1fr_auto_auto]"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate({ name, plan });
        }}
        aria-label="Organization settings"
      >
        <Field label="Name">{(id) => <input id={id} className={inputClass} value={name} onChange={(e) => setName(e.target.value)} />}</Field>
        <Field label="Plan">{(id) => <input id={id} className={inputClass} value={plan} onChange={(e) => setPlan(e.target.value)} />}</Field>
        <Button variant="primary" type="submit" disabled={save.isPending}>
          Save
        </Button>
        {org.id !== "default" && (
          <Button variant={suspended ? "secondary" : "danger"} onClick={() => save.mutate({ status: suspended ? "active" : "suspended" })}>
            {suspended ? "Reactivate" : "Suspend"}
          </Button>
        )}
      </form>
      <div className="mt-2">
        <ErrorBox error={save.error} />
      </div>
    </Card>
  );
}

function NewOrganization() {
  const qc = useQueryClient();
  const [slug, setSlug] = useState("");
  const create = useMutation({
    mutationFn: () => api.post<Organization>("/api/v1/organizations", { slug, name: slug }),
    onSuccess: () => {
      setSlug("");
      qc.invalidateQueries({ queryKey: ["organizations"] });
    },
  });
  return (
    <Card title="New organization" className="mt-4">
      <form
        className="flex items-end gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          if (slug) create.mutate();
        }}
      >
        <Field label="Slug" hint="lowercase letters, digits and '-'">
          {(id) => <input id={id} className={inputClass} value={slug} onChange={(e) => setSlug(e.target.value)} />}
        </Field>
        <Button variant="primary" type="submit" disabled={!slug || create.isPending}>
          Create
        </Button>
      </form>
      {create.data && <p className="mt-2 text-sm" role="status">Created {create.data.slug}: switch to it in the sidebar to give it keys.</p>}
      <div className="mt-2">
        <ErrorBox error={create.error} />
      </div>
    </Card>
  );
}
