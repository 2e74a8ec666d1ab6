"""Intrinsic functions: parsing, each function's happy path, and each AWS limit at and just past the boundary.

Cases come from the AWS "intrinsic-functions" page and the ASL specification (Appendix B). Path arguments
are resolved by a fake ``resolve`` keyed by the path's text, so these tests pin the intrinsic layer alone.
"""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
import re
from typing import Any

import pytest

from stepmap.asl.intrinsics import (
    Intrinsic,
    IntrinsicSyntaxError,
    compile_intrinsic,
    looks_like_intrinsic,
)
from stepmap.errors import StatesError


def run(text: str, refs: dict[str, Any] | None = None) -> Any:
    refs = refs or {}
    return compile_intrinsic(text).evaluate(lambda path: refs[path.text])


def failure(text: str, refs: dict[str, Any] | None = None) -> str:
    """Evaluate and return the cause of the States.IntrinsicFailure it must raise."""
    with pytest.raises(StatesError) as info:
        run(text, refs)
    assert info.value.error == "States.IntrinsicFailure"
    assert info.value.cause
    return info.value.cause


def syntax_error(text: str) -> str:
    with pytest.raises(IntrinsicSyntaxError) as info:
        compile_intrinsic(text)
    return str(info.value)


# --- recognising and parsing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("States.Array()", True),
        ("  States.Format('x')  ", True),
        ("States.Array(", True),  # meant as an intrinsic; compile_intrinsic then rejects it
        ("$.States.Array(1)", False),
        ("States.Array", False),
        ("states.Array()", False),
        ("$.a", False),
        ("", False),
    ],
)
def test_looks_like_intrinsic(text: str, expected: bool) -> None:
    assert looks_like_intrinsic(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("States.Array('Foo', 2020, null)", ["Foo", 2020, None]),
        ("States.Array(true, false)", [True, False]),
        (
            "States.Array(0, -7, 1.5, -0.25, 1e3, 2E-2, 12345678901234567890)",
            [0, -7, 1.5, -0.25, 1000.0, 0.02, 12345678901234567890],
        ),
        ("States.Array('')", [""]),
        ("States.Array('a,b', '(c)', 'd)', ' , ')", ["a,b", "(c)", "d)", " , "]),
        ("States.Array('$.not.a.path', 'States.UUID()')", ["$.not.a.path", "States.UUID()"]),
        ("  States.Array(  1 ,\t'x'  ,\n2 )  ", [1, "x", 2]),
        ("States.Array( )", []),
        ("States.Array('{}', '{', '}')", ["{}", "{", "}"]),
    ],
)
def test_literal_arguments(text: str, expected: list[Any]) -> None:
    result = run(text)
    assert result == expected
    assert [type(v) for v in result] == [type(v) for v in expected]  # 1 stays int, 1e3 is a float


def test_reserved_characters_are_escaped_with_a_backslash() -> None:
    # In the definition's JSON this is "States.Array('it\\'s \\{x\\} back\\\\slash')".
    assert run(r"States.Array('it\'s \{x\} back\\slash')") == ["it's {x} back\\slash"]


@pytest.mark.parametrize("text", [r"States.Array('a\nb')", r"States.Array('a\"b')", "States.Array('a\\')"])
def test_open_escape_backslash_is_rejected(text: str) -> None:
    assert "string" in syntax_error(text)


def test_paths_of_every_root_and_nested_calls_in_source_order() -> None:
    text = "States.Array($.a, States.ArrayLength($$.Execution.Input.items), $count, $.b[0])"
    intrinsic = compile_intrinsic(text)
    assert [p.text for p in intrinsic.paths()] == ["$.a", "$$.Execution.Input.items", "$count", "$.b[0]"]
    refs = {"$.a": 1, "$$.Execution.Input.items": [1, 2], "$count": 3, "$.b[0]": "x"}
    assert run(text, refs) == [1, 2, 3, "x"]


def test_path_ends_at_top_level_comma_or_paren_only() -> None:
    intrinsic = compile_intrinsic("States.Array($['a,b'], $['c)d'] , $.f[?(@.g == 'x,)y')], $.e)")
    assert [p.text for p in intrinsic.paths()] == ["$['a,b']", "$['c)d']", "$.f[?(@.g == 'x,)y')]", "$.e"]


def test_invalid_path_is_a_syntax_error() -> None:
    assert "path" in syntax_error("States.ArrayLength($.a[)")


