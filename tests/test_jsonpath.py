"""Example-based tests of the JSONPath dialect in stepmap.asl.jsonpath (AWS Step Functions / Jayway)."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest

from stepmap.asl.jsonpath import JsonPath, JsonPathError, PathNotFound, compile_path, is_variable_name

STORE: dict[str, Any] = {
    "store": {
        "book": [
            {"category": "reference", "author": "Nigel Rees", "title": "Sayings", "price": 8.95},
            {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword", "price": 12.99},
            {
                "category": "fiction",
                "author": "Herman Melville",
                "title": "Moby",
                "isbn": "0-553",
                "price": 8.99,
            },
            {"category": "fiction", "author": "Tolkien", "title": "LOTR", "isbn": "0-395", "price": 22.99},
        ],
        "bicycle": {"color": "red", "price": 19.95},
    },
    "expensive": 10,
}


def find(path: str, doc: Any = STORE) -> list[Any]:
    return compile_path(path).find(doc)


def titles(path: str, doc: Any = STORE) -> list[Any]:
    return [b["title"] for b in compile_path(path).find(doc)]


# --- roots and definite paths ---------------------------------------------------------------------------


def test_dollar_alone_returns_the_document_itself() -> None:
    doc = {"a": 1}
    path = compile_path("$")
    assert path.get(doc) is doc
    assert path.find(doc) == [doc]
    assert (path.root, path.definite, path.normalized()) == ("$", True, "$")


@pytest.mark.parametrize(
    ("text", "root", "normalized"),
    [
        ("$$", "$$", "$$"),
        ("$$.Execution.Id", "$$", "$$['Execution']['Id']"),
        ("$foo", "foo", "$foo"),
        ("$foo.bar[0]", "foo", "$foo['bar'][0]"),
        ("$Ünï_2['x']", "Ünï_2", "$Ünï_2['x']"),
        ("$.a.b", "$", "$['a']['b']"),
    ],
)
def test_roots(text: str, root: str, normalized: str) -> None:
    path = compile_path(text)
    assert path.root == root
    assert path.text == text
    assert path.normalized() == normalized


def test_context_and_variable_roots_read_the_document_the_caller_passes() -> None:
    assert compile_path("$$.Execution.Id").get({"Execution": {"Id": "arn:x"}}) == "arn:x"
    assert compile_path("$foo.bar[1]").get({"bar": [1, 2]}) == 2
    assert compile_path("$foo").get([1, 2]) == [1, 2]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$.store.bicycle.color", "red"),
        ("$['store']['bicycle']['color']", "red"),
        ('$["store"]["bicycle"]["price"]', 19.95),
        ("$.store.book[0].title", "Sayings"),
        ("$.store.book[-1].title", "LOTR"),
        ("$.store.book[ 1 ].title", "Sword"),
        ("$.expensive", 10),
    ],
)
def test_definite_get(text: str, expected: Any) -> None:
    path = compile_path(text)
    assert path.definite
    assert path.get(STORE) == expected
    assert path.find(STORE) == [expected]


def test_names_after_a_dot_take_unicode_digits_dashes_and_symbols() -> None:
    doc = {"a-b": 1, "Ünïcode": 2, "0": 3, "a:b": 4, "$x": 5, "a*b": 6, "日本": 7}
    for name, value in doc.items():
        assert compile_path(f"$.{name}").get(doc) == value


def test_null_values_are_found_and_distinct_from_missing() -> None:
    path = compile_path("$.a")
    assert path.get({"a": None}) is None
    assert path.find({"a": None}) == [None]
    assert path.find({}) == []
    with pytest.raises(PathNotFound):
        path.get({})


def test_bracket_names_with_escapes_and_special_characters() -> None:
    doc = {"it's": 1, 'say "hi"': 2, "a.b": 3, "x y": 4, "back\\slash": 5, "tab\t": 6, "é": 7, "😀": 8}
    assert compile_path("$['it\\'s']").get(doc) == 1
    assert compile_path('$["it\'s"]').get(doc) == 1
    assert compile_path('$["say \\"hi\\""]').get(doc) == 2
    assert compile_path("$['a.b']").get(doc) == 3
    assert compile_path("$['x y']").get(doc) == 4
    assert compile_path("$['back\\\\slash']").get(doc) == 5
    assert compile_path("$['tab\\t']").get(doc) == 6
    assert compile_path("$['\\u00e9']").get(doc) == 7
    assert compile_path("$['\\ud83d\\ude00']").get(doc) == 8


def test_a_name_step_never_indexes_a_list_or_string_and_an_index_never_a_string() -> None:
    doc = {"s": "abc", "l": [1, 2], "d": {"0": "zero"}}
    for text in ("$.s[0]", "$.l.x", "$.s.x", "$.d[0]", "$.l['0']", "$.l[2]", "$.l[-3]"):
        path = compile_path(text)
        assert path.find(doc) == [], text
        with pytest.raises(PathNotFound):
            path.get(doc)
    assert compile_path("$.d['0']").get(doc) == "zero"
    assert compile_path("$.d.0").get(doc) == "zero"


def test_path_not_found_message_uses_awss_normalized_form() -> None:
    with pytest.raises(PathNotFound) as info:
        compile_path("$.a.b").get({"a": {}})
    assert str(info.value) == "No results for path: $['a']['b']"
    assert info.value.path == "$.a.b"
    assert isinstance(info.value, LookupError)
    with pytest.raises(PathNotFound, match=r"No results for path: \$\['x'\]\[0\]"):
        compile_path("$.x[0]").get({"x": "str"})
    with pytest.raises(PathNotFound, match=r"\$\$\['Execution'\]\['Nope'\]"):
        compile_path("$$.Execution.Nope").get({"Execution": {}})


# --- indefinite paths ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$.store.book[*].author", ["Nigel Rees", "Evelyn Waugh", "Herman Melville", "Tolkien"]),
        ("$.store.book.*.title", ["Sayings", "Sword", "Moby", "LOTR"]),
        ("$.store.bicycle.*", ["red", 19.95]),
        ("$.store.bicycle[*]", ["red", 19.95]),
        ("$.store.book[0,2].title", ["Sayings", "Moby"]),
        ("$.store.book[2,0].title", ["Moby", "Sayings"]),
        ("$.store.book[0:2].title", ["Sayings", "Sword"]),
        ("$.store.book[:2].title", ["Sayings", "Sword"]),
        ("$.store.book[-2:].title", ["Moby", "LOTR"]),
        ("$.store.book[1:].title", ["Sword", "Moby", "LOTR"]),
        ("$.store.book[::2].title", ["Sayings", "Moby"]),
        ("$.store.book[::-1].title", ["LOTR", "Moby", "Sword", "Sayings"]),
        ("$.store.book[1:100].title", ["Sword", "Moby", "LOTR"]),
        ("$.store.book[5:9].title", []),
        ("$..author", ["Nigel Rees", "Evelyn Waugh", "Herman Melville", "Tolkien"]),
        ("$.store..price", [8.95, 12.99, 8.99, 22.99, 19.95]),
        ("$..book[2].title", ["Moby"]),
        ("$..book[-1].title", ["LOTR"]),
        ("$..['author']", ["Nigel Rees", "Evelyn Waugh", "Herman Melville", "Tolkien"]),
        ("$.store.book[*].isbn", ["0-553", "0-395"]),
        ("$.store.nothing[*]", []),
    ],
)
def test_indefinite_find(text: str, expected: list[Any]) -> None:
    path = compile_path(text)
    assert not path.definite
    assert path.find(STORE) == expected
    assert path.get(STORE) == expected  # indefinite get: the list of matches


def test_multi_index_skips_out_of_range_indexes() -> None:
    assert find("$[0,5,-1]", [1, 2, 3]) == [1, 3]


def test_deep_scan_is_pre_order_parent_before_children() -> None:
    doc = {"name": 1, "a": {"name": 2, "b": [{"name": 3}, {"x": {"name": 4}}]}, "c": {"name": 5}}
    assert find("$..name", doc) == [1, 2, 3, 4, 5]


def test_deep_scan_wildcard_lists_every_value_level_by_container() -> None:
    doc = {"a": {"b": 1}, "c": [2, {"d": 3}]}
    assert find("$..*", doc) == [{"b": 1}, [2, {"d": 3}], 1, 2, {"d": 3}, 3]
    assert find("$..[*]", doc) == find("$..*", doc)


def test_deep_scan_index_applies_to_every_array() -> None:
    doc = {"a": [1, [2, 3]], "b": {"c": [4]}}
    assert find("$..[0]", doc) == [1, 2, 4]


def test_deep_scan_with_filter_returns_every_matching_object() -> None:
    doc = {"a": {"color": "red"}, "b": [{"color": "blue"}, {"size": 1}], "color": "green"}
    assert find("$..[?(@.color)]", doc) == [doc, {"color": "red"}, {"color": "blue"}]
    assert find("$..[?(@.color == 'blue')]", doc) == [{"color": "blue"}]


def test_multi_name_as_the_last_step_merges_into_one_object() -> None:
    # Jayway (and so AWS) returns one object holding the present keys, not a list of values.
    assert find("$.store.bicycle['color','price']") == [{"color": "red", "price": 19.95}]
    assert find("$.store.bicycle['color','nope']") == [{"color": "red"}]
    assert find("$.store.book[*]['title','price']")[0] == {"title": "Sayings", "price": 8.95}


def test_multi_name_before_another_step_iterates_the_values() -> None:
    doc = {"a": {"x": 1}, "b": {"x": 2}, "c": {"x": 3}}
    assert find("$['a','c'].x", doc) == [1, 3]
    assert find("$[\"b\", 'a'].x", doc) == [2, 1]


def test_wildcard_on_a_scalar_and_indexes_on_an_object_match_nothing() -> None:
    assert find("$.a.*", {"a": 5}) == []
    assert find("$.a[*]", {"a": "str"}) == []
    assert find("$.a[0:1]", {"a": {"0": 1}}) == []


# --- filters -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$.store.book[?(@.isbn)]", ["Moby", "LOTR"]),
        ("$.store.book[?(!@.isbn)]", ["Sayings", "Sword"]),
        ("$.store.book[?(@.price < 10)]", ["Sayings", "Moby"]),
        ("$.store.book[?(@.price <= 8.99)]", ["Sayings", "Moby"]),
        ("$.store.book[?(@.price > 12.99)]", ["LOTR"]),
        ("$.store.book[?(@.price >= 12.99)]", ["Sword", "LOTR"]),
        ("$.store.book[?(@.category == 'reference')]", ["Sayings"]),
        ('$.store.book[?(@.category == "reference")]', ["Sayings"]),
        ("$.store.book[?(@.category != 'reference')]", ["Sword", "Moby", "LOTR"]),
        ("$.store.book[?(@.price < $.expensive)]", ["Sayings", "Moby"]),
        ("$.store.book[?(@.price < $['expensive'])]", ["Sayings", "Moby"]),
        ("$.store.book[?(@.category == 'fiction' && @.price < 20)]", ["Sword", "Moby"]),
        ("$.store.book[?(@.price < 9 || @.title == 'LOTR')]", ["Sayings", "Moby", "LOTR"]),
        ("$.store.book[?(@.price > 9 && @.price < 20 || @.isbn == '0-395')]", ["Sword", "LOTR"]),
        ("$.store.book[?(@.price > 9 && (@.price < 20 || @.isbn == '0-395'))]", ["Sword", "LOTR"]),
        ("$.store.book[?((@.price < 9 || @.price > 20) && @.isbn)]", ["Moby", "LOTR"]),
        ("$.store.book[?(!(@.category == 'fiction'))]", ["Sayings"]),
        ("$.store.book[?(@.author =~ /.*REES/i)]", ["Sayings"]),
        ("$.store.book[?(@.author =~ /Nigel/)]", []),  # Java's matches(): the whole string
        ("$.store.book[?(@.title =~ /^(Moby|LOTR)$/)]", ["Moby", "LOTR"]),
        ("$.store.book[?(@.title =~ /a\\/b|Sword/)]", ["Sword"]),
        ("$.store.book[?(@.category in ['reference', 'poetry'])]", ["Sayings"]),
        ("$.store.book[?(@.category nin ['reference'])]", ["Sword", "Moby", "LOTR"]),
        ("$.store.book[?(@.price in [8.95, 22.99])]", ["Sayings", "LOTR"]),
        ("$.store.book[?(@.title size 4)]", ["Moby", "LOTR"]),
        ("$.store.book[?(@.title contains 'or')]", ["Sword"]),
        ("$.store.book[?(@.price==8.95)]", ["Sayings"]),
        ("$.store.book[?( @.price == 8.95 )]", ["Sayings"]),
        ("$.store.book[ ?(@.price == 8.95) ]", ["Sayings"]),
        ("$.store.book[?(@['price'] == 8.95)]", ["Sayings"]),
        ("$.store.book[?(8.95 == @.price)]", ["Sayings"]),
        ("$.store.book[?(@.price < 0)]", []),
    ],
)
def test_filters(text: str, expected: list[str]) -> None:
    path = compile_path(text)
    assert not path.definite
    assert titles(text) == expected


def test_a_filter_that_matches_nothing_gives_an_empty_list_not_an_error() -> None:
    path = compile_path("$.items[?(@.x == 'nope')]")
    assert path.find({"items": [{"x": 1}]}) == []
    assert path.get({"items": [{"x": 1}]}) == []
    assert path.get({"items": []}) == []
    assert path.get({}) == []
    assert compile_path("$.items[?(@.x == 1)].y").get({"items": [{"x": 1}]}) == []


def test_filter_on_an_object_tests_the_object_itself() -> None:
    assert find("$.store.bicycle[?(@.color == 'red')]") == [STORE["store"]["bicycle"]]
    assert find("$.store.bicycle[?(@.color == 'blue')]") == []


def test_filter_on_primitive_elements_uses_at_alone() -> None:
    assert find("$[?(@ > 1)]", [1, 2, 3, "4", True]) == [2, 3]
    assert find("$[?(@ == 'a')]", ["a", "b", "a"]) == ["a", "a"]
    assert find("$.a[?(@)]", {"a": 5}) == []


def test_existence_is_presence_even_for_null_and_false() -> None:
    items = [{"a": None}, {"a": False}, {"a": 0}, {"b": 1}]
    assert find("$[?(@.a)]", items) == items[:3]
    assert find("$[?(!@.a)]", items) == [{"b": 1}]


def test_existence_of_nested_and_indefinite_paths() -> None:
    items = [{"a": {"b": 1}}, {"a": {}}, {"a": [1]}, {"a": []}]
    assert find("$[?(@.a.b)]", items) == [items[0]]
    assert find("$[?(@.a[0])]", items) == [items[2]]
    assert find("$[?(@.a[*])]", items) == [items[0], items[2]]


def test_comparisons_never_coerce_types() -> None:
    items = [{"x": 1}, {"x": 1.0}, {"x": True}, {"x": "1"}, {"x": None}, {"x": [1]}, {"x": False}, {"x": 0}]
    assert find("$[?(@.x == 1)]", items) == [{"x": 1}, {"x": 1.0}]
    assert find("$[?(@.x == 1.0)]", items) == [{"x": 1}, {"x": 1.0}]
    assert find("$[?(@.x == true)]", items) == [{"x": True}]
    assert find("$[?(@.x == false)]", items) == [{"x": False}]
    assert find("$[?(@.x == '1')]", items) == [{"x": "1"}]
    assert find("$[?(@.x == null)]", items) == [{"x": None}]
    assert find("$[?(@.x == [1])]", items) == [{"x": [1]}]
    assert find("$[?(@.x >= 1)]", items) == [{"x": 1}, {"x": 1.0}]
    assert find("$[?(@.x < 1)]", items) == [{"x": 0}]
    assert len(find("$[?(@.x != 1)]", items)) == 6
    assert find("$[?(@.x in [1])]", items) == [{"x": 1}, {"x": 1.0}]
    assert find("$[?(@.x in [true])]", items) == [{"x": True}]


def test_strings_compare_lexicographically_and_never_against_numbers() -> None:
    items = [{"s": "apple"}, {"s": "banana"}, {"s": 5}]
    assert find("$[?(@.s < 'b')]", items) == [{"s": "apple"}]
    assert find("$[?(@.s > 'a')]", items) == [{"s": "apple"}, {"s": "banana"}]
    assert find("$[?(@.s > 1)]", items) == [{"s": 5}]


def test_deep_equality_of_objects_and_arrays_is_strict() -> None:
    items = [{"o": {"a": 1, "b": [True]}}, {"o": {"a": 1, "b": [1]}}]
    assert find("$[?(@.o == {'a': 1, 'b': [true]})]", items) == [items[0]]
    assert find('$[?(@.o == {"a": 1.0, "b": [1]})]', items) == [items[1]]


def test_missing_operand_rejects_the_element_even_under_or_and_not() -> None:
    # Jayway aborts the whole predicate for that element when a definite operand path is missing.
    items = [{"a": 1}, {"b": 2}, {"a": 2, "b": 2}]
    assert find("$[?(@.a == 1 || @.b == 2)]", items) == [{"a": 1}, {"a": 2, "b": 2}]
    assert find("$[?(@.a != 1)]", items) == [{"a": 2, "b": 2}]
    assert find("$[?(!(@.a == 1))]", items) == [{"a": 2, "b": 2}]
    # Existence checks guard comparisons, thanks to short-circuit evaluation.
    assert find("$[?(!@.a || @.a == 2)]", items) == [{"b": 2}, {"a": 2, "b": 2}]


def test_filter_on_a_non_object_element_with_a_property_path_does_not_match() -> None:
    assert find("$[?(@.a == 1)]", [1, "a", None, [1], {"a": 1}]) == [{"a": 1}]


def test_filter_root_reference_reads_the_document_passed_to_find() -> None:
    doc = {"limit": 2, "items": [{"n": 1}, {"n": 2}, {"n": 3}]}
    assert find("$.items[?(@.n >= $.limit)].n", doc) == [2, 3]
    assert find("$.items[?(@.n in $.allowed)].n", {**doc, "allowed": [3, 1]}) == [1, 3]
    assert find("$.items[?(@.n == $.nope)].n", doc) == []


def test_nested_filters() -> None:
    doc = {"orders": [{"id": 1, "lines": [{"sku": "a"}]}, {"id": 2, "lines": [{"sku": "b"}]}]}
    assert find("$.orders[?(@.lines[?(@.sku == 'b')])].id", doc) == [2]


def test_filter_with_length_function() -> None:
    doc = {"groups": [{"items": [1, 2, 3]}, {"items": []}, {"items": {"a": 1}}, {"name": "x"}]}
    assert find("$.groups[?(@.items.length() > 0)]", doc) == [doc["groups"][0], doc["groups"][2]]
    assert find("$.groups[?(@.items.length() == 0)]", doc) == [doc["groups"][1]]
    assert find("$[?(@.length() == 2)]", [[1, 2], [1], [3, 4]]) == [[1, 2], [3, 4]]
    assert find("$.groups[?(@.items.length() < $.groups.length())]", doc) == doc["groups"][:3]


def test_word_operators_on_arrays() -> None:
    items = [{"tags": ["a", "b"]}, {"tags": ["c"]}, {"tags": []}, {"tags": "ab"}]
    assert find("$[?(@.tags subsetof ['a', 'b', 'x'])]", items) == [items[0], items[2]]
    assert find("$[?(@.tags anyof ['c', 'z'])]", items) == [items[1]]
    assert find("$[?(@.tags noneof ['a'])]", items) == [items[1], items[2]]
    assert find("$[?(@.tags contains 'b')]", items) == [items[0], items[3]]
    assert find("$[?(@.tags size 1)]", items) == [items[1]]
    assert find("$[?(@.tags empty true)]", items) == [items[2]]
    assert find("$[?(@.tags empty false)]", items) == [items[0], items[1], items[3]]


def test_regex_flags_and_non_strings() -> None:
    items = [{"s": "Hello\nWorld"}, {"s": 123}, {"s": "hello"}]
    assert find("$[?(@.s =~ /hello/i)]", items) == [items[2]]
    assert find("$[?(@.s =~ /hello.world/is)]", items) == [items[0]]
    assert find("$[?(@.s =~ /\\d+/)]", items) == []  # no coercion of 123 to "123"
    assert find("$[?(/h.*/ =~ @.s)]", items) == [items[2]]


# --- functions -----------------------------------------------------------------------------------------


def test_length_function_at_the_end_of_a_path() -> None:
    assert compile_path("$.store.book.length()").get(STORE) == 4
    assert compile_path("$.store.bicycle.length()").get(STORE) == 2
    assert compile_path("$.length()").get([1, 2, 3]) == 3
    path = compile_path("$.a.length()")
    assert path.definite
    assert path.find({"a": []}) == [0]
    with pytest.raises(PathNotFound, match=r"\$\['a'\]"):
        path.get({})
    assert path.find({}) == []


def test_function_after_deep_scan_takes_all_matches_and_per_match_otherwise() -> None:
    assert compile_path("$..book.length()").get(STORE) == 4
    assert compile_path("$..book.length()").definite
    assert compile_path("$..price.sum()").get(STORE) == pytest.approx(73.87)
    each = compile_path("$.store.book[*].title.length()")
    assert not each.definite
    assert each.get({"store": {"book": [{"title": [1, 2]}, {"title": {}}]}}) == [2, 0]


def test_numeric_aggregate_functions() -> None:
    doc = {"n": [1, 2, 3, 4, "x", True]}
    assert compile_path("$.n.min()").get(doc) == 1.0
    assert compile_path("$.n.max()").get(doc) == 4.0
    assert compile_path("$.n.sum()").get(doc) == 10.0
    assert compile_path("$.n.avg()").get(doc) == 2.5
    assert compile_path("$.n.stddev()").get(doc) == pytest.approx(1.118033988749895)
    with pytest.raises(PathNotFound, match="empty array"):
        compile_path("$.e.sum()").get({"e": []})


# --- set (ResultPath) ----------------------------------------------------------------------------------


def test_set_returns_a_new_document_and_leaves_the_original_alone() -> None:
    doc: dict[str, Any] = {"a": {"b": [1, {"c": 2}], "keep": {"deep": [1]}}, "other": {"x": 1}}
    before = copy.deepcopy(doc)
    out = compile_path("$.a.b[1].c").set(doc, 99)
    assert doc == before
    assert out == {"a": {"b": [1, {"c": 99}], "keep": {"deep": [1]}}, "other": {"x": 1}}
    # Copy only the containers on the way; share the rest.
    assert out is not doc and out["a"] is not doc["a"] and out["a"]["b"] is not doc["a"]["b"]
    assert out["other"] is doc["other"]
    assert out["a"]["keep"] is doc["a"]["keep"]


def test_set_creates_missing_objects_on_the_way() -> None:
    assert compile_path("$.x.y.z").set({"a": 1}, True) == {"a": 1, "x": {"y": {"z": True}}}
    assert compile_path("$.a").set({}, None) == {"a": None}
    assert compile_path("$['a b']['c']").set({}, 1) == {"a b": {"c": 1}}


def test_set_on_dollar_replaces_the_whole_document() -> None:
    doc = {"a": 1}
    assert compile_path("$").set(doc, [1]) == [1]
    assert doc == {"a": 1}


def test_set_overwrites_existing_values_and_indexes_from_the_end() -> None:
    assert compile_path("$.a").set({"a": {"old": 1}}, 2) == {"a": 2}
    assert compile_path("$.l[-1]").set({"l": [1, 2, 3]}, 0) == {"l": [1, 2, 0]}
    assert compile_path("$[0].a").set([{"a": 1}, {"a": 2}], 5) == [{"a": 5}, {"a": 2}]


@pytest.mark.parametrize(
    ("text", "doc", "message"),
    [
        ("$.s.x", {"s": "str"}, r"\$\['s'\] is a string, not an object"),
        ("$.l.x", {"l": []}, r"\$\['l'\] is an array, not an object"),
        ("$.n.x", {"n": None}, r"\$\['n'\] is null, not an object"),
        ("$.l[3]", {"l": [1]}, r"index \[3\] is out of range for the array at \$\['l'\] \(length 1\)"),
        ("$.o[0]", {"o": {}}, r"\$\['o'\] is an object, not an array"),
        ("$.q[0]", {}, r"\$\['q'\] does not exist"),
        ("$.a", [1], r"\$ is an array, not an object"),
        ("$.a", "text", r"\$ is a string"),
    ],
)
def test_set_fails_clearly_when_the_path_cannot_hold_a_value(text: str, doc: Any, message: str) -> None:
    with pytest.raises(PathNotFound, match=message):
        compile_path(text).set(doc, 1)


@pytest.mark.parametrize("text", ["$.a[*]", "$..a", "$.a[0:1]", "$[?(@.a)]", "$['a','b']", "$.a.length()"])
def test_set_refuses_paths_that_are_not_names_and_indexes(text: str) -> None:
    with pytest.raises(ValueError, match="only names and indexes"):
        compile_path(text).set({"a": [1]}, 1)


# --- parsing: errors, normalized form, caching ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"must start with '\$' at column 1"),
        ("a.b", r"must start with '\$'"),
        ("$.", r"expected a name or '\*' after '\.' but found the end at column 3"),
        ("$..", r"after '\.\.'"),
        ("$.a[", r"after '\[' but found the end at column 5"),
        ("$.a[0", r"expected '\]' but found the end at column 6"),
        ("$['a", r"unterminated string at column 3"),
        ("$['a'", r"expected '\]'"),
        ("$.a b", r"bracket notation"),
        ("$[1:2:0]", r"slice step cannot be 0"),
        ("$[0,]", r"expected an index after ','"),
        ("$[-]", r"expected digits after '-'"),
        ("$['a',1]", r"expected a quoted name after ','"),
        ("$[?(@.a = 1)]", r"use '==' to compare at column 9"),
        ("$[?(@.a == )]", r"expected a path \(@ or \$\), a literal or a /regex/ but found '\)'"),
        ("$[?(@.a == 1]", r"expected '\)'"),
        ("$[?(@.a == 1)", r"expected '\]'"),
        ("$[?(@.a lt 1)]", r"unknown operator 'lt'"),
        ("$[?(1)]", r"expected a comparison after a literal"),
        ("$[?(@.a =~ 'x')]", r"=~ needs a /regex/"),
        ("$[?(@.a =~ /(/)]", r"invalid regex"),
        ("$[?(@.a =~ /x/q)]", r"unknown regex flag 'q'"),
        ("$[?(@.a == /x/)]", r"can only be used with =~"),
        ("$[?(@.a == $$.b)]", r"inside a filter a path starts with '@' or '\$'"),
        ("$.foo()", r"unknown function foo\(\)"),
        ("$.length(1)", r"takes no arguments"),
        ("$.length().a", r"a function call must end the path"),
        ("$..length()", r"needs a path before it"),
        ("$$$", r"unexpected '\$'"),
        ("$x-y", r"unexpected '-'"),
        ("$" + "a" * 81, r"at most 80 characters"),
        ("$[?(" + "(" * 200 + "@.a" + ")" * 200 + ")]", r"nested too deeply"),
    ],
)
def test_syntax_errors_say_what_and_where(text: str, message: str) -> None:
    with pytest.raises(JsonPathError, match=message) as info:
        compile_path(text)
    assert isinstance(info.value, ValueError)
    assert info.value.text == text
    assert info.value.column is not None and 1 <= info.value.column <= len(text) + 1


def test_a_non_string_path_is_a_json_path_error() -> None:
    with pytest.raises(JsonPathError, match="must be a string"):
        compile_path(5)  # type: ignore[arg-type]


def test_surrounding_whitespace_is_ignored() -> None:
    assert compile_path("  $.a  ").get({"a": 1}) == 1


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("$.a.b[0]", "$['a']['b'][0]"),
        ('$["it\'s"]', "$['it\\'s']"),
        ("$.a[*]", "$['a'][*]"),
        ("$.a.*", "$['a'][*]"),
        ("$..a", "$..['a']"),
        ("$..*", "$..[*]"),
        ("$..[0]", "$..[0]"),
        ("$.a[0,1]", "$['a'][0,1]"),
        ("$['a', 'b']", "$['a','b']"),
        ("$.a[1:]", "$['a'][1:]"),
        ("$.a[::2]", "$['a'][::2]"),
        ("$.a[?( @.b == 1 )]", "$['a'][?(@.b == 1)]"),
        ("$.a.length()", "$['a'].length()"),
    ],
)
def test_normalized_form(text: str, normalized: str) -> None:
    assert compile_path(text).normalized() == normalized
    assert compile_path(normalized).normalized() == normalized


def test_definite_flag() -> None:
    for text in ("$", "$.a", "$['a'][0]", "$.a[-1].b", "$$.Map.Item.Value", "$v.x", "$.a.length()"):
        assert compile_path(text).definite, text
    for text in ("$.a[*]", "$.*", "$..a", "$[0,1]", "$['a','b']", "$[0:1]", "$[?(@.a)]", "$.a[*].length()"):
        assert not compile_path(text).definite, text


def test_reference_paths_are_names_and_indexes_only() -> None:
    for text in ("$", "$.a[0].b", "$$.Map.Item.Index", "$v['x']"):
        assert compile_path(text).is_reference, text
    for text in ("$.a.length()", "$..a.length()", "$.a[*]", "$..a", "$[?(@.a)]"):
        assert not compile_path(text).is_reference, text


def test_compile_path_is_cached_and_paths_compare_by_text() -> None:
    assert compile_path("$.cached.path") is compile_path("$.cached.path")
    assert compile_path("$.a") != compile_path("$['a']")
    assert hash(compile_path("$.a")) == hash(compile_path("$.a"))
    assert isinstance(compile_path("$.a"), JsonPath)


def test_paths_pickle_for_worker_processes_even_with_filters() -> None:
    path = compile_path("$.items[?(@.n > 1 && @.tag =~ /a.*/)].n")
    clone = pickle.loads(pickle.dumps(path))
    assert clone == path
    assert clone.find({"items": [{"n": 2, "tag": "ab"}, {"n": 3, "tag": "b"}]}) == [2]


def test_paths_do_not_mutate_documents() -> None:
    doc = copy.deepcopy(STORE)
    for text in ("$..*", "$..[?(@.price)]", "$.store.book[*]['title','price']", "$..book.length()"):
        compile_path(text).find(doc)
    assert doc == STORE


def test_is_variable_name() -> None:
    assert is_variable_name("foo")
    assert is_variable_name("Ünïcode_2")
    assert is_variable_name("x" * 80)
    assert not is_variable_name("x" * 81)
    assert not is_variable_name("")
    assert not is_variable_name("2abc")
    assert not is_variable_name("a-b")
    assert not is_variable_name("a.b")
