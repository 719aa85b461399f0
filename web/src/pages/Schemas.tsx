import { useEffect, useMemo, useState } from "react";
import { useNavigate, useParams } from "react-router-dom";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, enc, request } from "../lib/api";
import { useCanWrite } from "../lib/auth";
import { diffLines, jsonTokens, prettySchema } from "../lib/diff";
import { Badge, Button, Card, cx, Empty, ErrorBox, Field, inputClass, Loading, Page } from "../components/ui";
import { ConfirmDelete } from "../components/ConfirmDelete";

// The schema registry's Confluent API, under /registry on this port.
const R = "/registry";
const LEVELS = ["BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE", "NONE"];
const CT = "application/vnd.schemaregistry.v1+json";

interface Version {
  subject: string;
  version: number;
  id: number;
  schema: string;
  schemaType?: string;
}

function Highlighted({ text, type }: { text: string; type: string }) {
  const pretty = prettySchema(text, type);
  if (type === "PROTOBUF") return <pre className="overflow-auto rounded bg-subtle p-3 font-mono text-xs" data-testid="schema-text">{pretty}</pre>;
  const colours: Record<string, string> = {
    key: "text-sky-700 dark:text-sky-300",
    string: "text-emerald-700 dark:text-emerald-300",
    number: "text-amber-700 dark:text-amber-300",
    keyword: "text-fuchsia-700 dark:text-fuchsia-300",
    punct: "text-muted",
    text: "",
  };
  return (
    <pre className="overflow-auto rounded bg-subtle p-3 font-mono text-xs" data-testid="schema-text">
      {jsonTokens(pretty).map((t, i) => (
        <span key={i} className={colours[t.kind]}>
          {t.text}
        </span>
      ))}
    </pre>
  );
}

export default function Schemas() {
  const params = useParams();
  const subject = params["*"] ? decodeURIComponent(params["*"]) : "";
  const navigate = useNavigate();
  const canWrite = useCanWrite();
  const [filter, setFilter] = useState("");
  const [creating, setCreating] = useState(false);
  const subjects = useQuery({ queryKey: ["subjects"], queryFn: () => api.get<string[]>(`${R}/subjects`) });
  const global = useQuery({
    queryKey: ["registry-config"],
    queryFn: () => api.get<{ compatibilityLevel: string }>(`${R}/config`),
  });
  const qc = useQueryClient();
  const setGlobal = useMutation({
    mutationFn: (level: string) => request(`${R}/config`, { method: "PUT", body: { compatibility: level }, contentType: CT }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["registry-config"] }),
  });
  const shown = (subjects.data ?? []).filter((s) => s.toLowerCase().includes(filter.toLowerCase()));
  return (
    <Page
      title="Schema registry"
      subtitle="Confluent-compatible: Kafka clients use it on port 8081; the console under /registry."
      actions={
        <>
          <label className="flex items-center gap-2 text-sm">
            Global compatibility
            <select
              className={cx(inputClass, "w-auto")}
              value={global.data?.compatibilityLevel ?? ""}
              disabled={!canWrite}
              onChange={(e) => setGlobal.mutate(e.target.value)}
              aria-label="Global compatibility"
            >
              {LEVELS.map((l) => (
                <option key={l}>{l}</option>
              ))}
            </select>
          </label>
          {canWrite && (
            <Button variant="primary" onClick={() => setCreating(true)}>
              New subject
            </Button>
          )}
        </>
      }
    >
      <ErrorBox error={subjects.error ?? setGlobal.error} />
      <div className="grid gap-4 lg:grid-cols-[16rem_1fr]">
        <Card title="Subjects">
          <input type="search" aria-label="Search subjects" placeholder="Search" className={cx(inputClass, "mb-2")} value={filter} onChange={(e) => setFilter(e.target.value)} />
          {subjects.isPending ? (
            <Loading />
          ) : shown.length === 0 ? (
            <Empty>No subjects{filter ? " match" : " yet"}.</Empty>
          ) : (
            <ul className="max-h-[60vh] space-y-0.5 overflow-auto" aria-label="Subjects">
              {shown.map((s) => (
                <li key={s}>
                  <button
                    type="button"
                    className={cx("w-full truncate rounded px-2 py-1 text-left text-sm", s === subject ? "bg-accent text-white" : "hover:bg-subtle")}
                    onClick={() => navigate(`/schemas/${enc(s)}`)}
                  >
                    {s}
                  </button>
                </li>
              ))}
            </ul>
          )}
        </Card>
        <div>
          {creating ? (
            <Register subject="" onDone={(s) => (setCreating(false), navigate(`/schemas/${enc(s)}`))} onCancel={() => setCreating(false)} />
          ) : subject ? (
            <Subject key={subject} subject={subject} canWrite={canWrite} />
          ) : (
            <Empty>Choose a subject.</Empty>
          )}
        </div>
      </div>
    </Page>
  );
}

