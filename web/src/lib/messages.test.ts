import { describe, expect, it } from "vitest";
import { appendTail, browseParams, hex, show, toCsv, valueBytes } from "./messages";
import type { ConsumedRecord } from "./types";

const rec = (partition: number, offset: number, value: string | null, extra: Partial<ConsumedRecord> = {}): ConsumedRecord => ({
  partition,
  offset,
  timestamp: Date.UTC(2026, 11, 1, 10, 0, 0),
  key: "k",
  key_encoding: "text",
  value,
  value_encoding: "text",
  headers: [],
  ...extra,
});

describe("browseParams", () => {
  it("starts from a position without a cursor", () => {
    const p = browseParams({ partitions: [2, 0], start: "offset", offset: 15, limit: 50 });
    expect(p.toString()).toBe("partitions=0%2C2&position=offset&offset=15&limit=50");
  });
  it("a cursor wins over the position, with its direction", () => {
    const p = browseParams({ partitions: [], start: "latest", cursor: "0:5,1:7", direction: "backward", limit: 20, key: "k1" });
    expect(p.get("cursor")).toBe("0:5,1:7");
    expect(p.get("direction")).toBe("backward");
    expect(p.has("position")).toBe(false);
    expect(p.get("key")).toBe("k1");
  });
  it("passes a time range and a header filter", () => {
    const p = browseParams({ partitions: [], start: "timestamp", timestamp: 1000, limit: 10, header: "trace=abc", since: 5, until: 9 });
    expect([p.get("position"), p.get("timestamp"), p.get("header"), p.get("since"), p.get("until")]).toEqual([
      "timestamp",
      "1000",
      "trace=abc",
      "5",
      "9",
    ]);
  });
});

describe("show", () => {
  it("pretty-prints JSON and leaves other text alone", () => {
    expect(show('{"a":1}', "text", "json")).toBe('{\n  "a": 1\n}');
    expect(show("not json", "text", "json")).toBe("not json");
  });
  it("shows bytes as hex, from text or base64", () => {
    expect(show("AB", "text", "hex")).toBe("41 42");
    expect(show("AAH/", "base64", "hex")).toBe("00 01 ff");
    expect(hex(valueBytes("é", "text")!)).toBe("c3 a9");
  });
  it("shows what the server read with the registered schema, or why it could not", () => {
    const decoded = { schema_id: 3, schema_type: "AVRO", value: { id: "o1" }, error: null };
    expect(show("AAAAAAMEbzE=", "base64", "registry", decoded)).toBe('{\n  "id": "o1"\n}');
    expect(show("x", "text", "registry", { ...decoded, value: null, error: "schema id 3 is not registered" })).toBe(
      "(schema id 3 is not registered)",
    );
    expect(show("plain", "text", "registry", null)).toBe("plain"); // not framed: as text
  });
  it("marks base64 values and nulls", () => {
    expect(show("AAH/", "base64", "text")).toBe("base64:AAH/");
    expect(show(null, "text", "text")).toBe("null");
  });
});

describe("exports and the live tail", () => {
  it("quotes CSV cells that need it", () => {
    const csv = toCsv([rec(0, 1, 'say "hi", then\nleave', { headers: [{ key: "h", value: "v", encoding: "text" }] })]);
    expect(csv.split("\r\n")[0]).toBe("partition,offset,timestamp,key,value,headers");
    expect(csv).toContain('"say ""hi"", then\nleave"');
    expect(csv).toContain('"{""h"":""v""}"');
  });
  it("appends without repeats and keeps the newest", () => {
    const shown = [rec(0, 1, "a"), rec(1, 1, "b")];
    const merged = appendTail(shown, [rec(1, 1, "b"), rec(1, 2, "c"), rec(0, 2, "d")], 3);
    expect(merged.map((r) => `${r.partition}:${r.offset}`)).toEqual(["1:1", "1:2", "0:2"]);
  });
});
