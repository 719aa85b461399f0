import { useMemo, useState } from "react";
import { Link } from "react-router-dom";
import { useQuery } from "@tanstack/react-query";
import { api, enc } from "../lib/api";
import { count } from "../lib/format";
import { nextSort, sortRows, type SortState } from "../lib/sort";
import type { GroupSummary } from "../lib/types";
import { Badge, cx, Empty, ErrorBox, Loading, Page, SearchBox, SortHeader, Table, td } from "../components/ui";

type Key = "name" | "state" | "members" | "lag";

export function stateTone(state: string): "good" | "bad" | "warn" | "neutral" {
  if (state === "Stable") return "good";
  if (state === "Dead") return "bad";
  if (state === "PreparingRebalance" || state === "CompletingRebalance") return "warn";
  return "neutral";
}

export default function Groups() {
  const [filter, setFilter] = useState("");
  const [sort, setSort] = useState<SortState<Key>>({ key: "name", dir: "asc" });
  const groups = useQuery({
    queryKey: ["groups"],
    queryFn: () => api.get<GroupSummary[]>("/api/v1/consumer-groups"),
    refetchInterval: 5_000,
  });
  const rows = useMemo(() => {
    const q = filter.trim().toLowerCase();
    const list = (groups.data ?? []).filter((g) => !q || g.group_id.toLowerCase().includes(q));
    return sortRows(list, sort, (g, k) => ({ name: g.group_id, state: g.state, members: g.members, lag: g.total_lag })[k], (g) => g.group_id);
  }, [groups.data, filter, sort]);
  const head = (k: Key, label: string) => <SortHeader k={k} label={label} sort={sort} onSort={(key) => setSort(nextSort(sort, key))} />;
  return (
    <Page title="Consumer groups" subtitle={groups.data ? `${groups.data.length} groups` : undefined}>
      <SearchBox label="Search groups" value={filter} onChange={setFilter} />
      <ErrorBox error={groups.error} />
      {groups.isPending ? (
        <Loading what="Loading groups" />
      ) : rows.length === 0 ? (
        <Empty>{groups.data?.length ? "No group matches the search." : "No consumer groups yet: they appear when a consumer joins or commits."}</Empty>
      ) : (
        <Table label="Consumer groups">
          <thead>
            <tr>
              {head("name", "Group")}
              {head("state", "State")}
              {head("members", "Members")}
              {head("lag", "Lag")}
            </tr>
          </thead>
          <tbody>
            {rows.map((g) => (
              <tr key={g.group_id}>
                <td className={td}>
                  <Link className="text-link underline" to={`/groups/${enc(g.group_id)}`}>
                    {g.group_id}
                  </Link>
                </td>
                <td className={td}>
                  <Badge tone={stateTone(g.state)}>{g.state}</Badge>
                </td>
                <td className={cx(td, "tabular-nums")}>{g.members}</td>
                <td className={cx(td, "tabular-nums")}>{count(g.total_lag)}</td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
    </Page>
  );
}
