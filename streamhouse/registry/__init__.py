"""The schema registry: Confluent's REST API on its own port, schemas kept in the catalogue."""
