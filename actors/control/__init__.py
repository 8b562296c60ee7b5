"""Control: the token-gated entry for halt/resume/reduce and the per-broker trading state."""
