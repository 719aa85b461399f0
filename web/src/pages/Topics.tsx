import { useEffect, useMemo, useRef, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useVirtualizer } from "@tanstack/react-virtual";
import { api, enc } from "../lib/api";
import { useCanWrite } from "../lib/auth";
import { bytes, count, when } from "../lib/format";
import { nextSort, ratesBetween, sortRows, type SortState } from "../lib/sort";
import type { Topic } from "../lib/types";
import { Button, Empty, ErrorBox, Field, inputClass, Loading, Modal, Page, SearchBox, SortHeader, cx } from "../components/ui";
import { ConfirmDelete } from "../components/ConfirmDelete";
import { parseConfigLines } from "../lib/configs";

type Key = "name" | "partitions" | "records" | "size" | "rate" | "last";
const COLUMNS: [Key, string][] = [
  ["name", "Topic"],
  ["partitions", "Partitions"],
  ["records", "Records"],
  ["size", "Size"],
  ["rate", "Records/s"],
  ["last", "Last write"],
];
const ROW = 37;

/** Keeps the written totals of the last 30 s of polls: rates over a steady window. */
function useTopicRates(topics: Topic[] | undefined): Map<string, number> {
  const history = useRef<{ t: number; totals: Map<string, number> }[]>([]);
  const [rates, setRates] = useState(new Map<string, number>());
  useEffect(() => {
    if (!topics) return;
    const t = Date.now();
    const h = history.current;
    while (h.length > 1 && t - h[1].t >= 30_000) h.shift();
    const base = h[0];
    if (base) {
      const before = new Map<string, { t: number; total: number }>();
      base.totals.forEach((total, id) => before.set(id, { t: base.t, total }));
      setRates(ratesBetween(before, t, topics.map((x) => ({ id: x.id, total: x.written }))));
    }
    h.push({ t, totals: new Map(topics.map((x) => [x.id, x.written])) });
  }, [topics]);
  return rates;
}

export function Topics() {
  const canWrite = useCanWrite();
  const [params, setParams] = useSearchParams();
  const [filter, setFilter] = useState(params.get("q") ?? "");
  const [sort, setSort] = useState<SortState<Key>>({ key: "name", dir: "asc" });
  const [deleting, setDeleting] = useState<string | null>(null);
  const topics = useQuery({
    queryKey: ["topics"],
    queryFn: () => api.get<Topic[]>("/api/v1/topics"),
    refetchInterval: 5_000,
  });
  const rates = useTopicRates(topics.data);
  const now = Date.now();
  const rows = useMemo(() => {
    const q = filter.trim().toLowerCase();
    const list = (topics.data ?? []).filter((t) => !q || t.name.toLowerCase().includes(q));
    return sortRows(
      list,
      sort,
      (t, k) =>
        ({
          name: t.name,
          partitions: t.partitions,
          records: t.records,
          size: t.size_bytes,
          rate: rates.get(t.id) ?? 0,
          last: t.last_append_at,
        })[k],
      (t) => t.name,
    );
  }, [topics.data, filter, sort, rates]);

  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW,
    overscan: 12,
  });
  const items = virtual.getVirtualItems();
  const top = items.length ? items[0].start : 0;
  const bottom = items.length ? virtual.getTotalSize() - items[items.length - 1].end : 0;
  const creating = params.get("create") === "1";
  const setCreating = (on: boolean) => {
    const p = new URLSearchParams(params);
    if (on) p.set("create", "1");
    else p.delete("create");
    setParams(p, { replace: true });
  };

  return (
    <Page
      title="Topics"
      subtitle={topics.data ? `${count(rows.length)} of ${count(topics.data.length)} topics` : undefined}
      actions={
        canWrite && (
          <Button variant="primary" onClick={() => setCreating(true)}>
            Create topic
          </Button>
        )
      }
    >
      <SearchBox label="Search topics" value={filter} onChange={setFilter} />
      <ErrorBox error={topics.error} />
      {topics.isPending ? (
        <Loading what="Loading topics" />
      ) : rows.length === 0 ? (
        <Empty>{topics.data?.length ? "No topic matches the search." : "No topics yet."}</Empty>
      ) : (
        <div ref={scroller} className="max-h-[70vh] overflow-auto rounded-lg border border-line bg-panel" data-testid="topic-list">
          <table className="w-full text-left text-sm" aria-label="Topics" aria-rowcount={rows.length + 1}>
            <thead className="sticky top-0 z-10 bg-subtle">
              <tr>
                {COLUMNS.map(([k, label]) => (
                  <SortHeader key={k} k={k} label={label} sort={sort} onSort={(key) => setSort(nextSort(sort, key))} />
                ))}
                {canWrite && <th className="border-b border-line px-3 py-2"><span className="sr-only">Actions</span></th>}
              </tr>
            </thead>
            <tbody>
              {top > 0 && (
                <tr aria-hidden style={{ height: top }}>
                  <td colSpan={7} />
                </tr>
              )}
              {items.map((v) => {
                const t = rows[v.index];
                return (
                  <tr key={t.id} style={{ height: ROW }} className="hover:bg-subtle" aria-rowindex={v.index + 2}>
                    <td className="border-b border-line px-3 py-1.5">
                      <Link className="text-link underline" to={`/topics/${enc(t.name)}`}>
                        {t.name}
                      </Link>
                    </td>
                    <td className="border-b border-line px-3 py-1.5 tabular-nums">{t.partitions}</td>
                    <td className="border-b border-line px-3 py-1.5 tabular-nums">{count(t.records)}</td>
                    <td className="border-b border-line px-3 py-1.5 tabular-nums">{bytes(t.size_bytes)}</td>
                    <td className="border-b border-line px-3 py-1.5 tabular-nums">
                      {rates.has(t.id) ? count(rates.get(t.id)!) : "–"}
                    </td>
                    <td className="border-b border-line px-3 py-1.5">{when(t.last_append_at, now)}</td>
                    {canWrite && (
                      <td className="border-b border-line px-3 py-1.5 text-right">
                        <Button variant="ghost" aria-label={`Delete topic ${t.name}`} onClick={() => setDeleting(t.name)}>
                          Delete
                        </Button>
                      </td>
                    )}
                  </tr>
                );
              })}
              {bottom > 0 && (
                <tr aria-hidden style={{ height: bottom }}>
                  <td colSpan={7} />
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
      {creating && <CreateTopic onClose={() => setCreating(false)} />}
      {deleting && <DeleteTopic name={deleting} onClose={() => setDeleting(null)} />}
    </Page>
  );
}

function DeleteTopic({ name, onClose }: { name: string; onClose: () => void }) {
  const qc = useQueryClient();
  const del = useMutation({
    mutationFn: () => api.del(`/api/v1/topics/${enc(name)}`),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ["topics"] });
      onClose();
    },
  });
  return (
    <ConfirmDelete
      what={`topic ${name}`}
      name={name}
      consequence="Its records and partitions are removed; consumers of it stop."
      onClose={onClose}
      onConfirm={() => del.mutate()}
      pending={del.isPending}
      error={del.error}
    />
  );
}

