"""stepmap.service."""