function Subject({ subject, canWrite }: { subject: string; canWrite: boolean }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [version, setVersion] = useState<number | null>(null);
  const [compare, setCompare] = useState<number | null>(null);
  const [adding, setAdding] = useState(false);
  const [deleting, setDeleting] = useState<"soft" | "hard" | null>(null);
  const versions = useQuery({
    queryKey: ["versions", subject],
    queryFn: () => api.get<number[]>(`${R}/subjects/${enc(subject)}/versions`),
  });
  const latest = versions.data?.[versions.data.length - 1] ?? null;
  const current = version ?? latest;
  useEffect(() => setCompare(null), [current]);
  const one = useQuery({
    queryKey: ["version", subject, current],
    enabled: current != null,
    queryFn: () => api.get<Version>(`${R}/subjects/${enc(subject)}/versions/${current}`),
  });
  const other = useQuery({
    queryKey: ["version", subject, compare],
    enabled: compare != null,
    queryFn: () => api.get<Version>(`${R}/subjects/${enc(subject)}/versions/${compare}`),
  });
  const level = useQuery({
    queryKey: ["registry-config", subject],
    queryFn: () => api.get<{ compatibilityLevel: string }>(`${R}/config/${enc(subject)}?defaultToGlobal=true`),
  });
  const setLevel = useMutation({
    mutationFn: (l: string) => request(`${R}/config/${enc(subject)}`, { method: "PUT", body: { compatibility: l }, contentType: CT }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["registry-config", subject] }),
  });
  const del = useMutation({
    mutationFn: async (hard: boolean) => {
      await api.del(`${R}/subjects/${enc(subject)}`);
      if (hard) await api.del(`${R}/subjects/${enc(subject)}?permanent=true`);
    },
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ["subjects"] });
      navigate("/schemas");
    },
  });
  const diff = useMemo(() => {
    if (!one.data || !other.data) return null;
    const type = one.data.schemaType ?? "AVRO";
    return diffLines(prettySchema(other.data.schema, type), prettySchema(one.data.schema, type));
  }, [one.data, other.data]);
  if (versions.isPending) return <Loading />;
  if (versions.error) return <ErrorBox error={versions.error} />;
  const type = one.data?.schemaType ?? "AVRO";
  return (
    <Card
      title={subject}
      actions={
        canWrite && (
          <div className="flex gap-2">
            <Button onClick={() => setAdding(true)}>New version</Button>
            <Button variant="danger" onClick={() => setDeleting("soft")}>
              Delete
            </Button>
            <Button variant="danger" onClick={() => setDeleting("hard")}>
              Delete permanently
            </Button>
          </div>
        )
      }
    >
      <div className="mb-3 flex flex-wrap items-center gap-3 text-sm">
        <label className="flex items-center gap-1">
          Version
          <select className={cx(inputClass, "w-auto")} value={current ?? ""} onChange={(e) => setVersion(Number(e.target.value))} aria-label="Version">
            {(versions.data ?? []).map((v) => (
              <option key={v} value={v}>
                {v}
                {v === latest ? " (latest)" : ""}
              </option>
            ))}
          </select>
        </label>
        <label className="flex items-center gap-1">
          Compare with
          <select
            className={cx(inputClass, "w-auto")}
            value={compare ?? ""}
            onChange={(e) => setCompare(e.target.value ? Number(e.target.value) : null)}
            aria-label="Compare with version"
          >
            <option value="">–</option>
            {(versions.data ?? []).filter((v) => v !== current).map((v) => (
              <option key={v} value={v}>
                {v}
              </option>
            ))}
          </select>
        </label>
        <label className="flex items-center gap-1">
          Compatibility
          <select
            className={cx(inputClass, "w-auto")}
            value={level.data?.compatibilityLevel ?? ""}
            disabled={!canWrite}
            onChange={(e) => setLevel.mutate(e.target.value)}
            aria-label="Subject compatibility"
          >
            {LEVELS.map((l) => (
              <option key={l}>{l}</option>
            ))}
          </select>
        </label>
        {one.data && (
          <span className="text-muted">
            id {one.data.id} · <Badge>{type}</Badge>
          </span>
        )}
      </div>
      <ErrorBox error={one.error ?? setLevel.error ?? del.error} />
      {diff ? (
        <pre className="overflow-auto rounded bg-subtle p-3 font-mono text-xs" aria-label={`Diff of version ${compare} and ${current}`}>
          {diff.map((d, i) => (
            <div
              key={i}
              className={d.kind === "added" ? "bg-emerald-100 dark:bg-emerald-950" : d.kind === "removed" ? "bg-red-100 dark:bg-red-950" : ""}
            >
              {d.kind === "added" ? "+ " : d.kind === "removed" ? "- " : "  "}
              {d.text}
            </div>
          ))}
        </pre>
      ) : one.data ? (
        <Highlighted text={one.data.schema} type={type} />
      ) : (
        <Loading />
      )}
      {adding && (
        <div className="mt-4">
          <Register
            subject={subject}
            initial={one.data ? prettySchema(one.data.schema, type) : ""}
            initialType={type}
            onDone={() => {
              setAdding(false);
              setVersion(null);
              qc.invalidateQueries({ queryKey: ["versions", subject] });
            }}
            onCancel={() => setAdding(false)}
          />
        </div>
      )}
      {deleting && (
        <ConfirmDelete
          what={`subject ${subject}${deleting === "hard" ? " permanently" : ""}`}
          name={subject}
          consequence={
            deleting === "hard"
              ? "Every version and its schema ids are removed for good."
              : "The subject is soft-deleted: its versions stay readable by id and it can be deleted permanently later."
          }
          onClose={() => setDeleting(null)}
          onConfirm={() => del.mutate(deleting === "hard")}
          pending={del.isPending}
          error={del.error}
        />
      )}
    </Card>
  );
}

