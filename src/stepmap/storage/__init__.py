"""stepmap.storage."""
