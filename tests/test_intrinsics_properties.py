"""Property tests for the intrinsic functions: round trips, partition and range laws, escaping, and a
parser that never fails with anything but IntrinsicSyntaxError."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from stepmap.asl.intrinsics import IntrinsicSyntaxError, compile_intrinsic
from stepmap.errors import StatesError


def run(text: str, refs: dict[str, Any]) -> Any:
    return compile_intrinsic(text).evaluate(lambda path: refs[path.text])


def quote(value: str) -> str:
    """An intrinsic string literal for ``value`` (AWS's rule: backslash before ' { } and \\)."""
    escaped = "".join("\\" + c if c in "'{}\\" else c for c in value)
    return f"'{escaped}'"


# UTF-8 cannot encode lone surrogates, and JSON input never holds them.
texts = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=300)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(texts, children, max_size=5),
    max_leaves=12,
)


@given(texts)
def test_base64_decode_inverts_encode(value: str) -> None:
    encoded = run("States.Base64Encode($.s)", {"$.s": value})
    assert encoded.isascii()
    assert run("States.Base64Decode($.s)", {"$.s": encoded}) == value


@given(json_values)
def test_string_to_json_inverts_json_to_string(value: Any) -> None:
    text = run("States.JsonToString($.v)", {"$.v": value})
    assert run("States.StringToJson($.s)", {"$.s": text}) == value


@given(st.lists(st.integers() | st.none() | texts, max_size=40), st.integers(min_value=1, max_value=50))
def test_array_partition_concatenates_back_to_the_input(items: list[Any], size: int) -> None:
    chunks = run("States.ArrayPartition($.a, $.n)", {"$.a": items, "$.n": size})
    assert [item for chunk in chunks for item in chunk] == items
    assert all(len(chunk) == size for chunk in chunks[:-1])
    assert all(0 < len(chunk) <= size for chunk in chunks)


@given(
    st.integers(min_value=-3000, max_value=3000),
    st.integers(min_value=-3000, max_value=3000),
    st.integers(min_value=-60, max_value=60).filter(bool),
)
def test_array_range_length_formula(first: int, last: int, step: int) -> None:
    expected_length = max(0, (last - first) // step + 1)
    text = f"States.ArrayRange({first}, {last}, {step})"
    if expected_length > 1000:
        try:
            run(text, {})
        except StatesError as exc:
            assert exc.error == "States.IntrinsicFailure"
        else:
            raise AssertionError("a range of more than 1000 items must fail")
        return
    result = run(text, {})
    assert len(result) == expected_length
    if result:
        assert result[0] == first
        assert all(b - a == step for a, b in itertools.pairwise(result))
        assert all(min(first, last) <= v <= max(first, last) for v in result)
        assert (result[-1] + step > last) if step > 0 else (result[-1] + step < last)


@given(st.lists(texts, min_size=1, max_size=6), st.data())
def test_format_with_escaped_braces(pieces: list[str], data: st.DataObject) -> None:
    fillers = data.draw(st.lists(texts, min_size=len(pieces) - 1, max_size=len(pieces) - 1))
    template = "{}".join(quote(piece)[1:-1] for piece in pieces)
    text = "States.Format(" + ", ".join([f"'{template}'", *(quote(f) for f in fillers)]) + ")"
    expected = pieces[0] + "".join(f + p for f, p in zip(fillers, pieces[1:]))
    assert run(text, {}) == expected


tokens = st.sampled_from(
    [
        "States.",
        "States.Array",
        "States.Format",
        "States.ArrayRange",
        "States.UUID()",
        "(",
        ")",
        ",",
        " ",
        "'",
        "\\",
        "{",
        "}",
        "{}",
        "$",
        "$.a",
        "$$.Execution",
        "$['x,y']",
        "[",
        "]",
        "?(@.a)",
        "1",
        "-",
        ".",
        "e",
        "0.5",
        "true",
        "null",
        "x",
        "\x00",
        "é",
    ]
)
texts_for_parser = st.lists(tokens, max_size=25).map("".join) | st.text(max_size=80)


@settings(max_examples=400)
@given(texts_for_parser)
def test_parser_raises_only_intrinsic_syntax_error(text: str) -> None:
    try:
        intrinsic = compile_intrinsic(text)
    except IntrinsicSyntaxError:
        return
    assert intrinsic.text == text
