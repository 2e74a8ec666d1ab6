"""Functions for the code-first API tests (module level, so worker processes import them by name)."""

from __future__ import annotations

from collections.abc import Iterator


class InventoryError(Exception):
    pass


def square(x: int) -> int:
    return x * x


def fail_on_seven(x: int) -> int:
    if x == 7:
        raise InventoryError(f"item {x} is out of stock")
    return x


def divide(x: int) -> float:
    return 10 / x


def words(line: str) -> Iterator[tuple[str, int]]:
    for word in line.split():
        yield word, 1


def total(key: str, values: list[int]) -> int:
    return sum(values)


def by_length(line: str) -> Iterator[tuple[int, str]]:
    for word in line.split():
        yield len(word), word


def sorted_unique(key: int, values: list[str]) -> list[str]:
    return sorted(set(values))
