// The message browser's logic: the query of a page, how a value is shown, exports.
import type { ConsumedRecord, Decoded } from "./types";

export type Start = "earliest" | "latest" | "offset" | "timestamp";
export type ViewAs = "text" | "json" | "hex" | "registry";

export interface BrowseQuery {
  partitions: number[]; // empty: all
  start: Start;
  offset?: number;
  timestamp?: number;
  cursor?: string;
  direction?: "forward" | "backward";
  limit: number;
  key?: string;
  value?: string;
  header?: string;
  since?: number;
  until?: number;
  decode?: boolean; // values in the registry's wire format read with their schemas
}

export interface MessagePage {
  topic: string;
  records: ConsumedRecord[];
  before: string;
  after: string;
  has_older: boolean;
  has_newer: boolean;
  scanned: number;
  low_watermarks: Record<string, number>;
  high_watermarks: Record<string, number>;
}

/** The query string of GET /api/v1/topics/{name}/messages for a browse state. */
export function browseParams(q: BrowseQuery): URLSearchParams {
  const p = new URLSearchParams();
  if (q.partitions.length) p.set("partitions", [...q.partitions].sort((a, b) => a - b).join(","));
  if (q.cursor) {
    p.set("cursor", q.cursor);
    p.set("direction", q.direction ?? "forward");
  } else {
    p.set("position", q.start);
    if (q.start === "offset") p.set("offset", String(q.offset ?? 0));
    if (q.start === "timestamp") p.set("timestamp", String(q.timestamp ?? 0));
  }
  p.set("limit", String(q.limit));
  if (q.key) p.set("key", q.key);
  if (q.value) p.set("value", q.value);
  if (q.header) p.set("header", q.header);
  if (q.since != null) p.set("since", String(q.since));
  if (q.until != null) p.set("until", String(q.until));
  if (q.decode) p.set("decode", "true");
  return p;
}

/** The bytes of a value as the API gave it (UTF-8 text, or base64 for other bytes). */
export function valueBytes(value: string | null, encoding: "text" | "base64"): Uint8Array | null {
  if (value == null) return null;
  if (encoding === "base64") {
    const bin = atob(value);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  return new TextEncoder().encode(value);
}

export function hex(bytes: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i++) parts.push(bytes[i].toString(16).padStart(2, "0"));
  return parts.join(" ");
}

/** A value shown as text, pretty JSON (when it parses), hex, or read with its registered
 * schema (when the server decoded it: `decoded`; other values fall back to text). */
export function show(value: string | null, encoding: "text" | "base64", as: ViewAs, decoded?: Decoded | null): string {
  if (value == null) return "null";
  if (as === "registry" && decoded) {
    if (decoded.error) return `(${decoded.error})`;
    return JSON.stringify(decoded.value, null, 2);
  }
  if (as === "hex") return hex(valueBytes(value, encoding)!);
  if (encoding === "base64") return `base64:${value}`;
  if (as === "json") {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  return value;
}

function csvCell(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(records: ConsumedRecord[]): string {
  const rows = [["partition", "offset", "timestamp", "key", "value", "headers"]];
  for (const r of records) {
    rows.push([
      String(r.partition),
      String(r.offset),
      new Date(r.timestamp).toISOString(),
      r.key ?? "",
      r.value ?? "",
      JSON.stringify(Object.fromEntries(r.headers.map((h) => [h.key, h.value]))),
    ]);
  }
  return rows.map((row) => row.map(csvCell).join(",")).join("\r\n") + "\r\n";
}

export function toJson(records: ConsumedRecord[]): string {
  return JSON.stringify(records, null, 2) + "\n";
}

/** Records appended by a live tail, without repeats, the newest `cap` kept. */
export function appendTail(shown: ConsumedRecord[], more: ConsumedRecord[], cap = 500): ConsumedRecord[] {
  const seen = new Set(shown.map((r) => `${r.partition}:${r.offset}`));
  const merged = [...shown, ...more.filter((r) => !seen.has(`${r.partition}:${r.offset}`))];
  return merged.slice(Math.max(0, merged.length - cap));
}

export function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  URL.revokeObjectURL(url);
}
