"""Shared order arithmetic, shipped as a Lambda layer."""

from orders_common.money import cents_to_text

__all__ = ["cents_to_text"]
