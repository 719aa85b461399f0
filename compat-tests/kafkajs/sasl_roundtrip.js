#!/usr/bin/env node
// kafkajs over SASL for the StreamHouse compat tests (driven by test_sasl.py):
//
//   node sasl_roundtrip.js BROKERS MECHANISM USERNAME PASSWORD TOPIC GROUP VALUE...
//
// Produces each VALUE to TOPIC, consumes TOPIC in consumer group GROUP from the start
// until as many records came back, and prints one JSON line: the values read and the
// topics the cluster lists. MECHANISM is kafkajs' name: plain, scram-sha-256, scram-sha-512.
'use strict'

const { Kafka, logLevel } = require('kafkajs')

async function main() {
  const [brokers, mechanism, username, password, topic, groupId, ...values] = process.argv.slice(2)
  const kafka = new Kafka({
    clientId: 'compat-sasl', brokers: [brokers], logLevel: logLevel.NOTHING,
    sasl: { mechanism, username, password }, ssl: false,
  })
  const producer = kafka.producer({ allowAutoTopicCreation: true })
  await producer.connect()
  await producer.send({ topic, messages: values.map((value) => ({ value })) })
  await producer.disconnect()

  const consumer = kafka.consumer({ groupId })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const read = []
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(), 20000)
    consumer.run({
      eachMessage: async ({ message }) => {
        read.push(message.value.toString())
        if (read.length >= values.length) { clearTimeout(timer); resolve() }
      },
    }).catch(reject)
  })
  await consumer.disconnect()
  const admin = kafka.admin()
  await admin.connect()
  const topics = await admin.listTopics()
  await admin.disconnect()
  console.log(JSON.stringify({ read, topics: topics.sort() }))
}

main().catch((err) => { console.error(String(err && err.stack || err)); process.exit(1) })
