"""The schema registry's rules: schema formats (Avro, JSON Schema, Protobuf), compatibility,
subjects and ids, kept in the catalogue; served by streamhouse/registry (Confluent's REST API)."""