def test_nested_calls_aws_arn_example() -> None:
    # The AWS page's nine-call example (with the template fixed to two placeholders).
    inner = "States.ArrayGetItem(States.StringSplit($.Arn, '/'), 2)"
    split = f"States.ArrayGetItem(States.StringSplit({inner}, '.'), {{}})"
    text = f"States.Format('{{}}.{{}}', {split.format(0)}, {split.format(1)})"
    arn = "arn:aws:imagebuilder:us-east-1:123456789012:image-recipe/my-recipe/1.2.3"
    assert run(text, {"$.Arn": arn}) == "1.2"


def nested_arrays(depth: int) -> str:
    return "States.Array(" * depth + "1" + ")" * depth


def test_ten_nested_calls_are_allowed() -> None:
    result = run(nested_arrays(10))
    for _ in range(10):
        assert isinstance(result, list)
        (result,) = result
    assert result == 1


def test_eleven_nested_calls_are_rejected() -> None:
    assert "10" in syntax_error(nested_arrays(11))


def test_the_limit_counts_every_call_in_the_field() -> None:
    # AWS counts the calls in a field (its nine-call example is only five deep).
    ten = "States.Array(" + ", ".join(["States.UUID()"] * 9) + ")"
    assert len(run(ten)) == 9
    eleven = "States.Array(" + ", ".join(["States.UUID()"] * 10) + ")"
    assert "10" in syntax_error(eleven)


def test_very_deep_nesting_is_a_syntax_error_not_a_recursion_error() -> None:
    assert "10" in syntax_error(nested_arrays(5000))


@pytest.mark.parametrize(
    "text",
    ["States.Foo(1)", "States.array(1)", "States.(1)", "States.ArrayLengthX($.a)"],
)
def test_unknown_function(text: str) -> None:
    assert "unknown function" in syntax_error(text)


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("States.ArrayLength()", "takes 1 argument"),
        ("States.ArrayLength($.a, $.b)", "takes 1 argument"),
        ("States.UUID(1)", "takes 0 argument"),
        ("States.MathRandom(1)", "takes 2 to 3 argument"),
        ("States.MathRandom(1, 2, 3, 4)", "takes 2 to 3 argument"),
        ("States.JsonMerge($.a, $.b)", "takes 3 argument"),
        ("States.ArrayRange(1, 2)", "takes 3 argument"),
        ("States.Format()", "at least 1 argument"),
        ("States.Hash('x')", "takes 2 argument"),
    ],
)
def test_wrong_argument_count(text: str, wanted: str) -> None:
    assert wanted in syntax_error(text)


@pytest.mark.parametrize(
    "text",
    [
        "States.Array(1",
        "States.Array(1) x",
        "States.Array(1,)",
        "States.Array(,1)",
        "States.Array(1 2)",
        "States.Array(tru)",
        "States.Array(trueish)",
        "States.Array(1.)",
        "States.Array(.5)",
        "States.Array(-)",
        "States.Array(1x)",
        "States.Array(1e)",
        "States.Array(1e999)",
        "States.Array('abc)",
        "States.Array('a''b')",
        'States.Array("x")',
        "States.Array (1)",
        "States.Array(foo)",
        "x States.Array(1)",
        "States.Format(1)",
        "States.Format",
    ],
)
def test_malformed_text(text: str) -> None:
    assert "invalid intrinsic function" in syntax_error(text)


def test_compiled_intrinsic_is_cached_and_frozen() -> None:
    first = compile_intrinsic("States.Array(1)")
    assert compile_intrinsic("States.Array(1)") is first
    assert isinstance(first, Intrinsic) and first.text == "States.Array(1)"
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.text = "x"  # type: ignore[misc]


def test_compiled_intrinsic_survives_pickling() -> None:
    # Parsed definitions travel to worker processes.
    intrinsic = pickle.loads(
        pickle.dumps(compile_intrinsic("States.Format('{} {}', $.a, States.ArrayLength($.b))"))
    )
    assert intrinsic.evaluate(lambda path: {"$.a": "n", "$.b": [1, 2]}[path.text]) == "n 2"


def test_resolve_errors_propagate_unchanged() -> None:
    class Missing(Exception):
        pass

    def resolve(path: Any) -> Any:
        raise Missing(path.text)

    with pytest.raises(Missing, match=r"\$\.nope"):
        compile_intrinsic("States.ArrayLength($.nope)").evaluate(resolve)


# --- States.Format ---------------------------------------------------------------------------------------


