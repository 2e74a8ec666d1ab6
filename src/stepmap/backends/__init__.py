"""stepmap.backends."""
