"""Topic admin: topic classes and per-environment overlays, bootstrap and health checks."""
