"""Tests of the examples under examples/."""
