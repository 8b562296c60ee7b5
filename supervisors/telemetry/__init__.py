"""What the runtime tells the outside: Prometheus metrics and OpenTelemetry traces."""
