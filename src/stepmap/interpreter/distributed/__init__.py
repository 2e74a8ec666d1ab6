"""Distributed Map: reader -> selector -> batcher -> chunks of child executions -> results/writer."""
