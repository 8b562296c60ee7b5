"""Avro governance: committed schemas, the schema registry, and the record value codecs."""
