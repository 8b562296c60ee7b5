"""Status pages."""
