"""The journal: a durable record of executions and Map Runs in the state directory (SQLite, WAL)."""

from stepmap.journal.sqlite import Journal

__all__ = ["Journal"]
