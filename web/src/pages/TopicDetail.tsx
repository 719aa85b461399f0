import { useEffect, useRef, useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router-dom";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, enc } from "../lib/api";
import { useCanWrite } from "../lib/auth";
import { bytes, count, isoTime, when } from "../lib/format";
import type { GroupDetail, GroupSummary, Partition, Topic, TopicConfig } from "../lib/types";
import { Badge, Button, Card, cx, Empty, ErrorBox, Field, inputClass, Loading, Modal, Page, Stat, Table, td, th } from "../components/ui";
import { ConfirmDelete } from "../components/ConfirmDelete";
import { MessageBrowser } from "../components/MessageBrowser";
import { TimeChart } from "../components/charts";

/** Records written per second, from the change of `written` between polls since the page
 * opened (the same figure on every agent: it is the sum of the high watermarks). */
function useWriteRate(t: Topic | undefined): Record<string, number>[] {
  const last = useRef<{ at: number; written: number } | null>(null);
  const [points, setPoints] = useState<Record<string, number>[]>([]);
  useEffect(() => {
    if (!t) return;
    const at = Date.now();
    const prev = last.current;
    last.current = { at, written: t.written };
    if (prev && at - prev.at >= 1000 && t.written >= prev.written) {
      const rate = ((t.written - prev.written) * 1000) / (at - prev.at);
      setPoints((p) => [...p, { t: at, records_per_s: rate }].slice(-120));
    }
  }, [t]);
  return points;
}

const TABS = ["messages", "partitions", "configs", "consumers"] as const;
type Tab = (typeof TABS)[number];

export default function TopicDetail() {
  const { name = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const tab = (TABS as readonly string[]).includes(params.get("tab") ?? "") ? (params.get("tab") as Tab) : "messages";
  const canWrite = useCanWrite();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [growing, setGrowing] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const topic = useQuery({
    queryKey: ["topic", name],
    queryFn: () => api.get<Topic>(`/api/v1/topics/${enc(name)}`),
    refetchInterval: 5_000,
  });
  const del = useMutation({
    mutationFn: () => api.del(`/api/v1/topics/${enc(name)}`),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ["topics"] });
      navigate("/topics");
    },
  });
  const rate = useWriteRate(topic.data);
  if (topic.isPending) return <Loading what="Loading topic" />;
  if (topic.error) {
    return (
      <Page title={name}>
        <ErrorBox error={topic.error} />
        <p className="mt-3 text-sm">
          <Link className="text-link underline" to="/topics">
            All topics
          </Link>
        </p>
      </Page>
    );
  }
  const t = topic.data;
  return (
    <Page
      title={t.name}
      subtitle={<span>created {isoTime(t.created_at)} · id <code>{t.id}</code></span>}
      actions={
        <>
          {canWrite && (
            <Link to={`/produce?topic=${enc(t.name)}`} className="inline-flex items-center rounded-md border border-line bg-panel px-3 py-1.5 text-sm font-medium hover:bg-subtle">
              Produce
            </Link>
          )}
          {canWrite && <Button onClick={() => setGrowing(true)}>Add partitions</Button>}
          {canWrite && (
            <Button variant="danger" onClick={() => setDeleting(true)}>
              Delete
            </Button>
          )}
        </>
      }
    >
      <div className="mb-4 grid grid-cols-2 gap-3 md:grid-cols-4">
        <Stat label="Partitions" value={t.partitions} />
        <Stat label="Records" value={count(t.records)} />
        <Stat label="Size" value={bytes(t.size_bytes)} />
        <Stat label="Last write" value={when(t.last_append_at)} />
      </div>
      {rate.length >= 2 && (
        <Card title="Records written per second" className="mb-4">
          <TimeChart
            label="Records written per second"
            data={rate}
            height={140}
            format={(v) => count(v)}
            series={[{ key: "records_per_s", label: "records/s", color: "#0e7490" }]}
          />
        </Card>
      )}
      <div role="tablist" aria-label="Topic" className="mb-3 flex gap-1 border-b border-line">
        {TABS.map((x) => (
          <button
            key={x}
            role="tab"
            type="button"
            aria-selected={tab === x}
            className={cx("-mb-px border-b-2 px-3 py-2 text-sm capitalize", tab === x ? "border-accent font-semibold" : "border-transparent text-muted hover:text-fg")}
            onClick={() => setParams({ tab: x }, { replace: true })}
          >
            {x}
          </button>
        ))}
      </div>
      <div role="tabpanel" aria-label={tab}>
        {tab === "messages" && <MessageBrowser topic={t.name} partitionCount={t.partitions} />}
        {tab === "partitions" && <Partitions name={t.name} />}
        {tab === "configs" && <Configs name={t.name} canWrite={canWrite} />}
        {tab === "consumers" && <Consumers name={t.name} />}
      </div>
      {growing && <AddPartitions topic={t} onClose={() => setGrowing(false)} />}
      {deleting && (
        <ConfirmDelete
          what={`topic ${t.name}`}
          name={t.name}
          consequence="Its records and partitions are removed; consumers of it stop."
          onClose={() => setDeleting(false)}
          onConfirm={() => del.mutate()}
          pending={del.isPending}
          error={del.error}
        />
      )}
    </Page>
  );
}

