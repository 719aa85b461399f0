#!/usr/bin/env node
// kafkajs round trip for the StreamHouse compat tests (driven by test_kafkajs.py).
//
//   node produce_consume.js --bootstrap 127.0.0.1:9092 --topic T \
//        --input records.jsonl --output consumed.jsonl \
//        [--codec none|gzip|snappy|lz4|zstd] [--acks -1|0|1] [--idempotent] \
//        [--partitions 3] [--timeout-ms 60000]
//
// Reads the records to produce (JSON lines as written by compat_roundtrip.Rec.to_json:
// partition, key/value/header values in base64, timestamp in ms), produces them in order
// with explicit partitions, headers and timestamps, then reads every partition back from
// offset 0 and writes what came back to --output in the same format. Prints one JSON
// summary line on stdout; kafkajs' own log goes to stderr.
//
// Consuming: kafkajs' Consumer only works inside a consumer group, which the broker under
// test may not have, so records are read with a small manual Fetch loop on kafkajs' own
// (internal) Cluster/Broker objects: no JoinGroup, no offset commits.
//
// Codecs: gzip is built into kafkajs; snappy comes from the kafkajs-snappy plugin (pure JS,
// snappyjs); lz4 and zstd use small codec shims below over pure-JS/WebAssembly libraries
// (lz4js, zstd-codec) because the published plugins (kafkajs-lz4, @kafkajs/zstd) need
// native builds.
'use strict'

const fs = require('fs')
const { Kafka, CompressionTypes, CompressionCodecs, Partitioners, logLevel } = require('kafkajs')

function parseArgs(argv) {
  const args = { codec: 'none', acks: -1, idempotent: false, partitions: 3, timeoutMs: 60000 }
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]
    const next = () => argv[++i]
    switch (a) {
      case '--bootstrap': args.bootstrap = next(); break
      case '--topic': args.topic = next(); break
      case '--input': args.input = next(); break
      case '--output': args.output = next(); break
      case '--codec': args.codec = next(); break
      case '--acks': args.acks = parseInt(next(), 10); break
      case '--idempotent': args.idempotent = true; break
      case '--partitions': args.partitions = parseInt(next(), 10); break
      case '--timeout-ms': args.timeoutMs = parseInt(next(), 10); break
      default: throw new Error(`unknown argument ${a}`)
    }
  }
  for (const k of ['bootstrap', 'topic', 'input', 'output']) {
    if (!args[k]) throw new Error(`--${k} is required`)
  }
  return args
}

// ---- codecs -------------------------------------------------------------------------

const CODEC_TYPES = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
}

function lz4Codec() {
  const lz4 = require('lz4js')
  return () => ({
    async compress(encoder) {
      return Buffer.from(lz4.compress(encoder.buffer))
    },
    async decompress(buffer) {
      return Buffer.from(lz4.decompress(buffer))
    },
  })
}

async function zstdCodec() {
  const { ZstdCodec } = require('zstd-codec')
  const zstd = await new Promise(resolve => ZstdCodec.run(resolve))
  const simple = new zstd.Simple()
  const streaming = new zstd.Streaming()
  return () => ({
    async compress(encoder) {
      return Buffer.from(simple.compress(encoder.buffer, 3))
    },
    async decompress(buffer) {
      // Frames from streaming compressors (e.g. the Java client) carry no content size;
      // the streaming decoder handles both kinds.
      return Buffer.from(streaming.decompress(buffer))
    },
  })
}

async function registerCodecs() {
  CompressionCodecs[CompressionTypes.Snappy] = require('kafkajs-snappy')
  CompressionCodecs[CompressionTypes.LZ4] = lz4Codec()
  CompressionCodecs[CompressionTypes.ZSTD] = await zstdCodec()
}

// ---- records --------------------------------------------------------------------------

const b64 = s => Buffer.from(s, 'base64')

function readRecords(path) {
  return fs
    .readFileSync(path, 'utf8')
    .split('\n')
    .filter(line => line.trim())
    .map(line => JSON.parse(line))
}

function toMessage(r) {
  const headers = {}
  for (const [k, v] of r.headers) headers[k] = b64(v)
  return {
    partition: r.partition,
    key: r.key === null ? null : b64(r.key),
    value: b64(r.value),
    headers,
    timestamp: String(r.timestamp),
  }
}

function fromRecord(partition, m) {
  const headers = []
  for (const [k, v] of Object.entries(m.headers || {})) {
    for (const one of Array.isArray(v) ? v : [v]) headers.push([k, Buffer.from(one).toString('base64')])
  }
  return {
    partition,
    key: m.key === null || m.key === undefined ? null : Buffer.from(m.key).toString('base64'),
    value: m.value === null ? null : Buffer.from(m.value).toString('base64'),
    headers,
    timestamp: Number(m.timestamp),
    offset: Number(m.offset),
  }
}

// ---- main -------------------------------------------------------------------------------

