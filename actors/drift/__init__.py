"""Paper-versus-live drift: the paper model measured against live fills."""
