"""Domain actors."""
