"""`streamctl`: the command line for StreamHouse (topics, records, groups, schemas, tenants).

It speaks only to a StreamHouse's public doors — the REST API, the Kafka protocol, the
schema registry — as any user's tool would; nothing of the server is imported (an
import-linter contract). Heavy modules load inside the commands that use them, so
`streamctl --help` starts at once.
"""
