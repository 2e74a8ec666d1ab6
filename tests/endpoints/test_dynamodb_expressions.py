"""The DynamoDB expression parser and evaluator on their own (no server): precedence, placeholders,
paths, update semantics, and errors naming the token."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stepmap.endpoints.dynamodb.evaluation import apply_update, evaluate, project
from stepmap.endpoints.dynamodb.expressions import (
    Placeholders,
    parse_condition,
    parse_projection,
    parse_update,
)
from stepmap.endpoints.dynamodb.values import ValidationError, check_value, from_plain, to_plain

ITEM = {
    "a": {"N": "1"},
    "b": {"N": "2"},
    "s": {"S": "héllo"},
    "l": {"L": [{"N": "0"}, {"M": {"x": {"S": "deep"}}}, {"N": "2"}]},
    "m": {"M": {"k-1": {"BOOL": True}}},
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a = :one OR a = :two AND b = :one", True),  # AND binds tighter: a = 1 OR (false)
        ("(a = :one OR a = :two) AND b = :one", False),
        ("NOT a = :two AND b = :two", True),  # NOT binds tighter than AND
        ("not a = :one or b = :two", True),  # keywords in any case
        ("l[1].x = :deep AND #m.#k = :t", True),
        ("size(s) = :five", True),  # characters, not bytes
        ("a IN (:two, :one)", True),
        ("a BETWEEN :one AND :two AND b BETWEEN :one AND :two", True),
        ("contains(l, :two)", True),
        ("attribute_exists(l[2]) AND attribute_not_exists(l[3])", True),
        ("a < b AND s > :deep", True),  # path on both sides; "h\u00e9llo" > "deep" by UTF-8 bytes
    ],
)
def test_conditions(text: str, expected: bool) -> None:
    p = Placeholders(
        {"#k": "k-1", "#m": "m"},
        {
            ":one": {"N": "1"},
            ":two": {"N": "2"},
            ":deep": {"S": "deep"},
            ":t": {"BOOL": True},
            ":five": {"N": "5"},
        },
    )
    assert evaluate(parse_condition(text, p), ITEM) is expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a = ", 'Syntax error; token: "<EOF>"'),
        ("a == :one", 'Syntax error; token: "="'),
        ("a = :one AND", 'token: "<EOF>"'),
        ("BEGINS_WITH(s, :one)", "Invalid function name; function: BEGINS_WITH"),
        ("size(s)", "Syntax error"),
        ("a = attribute_exists(b)", "not allowed to be used this way"),
        ("a = :nope", "attribute value: :nope"),
        ("#nope = :one", "attribute name: #nope"),
        ("a = :one ; drop", 'token: ";"'),
        ("attribute_type(a, :one)", "Invalid attribute type name"),
        ("status = :one", "Attribute name is a reserved keyword; reserved keyword: status"),
        ("a.Data = :one", "reserved keyword: Data"),
    ],
)
def test_condition_errors_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ValidationError) as exc:
        parse_condition(text, Placeholders({}, {":one": {"N": "1"}}))
    assert message in exc.value.message and exc.value.message.startswith("Invalid ConditionExpression: ")


def test_unused_placeholders_are_reported() -> None:
    p = Placeholders({"#a": "a", "#b": "b"}, {":x": {"N": "1"}})
    parse_condition("#a = :x", p)
    with pytest.raises(
        ValidationError, match=r"ExpressionAttributeNames unused in expressions: keys: \{#b\}"
    ):
        p.check_all_used()


def test_update_reads_the_item_as_it_was_and_removes_list_elements_high_first() -> None:
    p = Placeholders({}, {":v": {"N": "10"}})
    update = parse_update("SET a = b, b = a, c = a + :v REMOVE l[0], l[2]", p)
    after = apply_update(update, ITEM)
    assert after["a"] == {"N": "2"} and after["b"] == {"N": "1"} and after["c"] == {"N": "11"}
    assert after["l"] == {"L": [{"M": {"x": {"S": "deep"}}}]}
    assert ITEM["a"] == {"N": "1"}  # the input is not changed


def test_set_past_the_end_of_a_list_appends() -> None:
    after = apply_update(parse_update("SET l[10] = :v", Placeholders({}, {":v": {"S": "z"}})), ITEM)
    assert after["l"]["L"][-1] == {"S": "z"} and len(after["l"]["L"]) == 4


def test_projection_keeps_nested_paths() -> None:
    paths = parse_projection("l[1].x, #m.#k, nope", Placeholders({"#m": "m", "#k": "k-1"}, {}))
    assert project(ITEM, paths) == {
        "l": {"L": [{"M": {"x": {"S": "deep"}}}]},
        "m": {"M": {"k-1": {"BOOL": True}}},
    }


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("1.0", "1"),
        ("-0.00", "0"),
        ("1e3", "1000"),
        ("0.000123", "0.000123"),
        ("12345678901234567890123456789012345678", "12345678901234567890123456789012345678"),
    ],
)
def test_numbers_are_canonical(given: str, canonical: str) -> None:
    assert check_value({"N": given}) == {"N": canonical}


def test_plain_view_round_trips_what_json_can_hold() -> None:
    value = {"M": {"a": {"L": [{"N": "1"}, {"N": "2.5"}, {"NULL": True}, {"BOOL": False}, {"S": ""}]}}}
    plain, exact = to_plain(value)
    assert exact and plain == {"a": [1, 2.5, None, False, ""]} and from_plain(plain) == value
    assert to_plain({"N": "0.1000000000000000000001"})[1] is False  # not a float: kept typed
    assert to_plain({"SS": ["a"]}) == (["a"], False)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=False, allow_infinity=False, width=64).filter(
        lambda f: (
            f == 0 or 1e-120 < abs(f) < 2**53
        )  # integral floats past 2**53 come back as the int of their repr
    )
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(min_size=1, max_size=4), children, max_size=4)
    ),
    max_leaves=12,
)


@given(json_values)
def test_plain_values_round_trip_through_dynamodb_types(value) -> None:
    typed = check_value(from_plain(value))
    plain, exact = to_plain(typed)
    assert exact and plain == value and from_plain(plain) == typed


@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
        lambda d: d == 0 or -130 < d.adjusted() < 125
    )
)
def test_numbers_keep_their_value(number: Decimal) -> None:
    try:
        canonical = check_value({"N": str(number)})["N"]
    except ValidationError as exc:
        assert "38 significant digits" in exc.message
        return
    assert Decimal(canonical) == number and canonical == check_value({"N": canonical})["N"]


_ATOMS = [
    ("a = :one", True),
    ("a = :two", False),
    ("attribute_exists(s)", True),
    ("attribute_not_exists(s)", False),
    ("s BETWEEN :lo AND :hi", True),  # its AND is not the logical one
    ("a BETWEEN :two AND :two", False),
    ("a IN (:two, :one)", True),
    ("size(s) > :two", True),
    ("begins_with(s, :he)", True),
    ("contains(s, :zz)", False),
    ("(a <> :one)", False),
]


@given(
    st.lists(st.tuples(st.booleans(), st.sampled_from(_ATOMS)), min_size=1, max_size=7),
    st.lists(st.sampled_from(["AND", "OR"]), min_size=6, max_size=6),
)
def test_precedence_matches_not_and_or(atoms, joins) -> None:
    """NOT binds tighter than AND, AND tighter than OR: the same as Python's not/and/or."""
    text, python = [], []
    for i, (negate, (atom, truth)) in enumerate(atoms):
        if i:
            text.append(joins[i - 1])
            python.append(joins[i - 1].lower())
        text.append(("NOT " if negate else "") + atom)
        python.append(("not " if negate else "") + str(truth))
    values = {
        ":one": {"N": "1"},
        ":two": {"N": "2"},
        ":lo": {"S": "a"},
        ":hi": {"S": "z"},
        ":he": {"S": "he"},
        ":zz": {"S": "zz"},
    }
    item = {"a": {"N": "1"}, "s": {"S": "hello"}}
    node = parse_condition(" ".join(text), Placeholders({}, values))
    assert evaluate(node, item) is eval(" ".join(python))  # only True/False/and/or/not
