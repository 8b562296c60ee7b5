"""Settings, overlays, bootstrap, health and the command line (the composition root)."""
