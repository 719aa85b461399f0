// The producer console's form into one record of POST /api/v1/produce, validated first.

export interface ProduceForm {
  partition: string; // "" for auto
  key: string;
  value: string;
  format: "text" | "json" | "schema";
  subject?: string; // format "schema": the value (JSON) written with this subject's latest schema
  headers: { key: string; value: string }[];
}

export interface ProduceRecord {
  key?: string;
  value: unknown;
  encoding: "text" | "json";
  partition?: number;
  headers?: { key: string; value: string }[];
  value_subject?: string;
}

export function buildProduceRecord(form: ProduceForm, partitions: number): { record: ProduceRecord } | { error: string } {
  const record: ProduceRecord = { value: form.value, encoding: "text" };
  if (form.format === "json" || form.format === "schema") {
    try {
      record.value = JSON.parse(form.value);
      record.encoding = "json";
    } catch (e) {
      return { error: `not JSON: ${(e as Error).message}` };
    }
  }
  if (form.format === "schema") {
    if (!form.subject) return { error: "choose a subject of the schema registry" };
    // The server writes it with the subject's latest schema, and refuses a value off it.
    record.value_subject = form.subject;
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