def test_format_aws_examples() -> None:
    refs = {"$.name": "Arnav", "$.template": "Hello, my name is {}."}
    assert run("States.Format('Hello, my name is {}.', $.name)", refs) == "Hello, my name is Arnav."
    assert run("States.Format($.template, $.name)", refs) == "Hello, my name is Arnav."
    spec = "States.Format('Your name is {}, we are in the year {}', $.name, 2020)"
    assert run(spec, {"$.name": "Foo"}) == "Your name is Foo, we are in the year 2020"


def test_format_renders_objects_and_arrays_java_style() -> None:
    # AWS prints an object or array argument the way Java's Map/List toString does (issue 14)
    refs = {"$.o": {"a": 1, "b": [1, "x"], "c": {}, "d": None}, "$.l": [1, 2]}
    text = "States.Format('{} {} {} {} {} {}', 1.5, true, null, -3, $.o, $.l)"
    assert run(text, refs) == "1.5 true null -3 {a=1, b=[1, x], c={}, d=null} [1, 2]"


def test_format_escaped_braces_are_not_placeholders() -> None:
    assert run(r"States.Format('\{\} {} \{x\}', 'v')") == "{} v {x}"
    assert run(r"States.Format('\{}')") == "{}"


def test_format_without_placeholders() -> None:
    assert run("States.Format('plain')") == "plain"


@pytest.mark.parametrize(
    "text",
    ["States.Format('{} {}', 1)", "States.Format('{}')", "States.Format('x', 1)", r"States.Format('\{}', 1)"],
)
def test_format_literal_template_count_mismatch_is_a_syntax_error(text: str) -> None:
    assert "placeholder" in syntax_error(text)


def test_format_path_template_count_mismatch_fails_at_run_time() -> None:
    assert "placeholder" in failure("States.Format($.t, 1)", {"$.t": "{} and {}"})
    assert "placeholder" in failure("States.Format($.t, 1)", {"$.t": "none"})


def test_format_path_template_must_be_a_string() -> None:
    assert "string" in failure("States.Format($.t)", {"$.t": 5})


# --- JSON ------------------------------------------------------------------------------------------------


def test_string_to_json() -> None:
    assert run("States.StringToJson($.s)", {"$.s": '{"foo": "bar"}'}) == {"foo": "bar"}
    assert run("States.StringToJson($.s)", {"$.s": " [1, 2.5, null] "}) == [1, 2.5, None]
    assert run("States.StringToJson('20')") == 20


@pytest.mark.parametrize("value", ["", "{", "{'a': 1}", "NaN", "[Infinity]", 5, None, {"a": 1}])
def test_string_to_json_rejects(value: Any) -> None:
    assert "States.StringToJson" in failure("States.StringToJson($.s)", {"$.s": value})


def test_json_to_string_is_compact_like_aws() -> None:
    refs = {"$.j": {"name": "Foo", "year": 2020, "l": [1, {"x": None}]}}
    assert run("States.JsonToString($.j)", refs) == '{"name":"Foo","year":2020,"l":[1,{"x":null}]}'
    assert run("States.JsonToString($.j)", {"$.j": "é"}) == '"é"'
    assert run("States.JsonToString($.j)", {"$.j": 1}) == "1"


