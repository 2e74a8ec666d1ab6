"""Property tests (hypothesis) of stepmap.asl.jsonpath: random documents, random paths, random text."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from stepmap.asl.jsonpath import JsonPathError, PathNotFound, compile_path

KEYS = st.text(min_size=0, max_size=6)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=20,
)
CONTAINERS = st.lists(JSON, max_size=4) | st.dictionaries(KEYS, JSON, max_size=4)

# Characters that end a dot-name, so a name holding one of them must use bracket notation.
_DOT_UNSAFE = set(".[]()=!<>~&|, \t\r\n")


def _name_step(draw: st.DrawFn, key: str) -> str:
    """A name step in one of the notations that mean the same thing."""
    if key and not (_DOT_UNSAFE & set(key)) and key[0] != "*" and key.strip() == key and draw(st.booleans()):
        return "." + key
    escaped = key.replace("\\", "\\\\")
    if draw(st.booleans()):
        return "['" + escaped.replace("'", "\\'") + "']"
    return '["' + escaped.replace('"', '\\"') + '"]'


@st.composite
def doc_and_path(draw: st.DrawFn) -> tuple[Any, str, list[str | int], Any]:
    """A document, the text of a definite path that exists in it, its keys and the value it names."""
    doc = draw(CONTAINERS)
    node: Any = doc
    text, keys = "$", []
    while isinstance(node, (dict, list)) and node and draw(st.booleans()):
        if isinstance(node, dict):
            key: str | int = draw(st.sampled_from(list(node)))
            text += _name_step(draw, key)  # type: ignore[arg-type]
        else:
            index = draw(st.integers(0, len(node) - 1))
            key = index - len(node) if draw(st.booleans()) else index
            text += f"[{key}]"
        keys.append(key)
        node = node[key]  # type: ignore[index]
    return doc, text, keys, node


def _assign(doc: Any, keys: list[str | int], value: Any) -> Any:
    """The reference for set(): deep copy, then assign in place (creating objects on the way)."""
    if not keys:
        return copy.deepcopy(value)
    out = copy.deepcopy(doc)
    node = out
    for key in keys[:-1]:
        if isinstance(node, dict) and key not in node:
            node[key] = {}
        node = node[key]
    node[keys[-1]] = copy.deepcopy(value)
    return out


@given(doc_and_path())
def test_definite_path_gets_the_node_it_names(case: tuple[Any, str, list[str | int], Any]) -> None:
    doc, text, _, node = case
    path = compile_path(text)
    assert path.definite
    assert path.get(doc) is node
    assert path.find(doc) == [node]


@given(doc_and_path(), JSON, st.lists(KEYS, max_size=2))
def test_set_then_get_returns_the_value_and_changes_nothing_else(
    case: tuple[Any, str, list[str | int], Any], value: Any, extra: list[str]
) -> None:
    doc, text, keys, node = case
    if extra and not (isinstance(node, dict) and extra[0] not in node):
        extra = []  # new names go into an object, under a key it lacks, then into the objects created
    text += "".join(
        f"['{k.replace(chr(92), chr(92) * 2).replace(chr(39), chr(92) + chr(39))}']" for k in extra
    )
    keys = keys + list(extra)
    before = copy.deepcopy(doc)
    path = compile_path(text)
    out = path.set(doc, value)
    assert doc == before  # the original is untouched
    assert path.get(out) is value
    assert out == _assign(before, keys, value)


@given(doc_and_path())
def test_normalized_form_round_trips(case: tuple[Any, str, list[str | int], Any]) -> None:
    doc, text, _, node = case
    path = compile_path(text)
    again = compile_path(path.normalized())
    assert again.normalized() == path.normalized()
    assert again.get(doc) is node


@given(doc_and_path(), KEYS)
def test_missing_name_raises_path_not_found_and_find_is_empty(
    case: tuple[Any, str, list[str | int], Any], key: str
) -> None:
    doc, text, _, node = case
    if isinstance(node, dict) and key in node:
        return
    path = compile_path(text + "['" + key.replace("\\", "\\\\").replace("'", "\\'") + "']")
    assert path.find(doc) == []
    try:
        path.get(doc)
    except PathNotFound as exc:
        assert str(exc) == f"No results for path: {path.normalized()}"
    else:
        raise AssertionError("get() should have raised PathNotFound")


# Fragments of the dialect, to build random but mostly valid paths for the evaluator.
FRAGMENTS = [
    ".a",
    ".b",
    ".*",
    "[0]",
    "[-1]",
    "[1]",
    "[*]",
    "..a",
    "..*",
    "..[0]",
    "[0:2]",
    "[::2]",
    "[::-1]",
    "['a','b']",
    "[0,1]",
    "[?(@.a)]",
    "[?(!@.b)]",
    "[?(@.a == 1)]",
    "[?(@ > 0)]",
    "[?(@.a =~ /x.*/)]",
    "[?(@.a in [1, 'x', true])]",
    "[?(@.a < $.b || @.b != null)]",
    "[?(@.a.length() > 1)]",
    "[?(@.a size 2 && @.b empty false)]",
    "[?(@.a anyof [1])]",
    "['a']",
    '["b"]',
]
ENDINGS = ["", "", "", ".length()", ".sum()", ".max()"]
SMALL_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["x", "xy", "a", ""]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from("ab"), children),
    max_leaves=15,
)


@settings(max_examples=200)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=5), st.sampled_from(ENDINGS), SMALL_JSON)
def test_any_valid_path_evaluates_on_any_document_without_crashing(
    fragments: list[str], ending: str, doc: Any
) -> None:
    path = compile_path("$" + "".join(fragments) + ending)
    before = copy.deepcopy(doc)
    found = path.find(doc)
    assert isinstance(found, list)
    try:
        got = path.get(doc)
    except PathNotFound:
        # Only a definite path misses, or an aggregate function finds no numbers (Jayway raises there).
        assert (path.definite or ending not in ("", ".length()")) and found == []
    else:
        assert found == ([got] if path.definite else got)
    assert doc == before
    assert compile_path(path.normalized()).find(doc) == found


PATHISH = st.text(alphabet="$@.[]()?*,:'\"\\ -=!<>~&|/0123456789abxtruefalsn{}", max_size=30)


@settings(max_examples=300)
@given(st.one_of(st.text(max_size=30), PATHISH, st.builds(lambda s: "$" + s, PATHISH)))
def test_compile_path_raises_only_json_path_error(text: str) -> None:
    try:
        path = compile_path(text)
    except JsonPathError as exc:
        assert str(exc)
        return
    # Whatever compiles evaluates without crashing and keeps a normalized form that compiles again.
    path.find({"a": [1, {"b": "x"}], "b": True})
    assert compile_path(path.normalized()).normalized() == path.normalized()