function stderrLogger() {
  return () => ({ namespace, level, label, log }) => {
    const { message, ...extra } = log
    process.stderr.write(`[kafkajs ${label}] ${namespace}: ${message} ${JSON.stringify(extra)}\n`)
  }
}

function privateMember(obj, description) {
  const sym = Object.getOwnPropertySymbols(obj).find(s => s.description === description)
  if (!sym) throw new Error(`kafkajs internals changed: no ${description}`)
  return obj[sym]
}

async function produce(kafka, args, records) {
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    idempotent: args.idempotent,
    ...(args.idempotent ? { maxInFlightRequests: 1 } : {}),
  })
  await producer.connect()
  const CHUNK = 500
  let sent = 0
  try {
    for (let i = 0; i < records.length; i += CHUNK) {
      const chunk = records.slice(i, i + CHUNK)
      await producer.send({
        topic: args.topic,
        acks: args.acks,
        compression: CODEC_TYPES[args.codec],
        messages: chunk.map(toMessage),
      })
      sent += chunk.length
    }
  } finally {
    await producer.disconnect()
  }
  return sent
}

async function consume(kafka, args, wantCounts) {
  // READ_COMMITTED (1), as kafkajs' own consumer does by default.
  const cluster = privateMember(kafka, 'private:Kafka:createCluster')({
    metadataMaxAge: 300000,
    allowAutoTopicCreation: false,
    isolationLevel: 1,
  })
  await cluster.connect()
  await cluster.addTargetTopic(args.topic)
  const partitions = [...Array(args.partitions).keys()]
  const position = Object.fromEntries(partitions.map(p => [p, 0]))
  const highWatermark = Object.fromEntries(partitions.map(p => [p, -1]))
  const got = Object.fromEntries(partitions.map(p => [p, []]))
  const deadline = Date.now() + args.timeoutMs
  let fetches = 0
  const done = () =>
    partitions.every(p => got[p].length >= (wantCounts[p] || 0) && position[p] >= highWatermark[p])
  try {
    while (!done() && Date.now() < deadline) {
      const byLeader = cluster.findLeaderForPartitions(args.topic, partitions)
      for (const [nodeId, ps] of Object.entries(byLeader)) {
        const broker = await cluster.findBroker({ nodeId })
        const response = await broker.fetch({
          replicaId: -1,
          isolationLevel: 1,
          maxWaitTime: 200,
          minBytes: 1,
          maxBytes: 10 * 1024 * 1024,
          topics: [{
            topic: args.topic,
            partitions: ps.map(p => ({ partition: p, fetchOffset: String(position[p]), maxBytes: 1024 * 1024 })),
          }],
        })
        fetches++
        for (const t of response.responses) {
          for (const pr of t.partitions) {
            if (pr.errorCode !== 0) throw new Error(`fetch ${t.topicName}/${pr.partition}: error ${pr.errorCode}`)
            highWatermark[pr.partition] = Number(pr.highWatermark)
            for (const m of pr.messages) {
              const off = Number(m.offset)
              // Whole batches come back: skip what lies before the fetch offset.
              if (off < position[pr.partition]) continue
              position[pr.partition] = off + 1
              if (m.isControlRecord) continue
              got[pr.partition].push(fromRecord(pr.partition, m))
            }
          }
        }
      }
    }
  } finally {
    await cluster.disconnect()
  }
  return { got, fetches, highWatermark }
}

async function endOffsets(kafka, topic) {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const offs = await admin.fetchTopicOffsets(topic)
    return Object.fromEntries(offs.map(o => [o.partition, Number(o.high)]))
  } finally {
    await admin.disconnect()
  }
}

async function main() {
  const args = parseArgs(process.argv)
  await registerCodecs()
  const records = readRecords(args.input)
  const wantCounts = {}
  for (const r of records) wantCounts[r.partition] = (wantCounts[r.partition] || 0) + 1

  const kafka = new Kafka({
    clientId: 'compat-kafkajs',
    brokers: [args.bootstrap],
    logLevel: logLevel.WARN,
    logCreator: stderrLogger(),
  })
  const produced = await produce(kafka, args, records)
  const { got, fetches, highWatermark } = await consume(kafka, args, wantCounts)
  const ends = await endOffsets(kafka, args.topic)

  const out = fs.createWriteStream(args.output)
  let consumed = 0
  for (const p of Object.keys(got)) {
    for (const r of got[p]) {
      out.write(JSON.stringify(r) + '\n')
      consumed++
    }
  }
  await new Promise(resolve => out.end(resolve))
  process.stdout.write(JSON.stringify({
    produced,
    consumed,
    fetches,
    highWatermark,
    endOffsets: ends,
    codec: args.codec,
    acks: args.acks,
    idempotent: args.idempotent,
  }) + '\n')
}

main().catch(e => {
  process.stderr.write(`produce_consume.js failed: ${e && e.stack ? e.stack : e}\n`)
  process.exit(1)
})