def test_json_merge_is_shallow_and_later_wins() -> None:
    refs = {"$.a": {"a": {"a1": 1, "a2": 2}, "b": 2}, "$.b": {"a": {"a3": 1, "a4": 2}, "c": 3}}
    before = {k: dict(v) for k, v in refs.items()}
    assert run("States.JsonMerge($.a, $.b, false)", refs) == {"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3}
    assert refs == before  # inputs are not modified


@pytest.mark.parametrize(
    ("text", "refs", "wanted"),
    [
        ("States.JsonMerge($.a, $.b, true)", {"$.a": {}, "$.b": {}}, "deep"),
        ("States.JsonMerge($.a, $.b, 0)", {"$.a": {}, "$.b": {}}, "boolean"),
        ("States.JsonMerge($.a, $.b, false)", {"$.a": [], "$.b": {}}, "object"),
        ("States.JsonMerge($.a, $.b, false)", {"$.a": {}, "$.b": "x"}, "object"),
    ],
)
def test_json_merge_rejects(text: str, refs: dict[str, Any], wanted: str) -> None:
    assert wanted in failure(text, refs)


# --- arrays ----------------------------------------------------------------------------------------------


def test_array_keeps_values_as_given() -> None:
    refs = {"$.someJson": {"random": "abcdefg"}}
    assert run("States.Array('Foo', 2020, $.someJson, null)", refs) == [
        "Foo",
        2020,
        {"random": "abcdefg"},
        None,
    ]
    assert run("States.Array()") == []


@pytest.mark.parametrize(
    ("items", "size", "expected"),
    [
        ([1, 2, 3, 4, 5, 6, 7, 8, 9], 4, [[1, 2, 3, 4], [5, 6, 7, 8], [9]]),
        ([1, 2], 1, [[1], [2]]),
        ([1, 2], 5, [[1, 2]]),
        ([], 3, []),
        ([1, 2, 3, 4, 5], 2.5, [[1, 2, 3], [4, 5]]),  # non-integers are rounded (half up)
    ],
)
def test_array_partition(items: list[Any], size: float, expected: list[Any]) -> None:
    assert run("States.ArrayPartition($.a, $.n)", {"$.a": items, "$.n": size}) == expected


@pytest.mark.parametrize(
    ("items", "size", "wanted"),
    [
        ([1], 0, "positive"),
        ([1], -1, "positive"),
        ([1], 0.4, "positive"),  # rounds to 0
        ([1], "2", "integer"),
        ([1], True, "integer"),
        ("abc", 1, "array"),
        ({"a": 1}, 1, "array"),
    ],
)
def test_array_partition_rejects(items: Any, size: Any, wanted: str) -> None:
    assert wanted in failure("States.ArrayPartition($.a, $.n)", {"$.a": items, "$.n": size})


@pytest.mark.parametrize(
    ("items", "value", "expected"),
    [
        ([1, 2, 3, 4, 5, 6, 7, 8, 9], 5, True),
        ([1, 2, 3], 7, False),
        ([{"a": 1, "b": 2}], {"b": 2, "a": 1}, True),
        ([[1, 2]], [1, 2], True),
        ([1], True, False),  # JSON true is not the number 1
        ([True], 1, False),
        ([None], None, True),
        ([1.0], 1, True),
        ([], "x", False),
    ],
)
def test_array_contains(items: list[Any], value: Any, expected: bool) -> None:
    assert run("States.ArrayContains($.a, $.v)", {"$.a": items, "$.v": value}) is expected


def test_array_contains_needs_an_array() -> None:
    assert "array" in failure("States.ArrayContains($.a, 1)", {"$.a": "1"})


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("1, 9, 2", [1, 3, 5, 7, 9]),
        ("1, 10, 2", [1, 3, 5, 7, 9]),
        ("9, 1, -2", [9, 7, 5, 3, 1]),
        ("5, 5, 1", [5]),
        ("5, 5, -1", [5]),
        ("1, 0, 1", []),  # wrong direction: nothing to generate
        ("-3, 3, 3", [-3, 0, 3]),
        ("1.5, 4.4, 1", [2, 3, 4]),  # non-integers are rounded (half up)
    ],
)
def test_array_range(args: str, expected: list[int]) -> None:
    assert run(f"States.ArrayRange({args})") == expected


def test_array_range_limit_is_1000_items() -> None:
    assert len(run("States.ArrayRange(1, 1000, 1)")) == 1000
    assert len(run("States.ArrayRange(0, -999, -1)")) == 1000
    assert "1000" in failure("States.ArrayRange(1, 1001, 1)")
    assert "1000" in failure("States.ArrayRange(0, -1000, -1)")
    # the limit is checked before the array is built
    assert "1000" in failure("States.ArrayRange(0, 1000000000000, 1)")


@pytest.mark.parametrize(
    ("args", "wanted"),
    [("1, 9, 0", "zero"), ("1, 9, 0.4", "zero"), ("'1', 9, 1", "integer"), ("1, null, 1", "integer")],
)
def test_array_range_rejects(args: str, wanted: str) -> None:
    assert wanted in failure(f"States.ArrayRange({args})")


@pytest.mark.parametrize(("index", "expected"), [(5, 6), (0, 1), (8, 9), (2.0, 3)])
def test_array_get_item(index: Any, expected: Any) -> None:
    refs = {"$.a": [1, 2, 3, 4, 5, 6, 7, 8, 9], "$.i": index}
    assert run("States.ArrayGetItem($.a, $.i)", refs) == expected