function Register({
  subject: given,
  initial = "",
  initialType = "AVRO",
  onDone,
  onCancel,
}: {
  subject: string;
  initial?: string;
  initialType?: string;
  onDone: (subject: string) => void;
  onCancel: () => void;
}) {
  const [subject, setSubject] = useState(given);
  const [type, setType] = useState(initialType);
  const [text, setText] = useState(initial);
  const [verdict, setVerdict] = useState<{ ok: boolean; messages: string[] } | null>(null);
  const body = () => ({ schema: text, ...(type !== "AVRO" ? { schemaType: type } : {}) });
  const check = useMutation({
    mutationFn: () =>
      request<{ is_compatible: boolean; messages?: string[] }>(
        `${R}/compatibility/subjects/${enc(subject)}/versions/latest?verbose=true`,
        { method: "POST", body: body(), contentType: CT },
      ),
    onSuccess: (r) => setVerdict({ ok: r.is_compatible, messages: r.messages ?? [] }),
  });
  const isNew = !given;
  // A new version is checked against the latest first; an incompatible one is not sent.
  const save = useMutation({
    mutationFn: async () => {
      if (!isNew) {
        const r = await check.mutateAsync();
        if (!r.is_compatible) return null;
      }
      return request<{ id: number }>(`${R}/subjects/${enc(subject)}/versions`, { method: "POST", body: body(), contentType: CT });
    },
    onSuccess: (r) => r && onDone(subject),
  });
  return (
    <Card title={isNew ? "Register a new subject" : `New version of ${given}`}>
      <div className="space-y-3">
        {isNew && (
          <Field label="Subject" hint="By the topic name strategy: <topic>-value or <topic>-key">
            {(id) => <input id={id} className={inputClass} value={subject} onChange={(e) => setSubject(e.target.value)} />}
          </Field>
        )}
        <Field label="Schema type">
          {(id) => (
            <select id={id} className={inputClass} value={type} onChange={(e) => (setType(e.target.value), setVerdict(null))}>
              <option value="AVRO">Avro</option>
              <option value="JSON">JSON Schema</option>
              <option value="PROTOBUF">Protobuf</option>
            </select>
          )}
        </Field>
        <Field label="Schema">
          {(id) => (
            <textarea id={id} rows={12} className={cx(inputClass, "font-mono text-xs")} value={text} onChange={(e) => (setText(e.target.value), setVerdict(null))} />
          )}
        </Field>
        {verdict && (
          <div role="status" className={cx("rounded p-2 text-sm", verdict.ok ? "bg-emerald-50 text-emerald-900 dark:bg-emerald-950 dark:text-emerald-100" : "bg-red-50 text-red-900 dark:bg-red-950 dark:text-red-100")} data-testid="compatibility">
            {verdict.ok ? "Compatible with the latest version." : "Not compatible with the latest version:"}
            {verdict.messages.length > 0 && (
              <ul className="mt-1 list-disc pl-5">
                {verdict.messages.map((m, i) => (
                  <li key={i}>{m}</li>
                ))}
              </ul>
            )}
          </div>
        )}
        <ErrorBox error={check.error ?? save.error} />
        <div className="flex gap-2">
          <Button onClick={onCancel}>Cancel</Button>
          {!isNew && (
            <Button onClick={() => check.mutate()} disabled={!text || check.isPending}>
              Check compatibility
            </Button>
          )}
          <Button variant="primary" onClick={() => save.mutate()} disabled={!text || !subject || save.isPending || (verdict !== null && !verdict.ok)}>
            Register
          </Button>
        </div>
      </div>
    </Card>
  );
}
