import { useEffect, useRef, useState } from "react";
import { Link } from "react-router-dom";
import { useQuery } from "@tanstack/react-query";
import { api, enc } from "../lib/api";
import { useAuth } from "../lib/auth";
import { bytes, count, when } from "../lib/format";
import type { Agent, GroupSummary, MetricsSummary, Topic, Usage } from "../lib/types";
import { Badge, Card, Empty, ErrorBox, Page, Stat, Table, td, th } from "../components/ui";
import { TimeChart } from "../components/charts";

const REFRESH = 5_000;

/** Rates from the deltas of running totals between polls (an organization's own figures). */
function useRates(usage: Usage | undefined) {
  const last = useRef<{ t: number; u: Usage } | null>(null);
  const [points, setPoints] = useState<Record<string, number>[]>([]);
  useEffect(() => {
    if (!usage) return;
    const t = Date.now();
    const prev = last.current;
    last.current = { t, u: usage };
    if (!prev || t - prev.t < 500) return;
    const dt = (t - prev.t) / 1000;
    setPoints((p) =>
      [
        ...p,
        {
          t,
          produce_bytes_per_s: Math.max(0, (usage.bytes_in - prev.u.bytes_in) / dt),
          fetch_bytes_per_s: Math.max(0, (usage.bytes_out - prev.u.bytes_out) / dt),
        },
      ].slice(-360),
    );
  }, [usage]);
  return points;
}

export function Dashboard() {
  const { me } = useAuth();
  const operator = !me.auth || me.platform_admin;
  const topics = useQuery({
    queryKey: ["topics"],
    queryFn: () => api.get<Topic[]>("/api/v1/topics"),
    refetchInterval: REFRESH,
  });
  const groups = useQuery({
    queryKey: ["groups"],
    queryFn: () => api.get<GroupSummary[]>("/api/v1/consumer-groups"),
    refetchInterval: REFRESH,
  });
  const metrics = useQuery({
    queryKey: ["metrics"],
    queryFn: () => api.get<MetricsSummary>("/api/v1/metrics"),
    refetchInterval: REFRESH,
    enabled: operator,
  });
  const agents = useQuery({
    queryKey: ["agents"],
    queryFn: () => api.get<Agent[]>("/api/v1/agents"),
    refetchInterval: REFRESH,
    enabled: operator,
  });
  const usage = useQuery({
    queryKey: ["usage", me.org_id],
    queryFn: () => api.get<Usage>(`/api/v1/organizations/${enc(me.org_id)}/usage`),
    refetchInterval: REFRESH,
    enabled: !operator,
  });
  const orgRates = useRates(usage.data);

  const list = topics.data ?? [];
  const messages = list.reduce((n, t) => n + t.records, 0);
  const storage = operator ? metrics.data?.storage_bytes : usage.data?.storage_bytes;
  const lag = (groups.data ?? []).reduce((n, g) => n + g.total_lag, 0);
  const series = operator ? (metrics.data?.series ?? []).map((p) => ({ ...p })) : orgRates;
  const latest = series.length ? series[series.length - 1] : null;
  const recent = [...list].sort((a, b) => b.created_at - a.created_at).slice(0, 5);

  return (
    <Page title="Dashboard" subtitle={me.auth ? `Organization ${me.org_name || me.org_slug}` : "Every topic of this cluster"}>
      <ErrorBox error={topics.error ?? groups.error ?? metrics.error ?? usage.error} />
      <div className="grid grid-cols-2 gap-3 md:grid-cols-3 lg:grid-cols-6">
        <Stat label="Topics" value={topics.data ? count(list.length) : "…"} />
        <Stat label="Messages" value={topics.data ? count(messages) : "…"} hint="records retained" />
        <Stat label="Storage" value={storage == null ? "…" : bytes(storage)} />
        <Stat label="Consumer lag" value={groups.data ? count(lag) : "…"} hint={`${groups.data?.length ?? 0} groups`} />
        <Stat
          label="Produce"
          value={latest ? `${bytes(latest.produce_bytes_per_s)}/s` : "–"}
          hint={latest && "produce_records_per_s" in latest ? `${count(latest.produce_records_per_s)} records/s` : "bytes in"}
        />
        <Stat
          label="Fetch"
          value={latest ? `${bytes(latest.fetch_bytes_per_s)}/s` : "–"}
          hint={latest && "fetch_records_per_s" in latest ? `${count(latest.fetch_records_per_s)} records/s` : "bytes out"}
        />
      </div>

      <Card title="Throughput" className="mt-4">
        {series.length < 2 ? (
          <Empty>Throughput appears here after a few samples (every 10 s on the agent).</Empty>
        ) : (
          <TimeChart
            label="Produce and fetch bytes per second"
            data={series}
            format={(v) => `${bytes(v)}/s`}
            series={[
              { key: "produce_bytes_per_s", label: "produce", color: "#0e7490" },
              { key: "fetch_bytes_per_s", label: "fetch", color: "#a16207" },
            ]}
          />
        )}
      </Card>

      <div className="mt-4 grid gap-4 lg:grid-cols-2">
        <Card title="Recent topics" actions={<Link className="text-sm text-link underline" to="/topics">All topics</Link>}>
          {recent.length === 0 ? (
            <Empty>
              No topics yet. <Link className="text-link underline" to="/topics?create=1">Create one</Link>.
            </Empty>
          ) : (
            <Table label="Recent topics">
              <thead>
                <tr>
                  <th className={th}>Topic</th>
                  <th className={th}>Partitions</th>
                  <th className={th}>Records</th>
                  <th className={th}>Size</th>
                </tr>
              </thead>
              <tbody>
                {recent.map((t) => (
                  <tr key={t.id}>
                    <td className={td}>
                      <Link className="text-link underline" to={`/topics/${enc(t.name)}`}>
                        {t.name}
                      </Link>
                    </td>
                    <td className={td}>{t.partitions}</td>
                    <td className={td}>{count(t.records)}</td>
                    <td className={td}>{bytes(t.size_bytes)}</td>
                  </tr>
                ))}
              </tbody>
            </Table>
          )}
        </Card>
        {operator && (
          <Card title="Agents" actions={<Link className="text-sm text-link underline" to="/agents">Details</Link>}>
            {agents.error ? (
              <ErrorBox error={agents.error} />
            ) : (
              <Table label="Agents">
                <thead>
                  <tr>
                    <th className={th}>Agent</th>
                    <th className={th}>State</th>
                    <th className={th}>Partitions led</th>
                    <th className={th}>Heartbeat</th>
                  </tr>
                </thead>
                <tbody>
                  {(agents.data ?? []).map((a) => (
                    <tr key={a.id}>
                      <td className={td}>
                        <code>{a.id}</code>
                      </td>
                      <td className={td}>{a.healthy ? <Badge tone="good">healthy</Badge> : <Badge tone="bad">stale</Badge>}</td>
                      <td className={td}>{a.partitions_led}</td>
                      <td className={td}>{when(a.heartbeat_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </Table>
            )}
          </Card>
        )}
      </div>
    </Page>
  );
}