@pytest.mark.parametrize(
    ("items", "index", "wanted"),
    [
        ([1, 2], 2, "out of bounds"),
        ([], 0, "out of bounds"),
        ([1, 2], -1, "out of bounds"),
        ([1, 2], 0.5, "integer"),
        ([1, 2], "0", "integer"),
        ({"0": 1}, 0, "array"),
    ],
)
def test_array_get_item_rejects(items: Any, index: Any, wanted: str) -> None:
    assert wanted in failure("States.ArrayGetItem($.a, $.i)", {"$.a": items, "$.i": index})


def test_array_length() -> None:
    assert run("States.ArrayLength($.a)", {"$.a": [1, 2, 3, 4, 5, 6, 7, 8, 9]}) == 9
    assert run("States.ArrayLength($.a)", {"$.a": []}) == 0
    assert run("States.ArrayLength(States.Array(1, 2))") == 2


@pytest.mark.parametrize("value", ["abc", {"a": 1}, None, 3, True])
def test_array_length_needs_an_array(value: Any) -> None:
    cause = failure("States.ArrayLength($.a)", {"$.a": value})
    assert "States.ArrayLength" in cause and "array" in cause


def test_array_unique_keeps_first_occurrences_in_order() -> None:
    assert run("States.ArrayUnique($.a)", {"$.a": [1, 2, 3, 3, 3, 3, 3, 3, 4]}) == [1, 2, 3, 4]
    assert run("States.ArrayUnique($.a)", {"$.a": [3, 1, 3, 2, 1]}) == [3, 1, 2]
    objects = [{"a": 1, "b": 2}, {"b": 2, "a": 1}, {"a": 2}]
    assert run("States.ArrayUnique($.a)", {"$.a": objects}) == [{"a": 1, "b": 2}, {"a": 2}]
    assert run("States.ArrayUnique($.a)", {"$.a": [1, True, "1", None, None]}) == [1, True, "1", None]


def test_array_unique_needs_an_array() -> None:
    assert "array" in failure("States.ArrayUnique($.a)", {"$.a": "aab"})


# --- encoding and hashing --------------------------------------------------------------------------------


def test_base64_aws_examples() -> None:
    assert run("States.Base64Encode($.s)", {"$.s": "Data to encode"}) == "RGF0YSB0byBlbmNvZGU="
    assert run("States.Base64Decode($.s)", {"$.s": "RGF0YSB0byBlbmNvZGU="}) == "Data to encode"
    assert run("States.Base64Decode(States.Base64Encode('héllo ✓'))") == "héllo ✓"


def test_base64_input_limit_is_10000_characters() -> None:
    assert len(run("States.Base64Encode($.s)", {"$.s": "a" * 10_000})) == 13_336
    assert "10000" in failure("States.Base64Encode($.s)", {"$.s": "a" * 10_001})
    assert run("States.Base64Decode($.s)", {"$.s": "QUFB" * 2_500}) == "A" * 7_500
    assert "10000" in failure("States.Base64Decode($.s)", {"$.s": "QUFB" * 2_500 + "Q"})


@pytest.mark.parametrize(
    ("text", "value", "wanted"),
    [
        ("States.Base64Encode($.s)", 5, "string"),
        ("States.Base64Decode($.s)", None, "string"),
        ("States.Base64Decode($.s)", "not base64!", "Base64"),
        ("States.Base64Decode($.s)", "QUF", "Base64"),
        ("States.Base64Decode($.s)", "/w==", "UTF-8"),  # decodes to the byte 0xFF
    ],
)
def test_base64_rejects(text: str, value: Any, wanted: str) -> None:
    assert wanted in failure(text, {"$.s": value})


