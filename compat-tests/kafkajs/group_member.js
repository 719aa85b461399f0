#!/usr/bin/env node
// One kafkajs consumer-group member for the StreamHouse group compat tests
// (driven by test_groups_kafkajs.py through group_scenarios.ProcessMember).
//
//   node group_member.js --spec '{"bootstrap": ..., "topic": ..., "group": ..., ...}'
//
// The spec is group_scenarios.MemberSpec as JSON. The member prints one JSON event per
// line on stdout, the same events as the Python drivers (see group_scenarios.py):
// subscribing, assign, revoke, records, commit, error, closed. It stops (commit,
// disconnect = LeaveGroup) on a "close" line on stdin or at EOF, or by itself after
// spec.stop_after records. kafkajs' own log (WARN and up) goes to stderr.
//
// Processing model, as for the Python members: eachBatch hands every record of the
// batch to the "application" (printed as a records event), resolves its offset, then
// commits the processed offsets explicitly (autoCommit off) before returning. kafkajs is
// eager-only and has no revoke callback: a REBALANCING event (raised when a fetch or
// heartbeat sees REBALANCE_IN_PROGRESS) counts as revoking everything, GROUP_JOIN carries
// the new assignment. kafkajs cannot do static membership (no group.instance.id).
'use strict'

const readline = require('readline')
const { Kafka, logLevel } = require('kafkajs')

function parseArgs(argv) {
  const i = argv.indexOf('--spec')
  if (i < 0 || !argv[i + 1]) throw new Error('--spec JSON is required')
  return JSON.parse(argv[i + 1])
}

function emit(ev) {
  process.stdout.write(JSON.stringify(ev) + '\n')
}

function stderrLogger() {
  return level => ({ namespace, label, log }) => {
    const { message, ...extra } = log
    process.stderr.write(`[kafkajs ${label}] ${namespace}: ${message} ${JSON.stringify(extra)}\n`)
  }
}

function describe(e) {
  if (!e) return String(e)
  const type = e.type ? ` [${e.type}]` : ''
  return `${e.name || 'Error'}${type}: ${e.message}`
}

async function main() {
  const spec = parseArgs(process.argv)
  if (spec.instance_id) throw new Error('kafkajs has no static membership (group.instance.id)')
  if (spec.assignor && spec.assignor !== 'roundrobin') {
    throw new Error(`kafkajs only has the roundrobin assignor, not ${spec.assignor}`)
  }
  const kafka = new Kafka({
    clientId: spec.client_id || `compat-kafkajs-${spec.name}`,
    brokers: [spec.bootstrap],
    logLevel: logLevel.WARN,
    logCreator: stderrLogger(),
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
  })
  const consumer = kafka.consumer({
    groupId: spec.group,
    sessionTimeout: spec.session_timeout_ms,
    heartbeatInterval: spec.heartbeat_interval_ms,
    rebalanceTimeout: spec.max_poll_interval_ms,
    maxWaitTimeInMs: 100,
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
  })

  let owned = new Set()
  const uncommitted = new Map() // partition -> next offset
  let processed = 0
  let stopping = false
  let closed = false

  const sorted = s => [...s].sort((a, b) => a - b)

  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    const parts = payload.memberAssignment[spec.topic] || []
    owned = new Set(parts)
    emit({ ev: 'assign', partitions: sorted(parts), owned: sorted(owned) })
  })
  consumer.on(consumer.events.REBALANCING, () => {
    if (owned.size === 0) return
    const parts = sorted(owned)
    owned = new Set()
    for (const p of parts) uncommitted.delete(p)
    emit({ ev: 'revoke', partitions: parts, owned: [], lost: false })
  })
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    emit({ ev: 'error', error: `crash: ${describe(payload.error)}`, fatal: !payload.restart })
  })

  async function commit(where) {
    if (!spec.commit || uncommitted.size === 0) return
    const offsets = Object.fromEntries(uncommitted)
    try {
      await consumer.commitOffsets(
        [...uncommitted].map(([partition, offset]) => ({
          topic: spec.topic,
          partition,
          offset: String(offset),
        }))
      )
      for (const [p, o] of Object.entries(offsets)) {
        if (uncommitted.get(Number(p)) === o) uncommitted.delete(Number(p))
      }
      emit({ ev: 'commit', ok: true, offsets, where, error: null })
    } catch (e) {
      emit({ ev: 'commit', ok: false, offsets, where, error: describe(e) })
    }
  }

  async function shutdown() {
    if (stopping) return
    stopping = true
    try {
      await commit('close')
      await consumer.disconnect()
    } catch (e) {
      emit({ ev: 'error', error: `close: ${describe(e)}`, fatal: false })
    }
    closed = true
    emit({ ev: 'closed' })
    process.exit(0)
  }

  const rl = readline.createInterface({ input: process.stdin })
  rl.on('line', line => {
    if (line.trim() === 'close') shutdown()
  })
  rl.on('close', () => shutdown())

  await consumer.connect()
  emit({ ev: 'subscribing' })
  await consumer.subscribe({ topics: [spec.topic], fromBeginning: spec.auto_offset_reset === 'earliest' })
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 1,
    eachBatch: async ({ batch, resolveOffset, isRunning, isStale }) => {
      const recs = []
      for (const m of batch.messages) {
        if (stopping || !isRunning() || isStale()) break
        if (spec.stop_after && processed >= spec.stop_after) break
        recs.push([batch.partition, Number(m.offset), m.value.toString()])
        processed++
        resolveOffset(m.offset)
      }
      if (recs.length === 0) return
      emit({ ev: 'records', recs })
      uncommitted.set(batch.partition, recs[recs.length - 1][1] + 1)
      await commit('poll')
      if (spec.stop_after && processed >= spec.stop_after) setImmediate(shutdown)
    },
  })
  if (closed) return
}

main().catch(e => {
  emit({ ev: 'error', error: describe(e), fatal: true })
  emit({ ev: 'closed' })
  process.stderr.write(`group_member.js failed: ${e && e.stack ? e.stack : e}\n`)
  process.exit(1)
})
