"""Market data: the mock GBM feed, CSV replay and tick validation (pure logic, no I/O loops)."""
