-- Kafka remembers the last five batches of each idempotent producer per partition, so that
-- a retry of any in-flight batch is answered with its first offset. producer_states kept
-- only the last one; these are the (up to four) before it, as a JSON list of
-- [first_sequence, last_sequence, base_offset, last_offset], oldest first.
ALTER TABLE producer_states ADD COLUMN earlier_batches TEXT NOT NULL DEFAULT '[]';
