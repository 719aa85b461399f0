import { useEffect, useRef, useState } from "react";
import { api, enc } from "../lib/api";
import { isoTime, localTime } from "../lib/format";
import {
  appendTail,
  browseParams,
  download,
  show,
  toCsv,
  toJson,
  type BrowseQuery,
  type MessagePage,
  type Start,
  type ViewAs,
} from "../lib/messages";
import type { ConsumedRecord } from "../lib/types";
import { Button, cx, Empty, ErrorBox, Field, inputClass, Loading } from "./ui";

interface Form {
  start: Start;
  offset: string;
  time: string;
  key: string;
  value: string;
  header: string;
  since: string;
  until: string;
  limit: number;
}

const FIRST: Form = { start: "latest", offset: "0", time: "", key: "", value: "", header: "", since: "", until: "", limit: 50 };

function query(form: Form, partitions: number[]): BrowseQuery {
  const since = localTime(form.since);
  const until = localTime(form.until);
  return {
    partitions,
    start: form.start,
    offset: Number(form.offset) || 0,
    timestamp: form.start === "timestamp" ? (localTime(form.time) ?? 0) : undefined,
    limit: form.limit,
    key: form.key || undefined,
    value: form.value || undefined,
    header: form.header || undefined,
    since,
    until,
  };
}

