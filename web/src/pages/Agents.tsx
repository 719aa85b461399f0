import { useQuery } from "@tanstack/react-query";
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { api } from "../lib/api";
import { useAuth } from "../lib/auth";
import { bytes, count, duration, when } from "../lib/format";
import type { Cluster } from "../lib/types";
import { Badge, Card, cx, Empty, ErrorBox, Loading, Page, Stat, Table, td, th } from "../components/ui";

interface StoreHealth {
  breaker: string;
  consecutive_failures: number;
  retry_after_s: number;
  rates: Record<string, { current: number; max: number }>;
}

interface Ready {
  status: string;
  catalogue: string;
  objects: string;
}

export default function Agents() {
  const { me } = useAuth();
  const cluster = useQuery({
    queryKey: ["cluster"],
    queryFn: () => api.get<Cluster>("/api/v1/cluster"),
    refetchInterval: 5_000,
    enabled: !me.auth || me.platform_admin,
  });
  const ready = useQuery({
    queryKey: ["ready"],
    // 503 still carries the checks: read the body either way.
    queryFn: async () => (await fetch("/ready")).json() as Promise<Ready>,
    refetchInterval: 5_000,
  });
  const store = useQuery({
    queryKey: ["object-store"],
    queryFn: () => api.get<StoreHealth>("/api/v1/cluster/object-store"),
    refetchInterval: 5_000,
    enabled: !me.auth || me.platform_admin,
  });
  if (me.auth && !me.platform_admin) {
    return (
      <Page title="Agents">
        <Empty>The cluster's agents are the platform admin's to see.</Empty>
      </Page>
    );
  }
  if (cluster.isPending) return <Loading what="Loading the cluster" />;
  if (cluster.error) {
    return (
      <Page title="Agents">
        <ErrorBox error={cluster.error} />
      </Page>
    );
  }
  const c = cluster.data;
  const distribution = Object.entries(c.partitions_per_agent).map(([agent, n]) => ({ agent, n }));
  const health = (v: string | undefined) => (v === "ok" ? <Badge tone="good">ok</Badge> : <Badge tone="bad">{v ?? "…"}</Badge>);
  return (
    <Page title="Agents" subtitle={<span>cluster <code>{c.cluster_id}</code></span>}>
      <div className="mb-4 grid grid-cols-2 gap-3 md:grid-cols-5">
        <Stat label="Healthy agents" value={c.agents_healthy} />
        <Stat label="Stale agents" value={c.agents_stale} />
        <Stat label="Partitions" value={count(c.partitions)} />
        <Stat label="Storage" value={bytes(c.storage_bytes)} />
        <div className="rounded-lg border border-line bg-panel p-4 text-sm shadow-sm">
          <div className="text-xs font-medium uppercase tracking-wide text-muted">Dependencies</div>
          <div className="mt-1 space-y-1">
            <div>catalogue {health(ready.data?.catalogue)}</div>
            <div>object store {health(ready.data?.objects)}</div>
            <div>
              breaker{" "}
              <Badge tone={store.data?.breaker === "closed" ? "good" : store.data ? "bad" : "neutral"}>{store.data?.breaker ?? "…"}</Badge>
            </div>
          </div>
        </div>
      </div>
      <Card title="Agents" className="mb-4">
        <Table label="Agents">
          <thead>
            <tr>
              {["Agent", "Broker id", "Address", "Zone", "Group", "State", "Heartbeat", "Uptime", "Partitions led", "Written"].map((h) => (
                <th key={h} className={th}>
                  {h}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {c.agents.map((a) => (
              <tr key={a.id} className={cx(!a.healthy && "opacity-70")}>
                <td className={cx(td, "font-mono text-xs")}>{a.id}</td>
                <td className={td}>{a.broker_id}</td>
                <td className={cx(td, "font-mono text-xs")}>
                  {a.host}:{a.port}
                </td>
                <td className={td}>{a.rack ?? "–"}</td>
                <td className={td}>{a.group}</td>
                <td className={td}>{a.healthy ? <Badge tone="good">healthy</Badge> : <Badge tone="bad">stale</Badge>}</td>
                <td className={td}>{when(a.heartbeat_at)}</td>
                <td className={td}>{duration(a.uptime_seconds)}</td>
                <td className={cx(td, "tabular-nums")}>{a.partitions_led}</td>
                <td className={cx(td, "tabular-nums")}>
                  {bytes(a.bytes_written)} · {count(a.records_written)} records
                </td>
              </tr>
            ))}
          </tbody>
        </Table>
      </Card>
      {store.data && (
        <Card title="Object store throttle (this agent)" className="mb-4">
          <Table label="Object store throttle">
            <thead>
              <tr>
                <th className={th}>Operation</th>
                <th className={th}>Allowed now</th>
                <th className={th}>Ceiling</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(store.data.rates).map(([op, r]) => (
                <tr key={op}>
                  <td className={td}>{op.toUpperCase()}</td>
                  <td className={cx(td, "tabular-nums")}>
                    {r.current.toFixed(0)}/s {r.current < r.max && <Badge tone="warn">throttled</Badge>}
                  </td>
                  <td className={cx(td, "tabular-nums")}>{r.max.toFixed(0)}/s</td>
                </tr>
              ))}
            </tbody>
          </Table>
          {store.data.consecutive_failures > 0 && (
            <p className="mt-2 text-sm">
              {store.data.consecutive_failures} failures in a row; next try in {store.data.retry_after_s}s.
            </p>
          )}
        </Card>
      )}
      <Card title="Partition leadership">
        {distribution.length === 0 ? (
          <Empty>No partitions are led yet.</Empty>
        ) : (
          <div role="img" aria-label="Partitions led per agent" style={{ height: 220 }}>
            <ResponsiveContainer width="100%" height="100%">
              <BarChart data={distribution}>
                <CartesianGrid strokeDasharray="3 3" stroke="var(--sh-line)" />
                <XAxis dataKey="agent" stroke="var(--sh-muted)" fontSize={11} />
                <YAxis stroke="var(--sh-muted)" fontSize={11} allowDecimals={false} />
                <Tooltip contentStyle={{ background: "var(--sh-panel)", border: "1px solid var(--sh-line)" }} />
                <Bar dataKey="n" name="partitions" fill="#0e7490" isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </div>
        )}
      </Card>
    </Page>
  );
}
