// The producer console's form into one record of POST /api/v1/produce, validated first.

export interface ProduceForm {
  partition: string; // "" for auto
  key: string;
  value: string;
  format: "text" | "json";
  headers: { key: string; value: string }[];
}

export interface ProduceRecord {
  key?: string;
  value: unknown;
  encoding: "text" | "json";
  partition?: number;
  headers?: { key: string; value: string }[];
}

export function buildProduceRecord(form: ProduceForm, partitions: number): { record: ProduceRecord } | { error: string } {
  const record: ProduceRecord = { value: form.value, encoding: "text" };
  if (form.format === "json") {
    try {
      record.value = JSON.parse(form.value);
      record.encoding = "json";
    } catch (e) {
      return { error: `not JSON: ${(e as Error).message}` };
    }
  }
  if (form.key) record.key = form.key;
  if (form.partition !== "") {
    const p = Number(form.partition);
    if (!Number.isInteger(p) || p < 0 || (partitions && p >= partitions)) return { error: `no partition ${form.partition}` };
    record.partition = p;
  }
  const headers = form.headers.filter((h) => h.key || h.value);
  for (const h of headers) if (!h.key) return { error: "a header needs a name" };
  if (headers.length) record.headers = headers;
  return { record };
}
