"""Pre-trade risk: limits, the risk engine and its event-time token bucket (pure, no I/O)."""