export function MessageBrowser({ topic, partitionCount }: { topic: string; partitionCount: number }) {
  const [form, setForm] = useState<Form>(FIRST);
  const [partitions, setPartitions] = useState<number[]>([]);
  const [base, setBase] = useState<BrowseQuery>(() => query(FIRST, []));
  const [page, setPage] = useState<MessagePage | null>(null);
  const [shown, setShown] = useState<ConsumedRecord[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const [viewAs, setViewAs] = useState<ViewAs>("text");
  const [open, setOpen] = useState<string | null>(null);
  const [live, setLive] = useState(false);
  const tailCursor = useRef<string | null>(null);
  const last = useRef<BrowseQuery | null>(null); // the query of the page shown

  const load = async (given: BrowseQuery) => {
    const q = { ...given, decode: viewAs === "registry" };
    last.current = given;
    setLoading(true);
    setError(null);
    try {
      const p = await api.get<MessagePage>(`/api/v1/topics/${enc(topic)}/messages?${browseParams(q)}`);
      setPage(p);
      setShown(p.records);
      tailCursor.current = p.after;
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  };

  useEffect(() => {
    void load(base);
  }, [topic]);

  // A live tail polls forward from the newest cursor and appends what came.
  useEffect(() => {
    if (!live) return;
    let stop = false;
    const tick = async () => {
      while (!stop) {
        const cursor = tailCursor.current;
        if (cursor) {
          try {
            const p = await api.get<MessagePage>(
              `/api/v1/topics/${enc(topic)}/messages?${browseParams({ ...base, cursor, direction: "forward", limit: 500, decode: viewAs === "registry" })}`,
            );
            if (stop) return;
            tailCursor.current = p.after;
            if (p.records.length) setShown((s) => appendTail(s, p.records));
          } catch (e) {
            setError(e);
          }
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    };
    void tick();
    return () => {
      stop = true;
    };
  }, [live, topic, base, viewAs]);

  const reload = async (v: ViewAs) => {
    try {
      const p = await api.get<MessagePage>(
        `/api/v1/topics/${enc(topic)}/messages?${browseParams({ ...(last.current ?? base), decode: v === "registry" })}`,
      );
      setPage(p);
      setShown(p.records);
    } catch (e) {
      setError(e);
    }
  };

  const run = (e?: React.FormEvent) => {
    e?.preventDefault();
    const q = query(form, partitions);
    setBase(q);
    setLive(false);
    void load(q);
  };
  const older = () => page && void load({ ...base, cursor: page.before, direction: "backward" });
  const newer = () => page && void load({ ...base, cursor: page.after, direction: "forward" });
  const set = <K extends keyof Form>(k: K, v: Form[K]) => setForm((f) => ({ ...f, [k]: v }));
  const togglePartition = (p: number) =>
    setPartitions((ps) => (ps.includes(p) ? ps.filter((x) => x !== p) : [...ps, p].sort((a, b) => a - b)));

  return (
    <div className="space-y-3">
      <form onSubmit={run} className="grid gap-3 rounded-lg border border-line bg-panel p-3 md:grid-cols-4" aria-label="Browse messages">
        <Field label="Start at">
          {(id) => (
            <select id={id} className={inputClass} value={form.start} onChange={(e) => set("start", e.target.value as Start)}>
            <option value="latest">newest</option>
            <option value="earliest">oldest</option>
            <option value="offset">offset</option>
            <option value="timestamp">time</option>
          </select>
          )}
        </Field>
        {form.start === "offset" && (
          <Field label="Offset">
          {(id) => (
            <input id={id} className={inputClass} type="number" min={0} value={form.offset} onChange={(e) => set("offset", e.target.value)} />
          )}
        </Field>
        )}
        {form.start === "timestamp" && (
          <Field label="Time">
          {(id) => (
            <input id={id} className={inputClass} type="datetime-local" step={1} value={form.time} onChange={(e) => set("time", e.target.value)} />
          )}
        </Field>
        )}
        <Field label="Key contains">
          {(id) => (
            <input id={id} className={inputClass} value={form.key} onChange={(e) => set("key", e.target.value)} />
          )}
        </Field>
        <Field label="Value contains">
          {(id) => (
            <input id={id} className={inputClass} value={form.value} onChange={(e) => set("value", e.target.value)} />
          )}
        </Field>
        <Field label="Header">
          {(id) => (
            <input id={id} className={inputClass} placeholder="name or name=value" value={form.header} onChange={(e) => set("header", e.target.value)} />
          )}
        </Field>
        <Field label="From time">
          {(id) => (
            <input id={id} className={inputClass} type="datetime-local" step={1} value={form.since} onChange={(e) => set("since", e.target.value)} />
          )}
        </Field>
        <Field label="To time">
          {(id) => (
            <input id={id} className={inputClass} type="datetime-local" step={1} value={form.until} onChange={(e) => set("until", e.target.value)} />
          )}
        </Field>
        <Field label="Page size">
          {(id) => (
            <select id={id} className={inputClass} value={form.limit} onChange={(e) => set("limit", Number(e.target.value))}>
            {[20, 50, 100, 200, 500].map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
          )}
        </Field>
        <fieldset className="text-sm md:col-span-4">
          <legend className="mb-1 font-medium">Partitions {partitions.length === 0 && <span className="text-muted">(all)</span>}</legend>
          <div className="flex max-h-20 flex-wrap gap-2 overflow-auto">
            {Array.from({ length: partitionCount }, (_, p) => (
              <label key={p} className="inline-flex items-center gap-1">
                <input type="checkbox" checked={partitions.includes(p)} onChange={() => togglePartition(p)} />
                {p}
              </label>
            ))}
          </div>
        </fieldset>
        <div className="flex flex-wrap items-center gap-2 md:col-span-4">
          <Button variant="primary" type="submit">
            Search
          </Button>
          <Button onClick={older} disabled={!page?.has_older || loading || live}>
            ← Older
          </Button>
          <Button onClick={newer} disabled={!page || loading || live}>
            Newer →
          </Button>
          <Button aria-pressed={live} onClick={() => setLive((l) => !l)} variant={live ? "primary" : "secondary"}>
            {live ? "Stop live tail" : "Live tail"}
          </Button>
          <label className="ml-auto inline-flex items-center gap-1 text-sm">
            Show values as
            <select
              className={cx(inputClass, "w-auto")}
              value={viewAs}
              onChange={(e) => {
                const v = e.target.value as ViewAs;
                setViewAs(v);
                // Decoding is the server's (it holds the schemas): read the page again.
                if ((v === "registry") !== (viewAs === "registry") && page) void reload(v);
              }}
            >
              <option value="text">text</option>
              <option value="json">pretty JSON</option>
              <option value="hex">hex</option>
              <option value="registry">schema registry (Avro, JSON Schema, Protobuf)</option>
            </select>
          </label>
          <Button onClick={() => download(`${topic}.json`, toJson(shown), "application/json")} disabled={!shown.length}>
            Export JSON
          </Button>
          <Button onClick={() => download(`${topic}.csv`, toCsv(shown), "text/csv")} disabled={!shown.length}>
            Export CSV
          </Button>
        </div>
      </form>
      <ErrorBox error={error} />
      {page && (
        <p className="text-xs text-muted" data-testid="browse-status">
          {shown.length} records shown · {page.scanned} read · cursor {page.before || "–"} … {page.after || "–"}
        </p>
      )}
      {loading && !shown.length ? (
        <Loading what="Reading records" />
      ) : shown.length === 0 ? (
        <Empty>No records here{base.key || base.value || base.header ? " match" : ""}.</Empty>
      ) : (
        <div className="overflow-x-auto rounded-lg border border-line bg-panel">
          <table className="w-full text-left text-sm" aria-label="Messages">
            <thead className="bg-subtle text-xs uppercase text-muted">
              <tr>
                <th className="px-3 py-2">Partition</th>
                <th className="px-3 py-2">Offset</th>
                <th className="px-3 py-2">Timestamp</th>
                <th className="px-3 py-2">Key</th>
                <th className="px-3 py-2">Value</th>
                <th className="px-3 py-2">Headers</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((r) => {
                const id = `${r.partition}:${r.offset}`;
                const text = show(r.value, r.value_encoding, viewAs, r.value_decoded);
                return (
                  <tr key={id} className="border-t border-line align-top" data-testid="message-row">
                    <td className="px-3 py-1.5 tabular-nums">{r.partition}</td>
                    <td className="px-3 py-1.5 tabular-nums">{r.offset}</td>
                    <td className="whitespace-nowrap px-3 py-1.5 font-mono text-xs">{isoTime(r.timestamp)}</td>
                    <td className="px-3 py-1.5 font-mono text-xs">{r.key == null ? <span className="text-muted">null</span> : show(r.key, r.key_encoding, viewAs === "hex" ? "hex" : "text")}</td>
                    <td className="max-w-xl px-3 py-1.5">
                      <button
                        type="button"
                        className="w-full text-left"
                        aria-expanded={open === id}
                        onClick={() => setOpen(open === id ? null : id)}
                      >
                        {viewAs === "registry" && r.value_decoded && (
                          <span className="mb-0.5 inline-block rounded bg-subtle px-1 text-[10px] font-semibold text-muted" data-testid="schema-badge">
                            {r.value_decoded.schema_type || "unknown"} · schema {r.value_decoded.schema_id}
                          </span>
                        )}
                        <pre className={cx("font-mono text-xs whitespace-pre-wrap break-all", open !== id && "line-clamp-2")}>{text}</pre>
                      </button>
                      {open === id && (
                        <Button variant="ghost" className="mt-1" onClick={() => void navigator.clipboard?.writeText(text)}>
                          Copy value
                        </Button>
                      )}
                    </td>
                    <td className="px-3 py-1.5 font-mono text-xs">
                      {r.headers.map((h, i) => (
                        <div key={i}>
                          {h.key}={h.value ?? "null"}
                        </div>
                      ))}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
