"""The JetStream → Kafka mirror: a supervised child that produces exactly once per record."""
