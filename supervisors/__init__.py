"""Supervised actor runtime."""
