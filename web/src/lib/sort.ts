export type Direction = "asc" | "desc";

export interface SortState<K extends string> {
  key: K;
  dir: Direction;
}

/** A stable sort by one key, names as the tie-break (so equal rows keep a fixed order). */
export function sortRows<T, K extends string>(
  rows: T[],
  state: SortState<K>,
  value: (row: T, key: K) => number | string,
  name: (row: T) => string,
): T[] {
  const sign = state.dir === "asc" ? 1 : -1;
  return [...rows].sort((a, b) => {
    const va = value(a, state.key);
    const vb = value(b, state.key);
    const c = typeof va === "number" && typeof vb === "number" ? va - vb : String(va).localeCompare(String(vb));
    return c !== 0 ? sign * c : name(a).localeCompare(name(b));
  });
}

export function nextSort<K extends string>(state: SortState<K>, key: K): SortState<K> {
  if (state.key === key) return { key, dir: state.dir === "asc" ? "desc" : "asc" };
  return { key, dir: key === "name" ? "asc" : "desc" };
}

/** Per-row rates from the change of a running total between two polls. */
export function ratesBetween(
  before: Map<string, { t: number; total: number }>,
  now: number,
  rows: { id: string; total: number }[],
): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of rows) {
    const prev = before.get(r.id);
    if (prev && now > prev.t && r.total >= prev.total) out.set(r.id, ((r.total - prev.total) * 1000) / (now - prev.t));
  }
  return out;
}
