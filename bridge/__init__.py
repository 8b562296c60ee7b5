"""JetStream to Kafka bridge: the mirror, Avro governance, replay, topic admin and status."""
