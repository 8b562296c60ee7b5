"""JetStream to Kafka mirror."""
