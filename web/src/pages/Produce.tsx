import { useEffect, useState } from "react";
import { useSearchParams } from "react-router-dom";
import { useMutation, useQuery } from "@tanstack/react-query";
import { api, ApiError } from "../lib/api";
import { useCanWrite } from "../lib/auth";
import { isoTime } from "../lib/format";
import { buildProduceRecord, type ProduceForm } from "../lib/produce";
import type { ProduceResponse, Topic } from "../lib/types";
import { Button, Card, cx, Empty, ErrorBox, Field, inputClass, Page, Table, td, th } from "../components/ui";

interface Sent {
  at: number;
  topic: string;
  partition: number;
  offset: number;
  key: string;
  ack: string;
}

const EMPTY: ProduceForm = { partition: "", key: "", value: "", format: "text", headers: [] };

export default function Produce() {
  const canWrite = useCanWrite();
  const [params, setParams] = useSearchParams();
  const topic = params.get("topic") ?? "";
  const [form, setForm] = useState<ProduceForm>(EMPTY);
  const [ack, setAck] = useState<"none" | "buffered" | "durable">("durable");
  const [log, setLog] = useState<Sent[]>([]);
  const [invalid, setInvalid] = useState<string | null>(null);
  const topics = useQuery({ queryKey: ["topics"], queryFn: () => api.get<Topic[]>("/api/v1/topics") });
  const subjects = useQuery({ queryKey: ["subjects"], queryFn: () => api.get<string[]>("/registry/subjects") });
  const chosen = topics.data?.find((t) => t.name === topic);
  const send = useMutation({
    mutationFn: async () => {
      const built = buildProduceRecord(form, chosen?.partitions ?? 0);
      if ("error" in built) throw new ApiError(0, "invalid", built.error);
      return api.post<ProduceResponse>("/api/v1/produce", { topic, records: [built.record] }, { "X-Ack-Mode": ack });
    },
    onSuccess: (r) => {
      const [first] = r.records;
      setLog((l) => [{ at: Date.now(), topic, partition: first.partition, offset: first.offset, key: form.key, ack }, ...l].slice(0, 50));
    },
  });
  useEffect(() => {
    const built = buildProduceRecord(form, chosen?.partitions ?? 0);
    setInvalid("error" in built ? built.error : null);
  }, [form, chosen]);
  const submit = () => {
    if (!topic || invalid || send.isPending) return;
    send.mutate();
  };
  const onKey = (e: React.KeyboardEvent) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      submit();
    }
  };
  const set = <K extends keyof ProduceForm>(k: K, v: ProduceForm[K]) => setForm((f) => ({ ...f, [k]: v }));
  if (!canWrite) {
    return (
      <Page title="Producer">
        <Empty>This key is read-only: it cannot produce.</Empty>
      </Page>
    );
  }
  return (
    <Page title="Producer" subtitle="Send a record over the REST API; Ctrl+Enter (⌘+Enter) sends.">
      <div className="grid gap-4 lg:grid-cols-2">
        <Card title="Record">
          <form
            className="space-y-3"
            onKeyDown={onKey}
            onSubmit={(e) => {
              e.preventDefault();
              submit();
            }}
            aria-label="Produce a record"
          >
            <Field label="Topic">
              {(id) => (
                <select
                  id={id}
                  className={inputClass}
                  value={topic}
                  onChange={(e) => setParams(e.target.value ? { topic: e.target.value } : {}, { replace: true })}
                >
                  <option value="">choose a topic…</option>
                  {(topics.data ?? []).map((t) => (
                    <option key={t.id} value={t.name}>
                      {t.name}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <div className="grid grid-cols-2 gap-3">
              <Field label="Partition" hint="empty: by key (murmur2), else round-robin">
                {(id) => (
                  <select id={id} className={inputClass} value={form.partition} onChange={(e) => set("partition", e.target.value)}>
                    <option value="">auto</option>
                    {Array.from({ length: chosen?.partitions ?? 0 }, (_, p) => (
                      <option key={p} value={String(p)}>
                        {p}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              <Field label="Ack mode" hint="durable: after the flush commits">
                {(id) => (
                  <select id={id} className={inputClass} value={ack} onChange={(e) => setAck(e.target.value as typeof ack)}>
                    <option value="none">none (acks=0)</option>
                    <option value="buffered">buffered (acks=1)</option>
                    <option value="durable">durable (acks=all)</option>
                  </select>
                )}
              </Field>
            </div>
            <Field label="Key" hint="empty: no key">
              {(id) => <input id={id} className={cx(inputClass, "font-mono")} value={form.key} onChange={(e) => set("key", e.target.value)} />}
            </Field>
            <div className="flex items-center gap-3 text-sm" role="radiogroup" aria-label="Value format">
              {(["text", "json", "schema"] as const).map((f) => (
                <label key={f} className="inline-flex items-center gap-1">
                  <input
                    type="radio"
                    name="format"
                    checked={form.format === f}
                    onChange={() => {
                      set("format", f);
                      if (f === "schema" && !form.subject) {
                        const guess = (subjects.data ?? []).find((s) => s === `${topic}-value`);
                        if (guess) set("subject", guess);
                      }
                    }}
                  />
                  {f === "text" ? "Text" : f === "json" ? "JSON" : "With a registered schema"}
                </label>
              ))}
            </div>
            {form.format === "schema" && (
              <Field label="Subject" hint="The value (JSON) is written with its latest schema: Avro, JSON Schema or Protobuf">
                {(id) => (
                  <select id={id} className={inputClass} value={form.subject ?? ""} onChange={(e) => set("subject", e.target.value)}>
                    <option value="">choose a subject…</option>
                    {(subjects.data ?? []).map((s) => (
                      <option key={s}>{s}</option>
                    ))}
                  </select>
                )}
              </Field>
            )}
            <Field label="Value" error={invalid}>
              {(id) => (
                <textarea id={id} rows={8} className={cx(inputClass, "font-mono")} value={form.value} onChange={(e) => set("value", e.target.value)} />
              )}
            </Field>
            <fieldset className="space-y-2">
              <legend className="text-sm font-medium">Headers</legend>
              {form.headers.map((h, i) => (
                <div key={i} className="flex gap-2">
                  <input
                    aria-label={`Header ${i + 1} name`}
                    className={cx(inputClass, "font-mono")}
                    value={h.key}
                    onChange={(e) => set("headers", form.headers.map((x, j) => (j === i ? { ...x, key: e.target.value } : x)))}
                  />
                  <input
                    aria-label={`Header ${i + 1} value`}
                    className={cx(inputClass, "font-mono")}
                    value={h.value}
                    onChange={(e) => set("headers", form.headers.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)))}
                  />
                  <Button variant="ghost" aria-label={`Remove header ${i + 1}`} onClick={() => set("headers", form.headers.filter((_, j) => j !== i))}>
                    ✕
                  </Button>
                </div>
              ))}
              <Button onClick={() => set("headers", [...form.headers, { key: "", value: "" }])}>Add header</Button>
            </fieldset>
            <ErrorBox error={send.error} />
            <Button variant="primary" type="submit" disabled={!topic || !!invalid || send.isPending}>
              {send.isPending ? "Sending…" : "Send"}
            </Button>
          </form>
        </Card>
        <Card title="Sent">
          {log.length === 0 ? (
            <Empty>The last 50 sends appear here with their partition and offset.</Empty>
          ) : (
            <Table label="Sent records">
              <thead>
                <tr>
                  <th className={th}>Time</th>
                  <th className={th}>Topic</th>
                  <th className={th}>Partition</th>
                  <th className={th}>Offset</th>
                  <th className={th}>Key</th>
                  <th className={th}>Ack</th>
                </tr>
              </thead>
              <tbody>
                {log.map((s, i) => (
                  <tr key={i} data-testid="sent-row">
                    <td className={cx(td, "font-mono text-xs")}>{isoTime(s.at).slice(11)}</td>
                    <td className={td}>{s.topic}</td>
                    <td className={td}>{s.partition}</td>
                    <td className={td}>{s.offset}</td>
                    <td className={cx(td, "font-mono text-xs")}>{s.key || "–"}</td>
                    <td className={td}>{s.ack}</td>
                  </tr>
                ))}
              </tbody>
            </Table>
          )}
        </Card>
      </div>
    </Page>
  );
}
