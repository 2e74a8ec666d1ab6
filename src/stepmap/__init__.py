"""stepmap: run AWS Step Functions (ASL) workflows with Python handlers, fast, on one machine."""

__version__ = "0.1.0"