function Partitions({ name }: { name: string }) {
  const parts = useQuery({
    queryKey: ["partitions", name],
    queryFn: () => api.get<Partition[]>(`/api/v1/topics/${enc(name)}/partitions`),
    refetchInterval: 5_000,
  });
  if (parts.isPending) return <Loading />;
  if (parts.error) return <ErrorBox error={parts.error} />;
  return (
    <Table label="Partitions">
      <thead>
        <tr>
          {["Partition", "Leader agent", "Epoch", "Log start", "High watermark", "Records", "Size", "Last append"].map((h) => (
            <th key={h} className={th}>
              {h}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {parts.data.map((p) => (
          <tr key={p.partition}>
            <td className={td}>{p.partition}</td>
            <td className={td}>{p.leader_agent ? <code>{p.leader_agent}</code> : <Badge tone="warn">no leader</Badge>}</td>
            <td className={td}>{p.leader_epoch}</td>
            <td className={cx(td, "tabular-nums")}>{p.low_watermark}</td>
            <td className={cx(td, "tabular-nums")}>{p.high_watermark}</td>
            <td className={cx(td, "tabular-nums")}>{count(p.records)}</td>
            <td className={cx(td, "tabular-nums")}>{bytes(p.size_bytes)}</td>
            <td className={td}>{when(p.last_append_at)}</td>
          </tr>
        ))}
      </tbody>
    </Table>
  );
}

function Configs({ name, canWrite }: { name: string; canWrite: boolean }) {
  const qc = useQueryClient();
  const [editing, setEditing] = useState<TopicConfig | null>(null);
  const [value, setValue] = useState("");
  const configs = useQuery({
    queryKey: ["configs", name],
    queryFn: () => api.get<TopicConfig[]>(`/api/v1/topics/${enc(name)}/configs`),
  });
  const save = useMutation({
    mutationFn: (change: Record<string, string | null>) => api.patch<Topic>(`/api/v1/topics/${enc(name)}`, { config: change }),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ["configs", name] });
      qc.invalidateQueries({ queryKey: ["topic", name] });
      setEditing(null);
    },
  });
  if (configs.isPending) return <Loading />;
  if (configs.error) return <ErrorBox error={configs.error} />;
  return (
    <>
      <Table label="Configs">
        <thead>
          <tr>
            <th className={th}>Config</th>
            <th className={th}>Value</th>
            <th className={th}>Source</th>
            {canWrite && <th className={th}><span className="sr-only">Actions</span></th>}
          </tr>
        </thead>
        <tbody>
          {configs.data.map((c) => (
            <tr key={c.name}>
              <td className={cx(td, "font-mono text-xs")}>{c.name}</td>
              <td className={cx(td, "font-mono text-xs")}>{c.value}</td>
              <td className={td}>{c.source === "topic" ? <Badge tone="good">override</Badge> : <span className="text-muted">default</span>}</td>
              {canWrite && (
                <td className={cx(td, "text-right")}>
                  <Button
                    variant="ghost"
                    aria-label={`Edit ${c.name}`}
                    onClick={() => {
                      setEditing(c);
                      setValue(c.value);
                      save.reset();
                    }}
                  >
                    Edit
                  </Button>
                  {c.source === "topic" && (
                    <Button variant="ghost" aria-label={`Reset ${c.name} to its default`} onClick={() => save.mutate({ [c.name]: null })}>
                      Reset
                    </Button>
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </Table>
      {!editing && <div className="mt-2"><ErrorBox error={save.error} /></div>}
      {editing && (
        <Modal
          title={`Edit ${editing.name}`}
          onClose={() => setEditing(null)}
          footer={
            <>
              <Button onClick={() => setEditing(null)}>Cancel</Button>
              <Button variant="primary" onClick={() => save.mutate({ [editing.name]: value })} disabled={save.isPending}>
                Save
              </Button>
            </>
          }
        >
          <Field label={editing.name}>
            {(id) => <input id={id} className={cx(inputClass, "font-mono")} value={value} onChange={(e) => setValue(e.target.value)} autoFocus />}
          </Field>
          <ErrorBox error={save.error} />
        </Modal>
      )}
    </>
  );
}

function AddPartitions({ topic, onClose }: { topic: Topic; onClose: () => void }) {
  const qc = useQueryClient();
  const [n, setN] = useState(String(topic.partitions + 1));
  const grow = useMutation({
    mutationFn: () => api.patch<Topic>(`/api/v1/topics/${enc(topic.name)}`, { partitions: Number(n) }),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ["topic", topic.name] });
      qc.invalidateQueries({ queryKey: ["partitions", topic.name] });
      onClose();
    },
  });
  return (
    <Modal
      title="Add partitions"
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button variant="primary" onClick={() => grow.mutate()} disabled={grow.isPending}>
            Grow to {n}
          </Button>
        </>
      }
    >
      <p className="text-sm">Partitions only grow: keyed records may land on other partitions afterwards.</p>
      <Field label="New partition count" hint={`now ${topic.partitions}`}>
        {(id) => <input id={id} type="number" min={topic.partitions + 1} className={inputClass} value={n} onChange={(e) => setN(e.target.value)} />}
      </Field>
      <ErrorBox error={grow.error} />
    </Modal>
  );
}

function Consumers({ name }: { name: string }) {
  const groups = useQuery({
    queryKey: ["groups"],
    queryFn: () => api.get<GroupSummary[]>("/api/v1/consumer-groups"),
  });
  const details = useQuery({
    queryKey: ["group-details", (groups.data ?? []).map((g) => g.group_id).join(",")],
    enabled: !!groups.data,
    queryFn: () =>
      Promise.all((groups.data ?? []).map((g) => api.get<GroupDetail>(`/api/v1/consumer-groups/${enc(g.group_id)}`))),
    refetchInterval: 5_000,
  });
  if (groups.isPending || details.isPending) return <Loading />;
  const err = groups.error ?? details.error;
  if (err) return <ErrorBox error={err} />;
  const reading = (details.data ?? [])
    .map((g) => ({ g, rows: g.offsets.filter((o) => o.topic === name) }))
    .filter((x) => x.rows.length > 0 || x.g.members.some((m) => m.assignment.some((a) => a.topic === name)));
  if (!reading.length) return <Empty>No consumer group reads this topic.</Empty>;
  return (
    <Table label="Consumer groups reading this topic">
      <thead>
        <tr>
          <th className={th}>Group</th>
          <th className={th}>State</th>
          <th className={th}>Members</th>
          <th className={th}>Lag on this topic</th>
        </tr>
      </thead>
      <tbody>
        {reading.map(({ g, rows }) => (
          <tr key={g.group_id}>
            <td className={td}>
              <Link className="text-link underline" to={`/groups/${enc(g.group_id)}`}>
                {g.group_id}
              </Link>
            </td>
            <td className={td}>{g.state}</td>
            <td className={td}>{g.members.length}</td>
            <td className={cx(td, "tabular-nums")}>{count(rows.reduce((n, r) => n + r.lag, 0))}</td>
          </tr>
        ))}
      </tbody>
    </Table>
  );
}
