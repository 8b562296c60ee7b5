"""Local stand-ins for external venues, shipped as tools (`alpha-panda sim ...`)."""
