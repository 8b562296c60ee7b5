"""Execution on a venue: the desk that decides, and the protocol every venue implements."""
