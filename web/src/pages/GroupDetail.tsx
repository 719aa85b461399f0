import { useState } from "react";
import { useNavigate, useParams } from "react-router-dom";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, enc } from "../lib/api";
import { useCanWrite } from "../lib/auth";
import { count, localTime } from "../lib/format";
import type { GroupDetail as Detail, LagPoint, OffsetsChanged } from "../lib/types";
import { Badge, Button, Card, cx, Empty, ErrorBox, Field, inputClass, Loading, Modal, Page, Stat, Table, td, th } from "../components/ui";
import { ConfirmDelete } from "../components/ConfirmDelete";
import { TimeChart } from "../components/charts";
import { stateTone } from "./Groups";

type Strategy = "earliest" | "latest" | "specific" | "timestamp";

export default function GroupDetail() {
  const { id = "" } = useParams();
  const canWrite = useCanWrite();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [resetting, setResetting] = useState<{ topic?: string; partition?: number } | null>(null);
  const [deleting, setDeleting] = useState(false);
  const group = useQuery({
    queryKey: ["group", id],
    queryFn: () => api.get<Detail>(`/api/v1/consumer-groups/${enc(id)}`),
    refetchInterval: 5_000,
  });
  const history = useQuery({
    queryKey: ["lag-history", id],
    queryFn: () => api.get<LagPoint[]>(`/api/v1/consumer-groups/${enc(id)}/lag-history`),
    refetchInterval: 10_000,
  });
  const del = useMutation({
    mutationFn: () => api.del(`/api/v1/consumer-groups/${enc(id)}`),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ["groups"] });
      navigate("/groups");
    },
  });
  if (group.isPending) return <Loading what="Loading group" />;
  if (group.error) {
    return (
      <Page title={id}>
        <ErrorBox error={group.error} />
      </Page>
    );
  }
  const g = group.data;
  return (
    <Page
      title={g.group_id}
      subtitle={`${g.protocol_type || "no protocol"}${g.protocol ? ` · assignor ${g.protocol}` : ""}`}
      actions={
        canWrite && (
          <>
            <Button onClick={() => setResetting({})}>Reset offsets</Button>
            <Button variant="danger" onClick={() => setDeleting(true)}>
              Delete group
            </Button>
          </>
        )
      }
    >
      <div className="mb-4 grid grid-cols-2 gap-3 md:grid-cols-3">
        <Stat label="State" value={<Badge tone={stateTone(g.state)}>{g.state}</Badge>} />
        <Stat label="Members" value={g.members.length} />
        <Stat label="Total lag" value={count(g.total_lag)} />
      </div>
      <Card title="Lag over time" className="mb-4">
        {(history.data ?? []).length < 2 ? (
          <Empty>The lag is sampled every 10 s on the agent; a chart appears after two samples.</Empty>
        ) : (
          <TimeChart
            label="Total lag over time"
            data={(history.data ?? []).map((p) => ({ t: p.t, lag: p.lag }))}
            format={(v) => count(v)}
            series={[{ key: "lag", label: "lag (records)", color: "#b45309" }]}
          />
        )}
      </Card>
      <Card title="Members" className="mb-4">
        {g.members.length === 0 ? (
          <Empty>No members: the group is {g.state}.</Empty>
        ) : (
          <Table label="Members">
            <thead>
              <tr>
                <th className={th}>Member</th>
                <th className={th}>Client id</th>
                <th className={th}>Host</th>
                <th className={th}>Assignment</th>
              </tr>
            </thead>
            <tbody>
              {g.members.map((m) => (
                <tr key={m.member_id}>
                  <td className={cx(td, "font-mono text-xs")}>{m.group_instance_id ?? m.member_id}</td>
                  <td className={td}>{m.client_id}</td>
                  <td className={td}>{m.client_host}</td>
                  <td className={cx(td, "text-xs")}>
                    {m.assignment.map((a) => `${a.topic} [${a.partitions.join(", ")}]`).join("; ") || "–"}
                  </td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Card>
      <Card title="Offsets">
        {g.offsets.length === 0 ? (
          <Empty>No committed offsets yet.</Empty>
        ) : (
          <Table label="Offsets">
            <thead>
              <tr>
                <th className={th}>Topic</th>
                <th className={th}>Partition</th>
                <th className={th}>Committed</th>
                <th className={th}>High watermark</th>
                <th className={th}>Lag</th>
                {canWrite && <th className={th}><span className="sr-only">Actions</span></th>}
              </tr>
            </thead>
            <tbody>
              {g.offsets.map((o) => (
                <tr key={`${o.topic}-${o.partition}`}>
                  <td className={td}>{o.topic}</td>
                  <td className={td}>{o.partition}</td>
                  <td className={cx(td, "tabular-nums")}>{o.committed_offset < 0 ? "–" : o.committed_offset}</td>
                  <td className={cx(td, "tabular-nums")}>{o.high_watermark}</td>
                  <td className={cx(td, "tabular-nums")}>{count(o.lag)}</td>
                  {canWrite && (
                    <td className={cx(td, "text-right")}>
                      <Button variant="ghost" aria-label={`Seek ${o.topic} partition ${o.partition}`} onClick={() => setResetting({ topic: o.topic, partition: o.partition })}>
                        Seek
                      </Button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Card>
      {resetting && <ResetOffsets group={g} scope={resetting} onClose={() => setResetting(null)} />}
      {deleting && (
        <ConfirmDelete
          what={`group ${g.group_id}`}
          name={g.group_id}
          consequence="Its committed offsets are removed; its consumers start again from their auto.offset.reset."
          onClose={() => setDeleting(false)}
          onConfirm={() => del.mutate()}
          pending={del.isPending}
          error={del.error}
        />
      )}
    </Page>
  );
}

function ResetOffsets({ group, scope, onClose }: { group: Detail; scope: { topic?: string; partition?: number }; onClose: () => void }) {
  const qc = useQueryClient();
  const topics = [...new Set(group.offsets.map((o) => o.topic))];
  const [topic, setTopic] = useState(scope.topic ?? "");
  const [strategy, setStrategy] = useState<Strategy>(scope.partition != null ? "specific" : "earliest");
  const [offset, setOffset] = useState("0");
  const [time, setTime] = useState("");
  const [preview, setPreview] = useState<OffsetsChanged | null>(null);
  const body = (dry: boolean) => ({
    strategy,
    topic: topic || undefined,
    partition: scope.partition,
    offset: strategy === "specific" ? Number(offset) : undefined,
    timestamp: strategy === "timestamp" ? localTime(time) : undefined,
    dry_run: dry,
  });
  const dry = useMutation({
    mutationFn: () => api.post<OffsetsChanged>(`/api/v1/consumer-groups/${enc(group.group_id)}/reset`, body(true)),
    onSuccess: setPreview,
  });
  const apply = useMutation({
    mutationFn: () => api.post<OffsetsChanged>(`/api/v1/consumer-groups/${enc(group.group_id)}/reset`, body(false)),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ["group", group.group_id] });
      qc.invalidateQueries({ queryKey: ["groups"] });
      onClose();
    },
  });
  const current = new Map(group.offsets.map((o) => [`${o.topic}/${o.partition}`, o.committed_offset]));
  const changed = () => {
    setPreview(null);
    dry.reset();
  };
  return (
    <Modal
      title={scope.partition != null ? `Seek ${scope.topic} partition ${scope.partition}` : "Reset offsets"}
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button onClick={() => dry.mutate()} disabled={dry.isPending}>
            Preview
          </Button>
          <Button variant="primary" onClick={() => apply.mutate()} disabled={!preview || apply.isPending}>
            Apply
          </Button>
        </>
      }
    >
      <p className="text-sm">The group must be Empty (its consumers stopped). Preview first: nothing is committed until Apply.</p>
      {scope.partition == null && (
        <Field label="Topic">
          {(id) => (
            <select id={id} className={inputClass} value={topic} onChange={(e) => (setTopic(e.target.value), changed())}>
              <option value="">every topic of the group</option>
              {topics.map((t) => (
                <option key={t}>{t}</option>
              ))}
            </select>
          )}
        </Field>
      )}
      <Field label="To">
        {(id) => (
          <select id={id} className={inputClass} value={strategy} onChange={(e) => (setStrategy(e.target.value as Strategy), changed())}>
            <option value="earliest">earliest</option>
            <option value="latest">latest</option>
            <option value="specific">an offset</option>
            <option value="timestamp">a time</option>
          </select>
        )}
      </Field>
      {strategy === "specific" && (
        <Field label="Offset">
          {(id) => <input id={id} type="number" min={0} className={inputClass} value={offset} onChange={(e) => (setOffset(e.target.value), changed())} />}
        </Field>
      )}
      {strategy === "timestamp" && (
        <Field label="Time">
          {(id) => <input id={id} type="datetime-local" step={1} className={inputClass} value={time} onChange={(e) => (setTime(e.target.value), changed())} />}
        </Field>
      )}
      <ErrorBox error={dry.error ?? apply.error} />
      {preview && (
        <Table label="New offsets">
          <thead>
            <tr>
              <th className={th}>Topic</th>
              <th className={th}>Partition</th>
              <th className={th}>Now</th>
              <th className={th}>New</th>
              <th className={th}>Lag after</th>
            </tr>
          </thead>
          <tbody>
            {preview.offsets.map((o) => (
              <tr key={`${o.topic}-${o.partition}`} data-testid="preview-row">
                <td className={td}>{o.topic}</td>
                <td className={td}>{o.partition}</td>
                <td className={td}>{current.get(`${o.topic}/${o.partition}`) ?? "–"}</td>
                <td className={cx(td, "font-semibold")}>{o.committed_offset}</td>
                <td className={td}>{count(o.lag)}</td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
    </Modal>
  );
}
