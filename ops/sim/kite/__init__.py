"""A local Kite Connect: the HTTP API and the binary ticker, with its own exchange and faults."""