@pytest.mark.parametrize(
    ("data", "algorithm", "expected"),
    [
        ("", "MD5", "d41d8cd98f00b204e9800998ecf8427e"),
        ("abc", "SHA-1", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ("abc", "SHA-256", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abc", "SHA-384", hashlib.sha384(b"abc").hexdigest()),
        ("abc", "SHA-512", hashlib.sha512(b"abc").hexdigest()),
    ],
)
def test_hash(data: str, algorithm: str, expected: str) -> None:
    assert run("States.Hash($.d, $.alg)", {"$.d": data, "$.alg": algorithm}) == expected


def test_hash_of_a_non_string_hashes_its_json_text() -> None:
    refs = {"$.d": {"a": [1, 2]}}
    assert run("States.Hash($.d, 'MD5')", refs) == hashlib.md5(b'{"a":[1,2]}').hexdigest()
    assert run("States.Hash(42, 'MD5')") == hashlib.md5(b"42").hexdigest()


def test_hash_input_limit_is_10000_characters() -> None:
    assert len(run("States.Hash($.d, 'SHA-256')", {"$.d": "x" * 10_000})) == 64
    assert "10000" in failure("States.Hash($.d, 'SHA-256')", {"$.d": "x" * 10_001})


@pytest.mark.parametrize(
    ("data", "algorithm", "wanted"),
    [
        ("abc", "sha-256", "algorithm"),
        ("abc", "SHA256", "algorithm"),
        ("abc", "SHA-224", "algorithm"),
        ("abc", 256, "string"),
        (None, "MD5", "null"),
    ],
)
def test_hash_rejects(data: Any, algorithm: Any, wanted: str) -> None:
    assert wanted in failure("States.Hash($.d, $.alg)", {"$.d": data, "$.alg": algorithm})


# --- math ------------------------------------------------------------------------------------------------


def test_math_random_is_within_start_inclusive_end_exclusive() -> None:
    seen = {run("States.MathRandom(1, 4)") for _ in range(200)}
    assert seen <= {1, 2, 3} and len(seen) > 1
    assert {run("States.MathRandom(5, 6)") for _ in range(20)} == {5}


def test_math_random_with_a_seed_is_deterministic() -> None:
    draws = {run("States.MathRandom(1, 999, 42)") for _ in range(5)}
    assert len(draws) == 1 and 1 <= draws.pop() < 999
    seeds = {run(f"States.MathRandom(0, 1000000, {seed})") for seed in range(20)}
    assert len(seeds) > 1  # the seed matters


def test_math_random_rounds_non_integers() -> None:
    # Java Math.round (half up): 0.5 -> 1 and 1.5 -> 2, so the only draw is 1; 0.4 -> 0 and 1.4 -> 1.
    assert {run("States.MathRandom(0.5, 1.5)") for _ in range(10)} == {1}
    assert {run("States.MathRandom(0.4, 1.4)") for _ in range(10)} == {0}


@pytest.mark.parametrize(
    ("args", "wanted"),
    [("5, 5", "less than"), ("6, 5", "less than"), ("'1', 5", "integer"), ("1, 5, 'seed'", "integer")],
)
def test_math_random_rejects(args: str, wanted: str) -> None:
    assert wanted in failure(f"States.MathRandom({args})")


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (111, -1, 110),
        (0, 0, 0),
        (1.5, 1, 3),  # Java Math.round: half up
        (-2.5, 0, -2),
        (2.4, 0.4, 2),
        (2147483647, 0, 2147483647),
        (-2147483648, 0, -2147483648),
        (2147483647, 1, 2147483648),  # AWS documents the argument range only
    ],
)
def test_math_add(a: Any, b: Any, expected: int) -> None:
    assert run("States.MathAdd($.a, $.b)", {"$.a": a, "$.b": b}) == expected


@pytest.mark.parametrize(
    ("a", "b", "wanted"),
    [
        (2147483648, 0, "outside"),
        (0, -2147483649, "outside"),
        ("1", 1, "integer"),
        (True, 1, "integer"),
        (None, 1, "integer"),
    ],
)
def test_math_add_rejects(a: Any, b: Any, wanted: str) -> None:
    assert wanted in failure("States.MathAdd($.a, $.b)", {"$.a": a, "$.b": b})


# --- strings and identifiers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "delimiters", "expected"),
    [
        ("1,2,3,4,5", ",", ["1", "2", "3", "4", "5"]),
        ("This.is+a,test=string", ".+,=", ["This", "is", "a", "test", "string"]),
        (",,a,,b,,", ",", ["a", "b"]),
        ("a, b", ", ", ["a", "b"]),
        ("abc", ",", ["abc"]),
        ("", ",", []),
        (",,,", ",", []),
        ("abc", "", ["abc"]),
    ],
)
def test_string_split(text: str, delimiters: str, expected: list[str]) -> None:
    assert run("States.StringSplit($.s, $.d)", {"$.s": text, "$.d": delimiters}) == expected


@pytest.mark.parametrize(("value", "delimiters"), [(1, ","), (["a"], ","), ("a,b", None)])
def test_string_split_needs_strings(value: Any, delimiters: Any) -> None:
    assert "string" in failure("States.StringSplit($.s, $.d)", {"$.s": value, "$.d": delimiters})


def test_uuid_is_version_4() -> None:
    first, second = run("States.UUID()"), run("States.UUID()")
    pattern = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
    assert re.fullmatch(pattern, first) and re.fullmatch(pattern, second)
    assert first != second
