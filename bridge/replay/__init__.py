"""Replay: read a topic's records back into NATS (rebuild, replay a day, re-drive letters)."""