const RETENTION: [string, string][] = [
  ["", "default (7 days)"],
  ["3600000", "1 hour"],
  ["86400000", "1 day"],
  ["604800000", "7 days"],
  ["2592000000", "30 days"],
  ["-1", "forever"],
];

export function CreateTopic({ onClose }: { onClose: () => void }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [name, setName] = useState("");
  const [partitions, setPartitions] = useState("3");
  const [retention, setRetention] = useState("");
  const [cleanup, setCleanup] = useState("delete");
  const [extra, setExtra] = useState("");
  const parsed = parseConfigLines(extra);
  const create = useMutation({
    mutationFn: () => {
      const config: Record<string, string> = { ...parsed.config };
      if (retention) config["retention.ms"] = retention;
      if (cleanup !== "delete") config["cleanup.policy"] = cleanup;
      return api.post<Topic>("/api/v1/topics", { name: name.trim(), partitions: Number(partitions), config });
    },
    onSuccess: (t) => {
      qc.invalidateQueries({ queryKey: ["topics"] });
      onClose();
      navigate(`/topics/${enc(t.name)}`);
    },
  });
  const n = Number(partitions);
  const partitionsError = !Number.isInteger(n) || n < 1 || n > 10000 ? "1 to 10,000 partitions" : null;
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    if (!name.trim() || partitionsError || parsed.error) return;
    create.mutate();
  };
  return (
    <Modal
      title="Create topic"
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button variant="primary" type="submit" form="create-topic" disabled={create.isPending || !name.trim()}>
            {create.isPending ? "Creating…" : "Create"}
          </Button>
        </>
      }
    >
      <form id="create-topic" onSubmit={submit} className="space-y-3">
        <Field label="Name" hint="Letters, digits, '.', '_' and '-', up to 249 characters">
          {(id) => <input id={id} className={inputClass} value={name} onChange={(e) => setName(e.target.value)} autoFocus />}
        </Field>
        <Field label="Partitions" error={partitionsError}>
          {(id) => (
            <input id={id} type="number" min={1} max={10000} className={inputClass} value={partitions} onChange={(e) => setPartitions(e.target.value)} />
          )}
        </Field>
        <Field label="Retention">
          {(id) => (
            <select id={id} className={inputClass} value={retention} onChange={(e) => setRetention(e.target.value)}>
              {RETENTION.map(([v, l]) => (
                <option key={v} value={v}>
                  {l}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Cleanup policy">
          {(id) => (
            <select id={id} className={inputClass} value={cleanup} onChange={(e) => setCleanup(e.target.value)}>
              <option value="delete">delete (by time and size)</option>
              <option value="compact">compact (latest per key)</option>
              <option value="compact,delete">compact,delete</option>
            </select>
          )}
        </Field>
        <Field label="Other configs" hint="One key=value per line, e.g. max.message.bytes=2097152" error={parsed.error}>
          {(id) => (
            <textarea id={id} rows={3} className={cx(inputClass, "font-mono")} value={extra} onChange={(e) => setExtra(e.target.value)} />
          )}
        </Field>
        <ErrorBox error={create.error} />
      </form>
    </Modal>
  );
}
