"""Event structs, the envelope, subject/stream/topic names and ID generation."""
