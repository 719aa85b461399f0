// Shapes of the REST API's answers (docs/REST-API.md; /openapi.json is the full schema).

export interface Whoami {
  auth: boolean;
  principal: string;
  kind: string;
  scope: string | null;
  org_id: string;
  org_slug: string;
  org_name: string;
  platform_admin: boolean;
  can_write: boolean;
}

export interface Topic {
  name: string;
  id: string;
  partitions: number;
  config: Record<string, string>;
  created_at: number;
  records: number;
  size_bytes: number;
  written: number;
  last_append_at: number;
}

export interface TopicConfig {
  name: string;
  value: string;
  source: "topic" | "default";
}

export interface Partition {
  partition: number;
  leader_agent: string | null;
  leader_epoch: number;
  low_watermark: number;
  high_watermark: number;
  size_bytes: number;
  records: number;
  last_append_at: number;
}

export interface Header {
  key: string;
  value: string | null;
  encoding: "text" | "base64";
}

export interface Decoded {
  schema_id: number;
  schema_type: string;
  value: unknown;
  error: string | null;
}

export interface ConsumedRecord {
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  key_encoding: "text" | "base64";
  value: string | null;
  value_encoding: "text" | "base64";
  headers: Header[];
  key_decoded?: Decoded | null;
  value_decoded?: Decoded | null;
}

export interface ConsumeResponse {
  topic: string;
  partition: number;
  next_offset: number;
  high_watermark: number;
  records: ConsumedRecord[];
}

export interface ProduceResponse {
  topic: string;
  ack_mode: "none" | "buffered" | "durable";
  records: { partition: number; offset: number }[];
}

export interface Agent {
  id: string;
  broker_id: number;
  host: string;
  port: number;
  rack: string | null;
  group: string;
  started_at: number;
  heartbeat_at: number;
  uptime_seconds: number;
  healthy: boolean;
  partitions_led: number;
  bytes_written: number;
  records_written: number;
}

export interface Lease {
  topic: string;
  partition: number;
  epoch: number;
  expires_at: number;
}

export interface Cluster {
  cluster_id: string;
  agents_healthy: number;
  agents_stale: number;
  agents: Agent[];
  partitions: number;
  partitions_per_agent: Record<string, number>;
  storage_bytes: number;
}

export interface Point {
  t: number;
  produce_records_per_s: number;
  produce_bytes_per_s: number;
  fetch_bytes_per_s: number;
  fetch_records_per_s: number;
}

export interface MetricsSummary {
  topics: number;
  partitions: number;
  produce_records_total: number;
  produce_bytes_total: number;
  fetch_bytes_total: number;
  storage_bytes: number;
  series: Point[];
}

export interface GroupSummary {
  group_id: string;
  state: string;
  protocol_type: string;
  members: number;
  total_lag: number;
}

export interface PartitionLag {
  topic: string;
  partition: number;
  committed_offset: number;
  high_watermark: number;
  lag: number;
}

export interface GroupMember {
  member_id: string;
  group_instance_id: string | null;
  client_id: string;
  client_host: string;
  assignment: { topic: string; partitions: number[] }[];
}

export interface GroupDetail {
  group_id: string;
  state: string;
  protocol_type: string;
  protocol: string;
  members: GroupMember[];
  offsets: PartitionLag[];
  total_lag: number;
}

export interface Organization {
  id: string;
  slug: string;
  name: string;
  plan: string;
  status: string;
  created_at: number;
}

export interface ApiKey {
  id: string;
  org_id: string;
  scope: string;
  description: string;
  created_at: number;
  expires_at: number | null;
  revoked: boolean;
  secret?: string;
}

export interface LagPoint {
  t: number;
  lag: number;
}

export interface OffsetsChanged {
  group_id: string;
  dry_run: boolean;
  offsets: PartitionLag[];
}

export interface Usage {
  topics: number;
  partitions: number;
  records: number;
  storage_bytes: number;
  bytes_in: number;
  bytes_out: number;
}

export interface Acl {
  resource_type: string;
  resource_name: string;
  pattern_type: string;
  principal: string;
  host: string;
  operation: string;
  permission: string;
}
