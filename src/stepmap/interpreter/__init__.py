"""stepmap.interpreter."""
