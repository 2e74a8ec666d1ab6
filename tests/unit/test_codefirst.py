"""stepmap.map and stepmap.map_reduce: results in order, batching, errors with their original type."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import stepmap
from tests.unit import codefirst_functions as f


@pytest.fixture
def state(tmp_path: Path) -> str:
    return str(tmp_path / "state")


@pytest.mark.parametrize("executor", ["sync", "local"])
def test_map_returns_results_in_item_order(executor: str, state: str) -> None:
    assert stepmap.map(f.square, range(500), executor=executor, state_dir=state) == [
        i * i for i in range(500)
    ]


def test_map_with_batches_and_concurrency(state: str) -> None:
    result = stepmap.map(f.square, range(103), batch_size=10, concurrency=1, state_dir=state)
    assert result == [i * i for i in range(103)]


def test_map_of_nothing_is_empty(state: str) -> None:
    assert stepmap.map(f.square, [], state_dir=state) == []


@pytest.mark.parametrize("executor", ["sync", "local"])
def test_failure_surfaces_with_original_type_and_remote_traceback(executor: str, state: str) -> None:
    with pytest.raises(f.InventoryError, match="item 7 is out of stock") as info:
        stepmap.map(f.fail_on_seven, range(20), executor=executor, state_dir=state)
    assert "fail_on_seven" in str(info.value.__cause__)  # the worker's traceback


def test_builtin_exception_type_is_kept(state: str) -> None:
    with pytest.raises(ZeroDivisionError):
        stepmap.map(f.divide, [1, 2, 0, 4], state_dir=state)


def test_bad_arguments_are_rejected(state: str) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        stepmap.map(f.square, [1], batch_size=0, state_dir=state)
    with pytest.raises(ValueError, match="partitions"):
        stepmap.map_reduce(f.words, f.total, ["a"], partitions=0, state_dir=state)


def test_map_reduce_counts_words_like_a_counter(state: str) -> None:
    lines = ["the cat sat", "on the mat", "the end", ""]
    expected = Counter(word for line in lines for word in line.split())
    assert stepmap.map_reduce(f.words, f.total, lines, partitions=3, state_dir=state) == dict(expected)


def test_map_reduce_with_integer_keys_and_list_results(state: str) -> None:
    result = stepmap.map_reduce(
        f.by_length, f.sorted_unique, ["aa b ccc", "dd b"], partitions=2, state_dir=state
    )
    assert result == {1: ["b"], 2: ["aa", "dd"], 3: ["ccc"]}


def test_map_run_is_recorded_in_the_journal(state: str) -> None:
    from stepmap.journal import Journal

    stepmap.map(f.square, range(10), state_dir=state)
    runs = Journal(str(Path(state) / "journal.sqlite")).map_runs()
    assert runs and runs[0]["status"] == "SUCCEEDED" and runs[0]["itemCounts"]["succeeded"] == 10
