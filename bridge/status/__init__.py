"""The mirror's lag and throughput per stream, read from its JetStream consumers."""
