import { describe, expect, it } from "vitest";
import { parseConfigLines } from "./configs";
import { diffLines, jsonTokens, prettySchema } from "./diff";
import { bytes, count, localTime, when } from "./format";
import { buildProduceRecord } from "./produce";
import { nextSort, ratesBetween, sortRows } from "./sort";

describe("configs", () => {
  it("reads key=value lines, skipping blanks and comments", () => {
    expect(parseConfigLines("a=1\n\n# c\n b = x=y ")).toEqual({ config: { a: "1", b: "x=y" }, error: null });
  });
  it("says which line is wrong", () => {
    expect(parseConfigLines("a=1\nnonsense").error).toBe('line 2: expected key=value, got "nonsense"');
    expect(parseConfigLines("a=1\na=2").error).toBe("line 2: a is set twice");
  });
});

describe("producer form", () => {
  const base = { partition: "", key: "", value: "", format: "text" as const, headers: [] };
  it("sends text as text and JSON parsed", () => {
    expect(buildProduceRecord({ ...base, value: "hi" }, 3)).toEqual({ record: { value: "hi", encoding: "text" } });
    expect(buildProduceRecord({ ...base, value: '{"a": [1]}', format: "json" }, 3)).toEqual({
      record: { value: { a: [1] }, encoding: "json" },
    });
  });
  it("refuses what the server would", () => {
    expect(buildProduceRecord({ ...base, value: "{", format: "json" }, 3)).toHaveProperty("error");
    expect(buildProduceRecord({ ...base, partition: "3" }, 3)).toEqual({ error: "no partition 3" });
    expect(buildProduceRecord({ ...base, headers: [{ key: "", value: "v" }] }, 3)).toEqual({ error: "a header needs a name" });
  });
  it("names the subject for a value written with a registered schema", () => {
    expect(buildProduceRecord({ ...base, value: '{"id": "o1"}', format: "schema", subject: "orders-value" }, 3)).toEqual({
      record: { value: { id: "o1" }, encoding: "json", value_subject: "orders-value" },
    });
    expect(buildProduceRecord({ ...base, value: "{}", format: "schema" }, 3)).toEqual({ error: "choose a subject of the schema registry" });
  });
  it("keeps key, partition and headers, dropping empty header rows", () => {
    const r = buildProduceRecord({ ...base, key: "k", partition: "1", headers: [{ key: "h", value: "v" }, { key: "", value: "" }] }, 3);
    expect(r).toEqual({ record: { value: "", encoding: "text", key: "k", partition: 1, headers: [{ key: "h", value: "v" }] } });
  });
});

describe("sorting and rates", () => {
  const rows = [
    { n: "b", v: 2 },
    { n: "a", v: 2 },
    { n: "c", v: 1 },
  ];
  it("sorts by a key with names breaking ties", () => {
    const out = sortRows(rows, { key: "v", dir: "desc" }, (r) => r.v, (r) => r.n);
    expect(out.map((r) => r.n)).toEqual(["a", "b", "c"]);
    expect(nextSort({ key: "v", dir: "desc" }, "v")).toEqual({ key: "v", dir: "asc" });
    expect(nextSort({ key: "v", dir: "desc" }, "name")).toEqual({ key: "name", dir: "asc" });
  });
  it("rates from the change of running totals, none for a reset total", () => {
    const before = new Map([
      ["t1", { t: 1000, total: 100 }],
      ["t2", { t: 1000, total: 50 }],
    ]);
    const rates = ratesBetween(before, 3000, [
      { id: "t1", total: 300 },
      { id: "t2", total: 10 },
      { id: "t3", total: 5 },
    ]);
    expect([...rates]).toEqual([["t1", 100]]);
  });
});

describe("formats", () => {
  it("bytes, counts and ages", () => {
    expect([bytes(0), bytes(1536), bytes(5 * 2 ** 30)]).toEqual(["0 B", "1.5 KiB", "5.0 GiB"]);
    expect([count(9999), count(12_345), count(3_400_000)]).toEqual(["9,999", "12.3k", "3.4M"]);
    expect([when(0), when(95_000, 100_000), when(0 + 1, 7_200_001)]).toEqual(["never", "5s ago", "2h ago"]);
    expect(localTime("")).toBeUndefined();
    expect(localTime("nonsense")).toBeUndefined();
  });
});

describe("schema diff and highlighting", () => {
  it("marks added and removed lines around the common ones", () => {
    const d = diffLines("a\nb\nc", "a\nc\nd");
    expect(d).toEqual([
      { kind: "same", text: "a" },
      { kind: "removed", text: "b" },
      { kind: "same", text: "c" },
      { kind: "added", text: "d" },
    ]);
  });
  it("pretty-prints Avro and JSON Schema, not Protobuf", () => {
    expect(prettySchema('{"type":"string"}', "AVRO")).toBe('{\n  "type": "string"\n}');
    expect(prettySchema('syntax = "proto3";', "PROTOBUF")).toBe('syntax = "proto3";');
  });
  it("tokenizes keys, strings, numbers and keywords", () => {
    const kinds = jsonTokens('{"a": "x", "b": 1.5, "c": null}').filter((t) => t.kind !== "punct" && t.kind !== "text");
    expect(kinds.map((t) => [t.kind, t.text])).toEqual([
      ["key", '"a"'],
      ["string", '"x"'],
      ["key", '"b"'],
      ["number", "1.5"],
      ["key", '"c"'],
      ["keyword", "null"],
    ]);
  });
});
