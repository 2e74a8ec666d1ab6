"""DynamoDB expressions: a tokenizer and a recursive-descent parser for condition, filter, key condition,
projection and update expressions, into the small AST below (evaluated by :mod:`.evaluation`).

Grammar (keywords case-insensitive, function names case-sensitive, as DynamoDB reads them)::

    condition  := or
    or         := and ("OR" and)*
    and        := not ("AND" not)*
    not        := "NOT" not | primary
    primary    := "(" condition ")" | function | operand comparator operand
                | operand "BETWEEN" operand "AND" operand | operand "IN" "(" operand ("," operand)* ")"
    function   := attribute_exists(path) | attribute_not_exists(path) | attribute_type(path, operand)
                | begins_with(path, operand) | contains(path, operand)
    operand    := path | :value | size(path)
    path       := name ("." name | "[" digits "]")*          name := identifier | #placeholder
    update     := (SET action ("," action)* | REMOVE path ("," path)* | ADD path :value ("," ...)*
                  | DELETE path :value ("," ...)*)+
    action     := path "=" setvalue;  setvalue := uoperand (("+" | "-") uoperand)?
    uoperand   := path | :value | if_not_exists(path, uoperand) | list_append(uoperand, uoperand)
    projection := path ("," path)*

Placeholders resolve while parsing; :class:`Placeholders` records which ones a request used, so unused
or undefined ones get DynamoDB's ValidationException. No state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stepmap.endpoints.dynamodb.reserved import RESERVED_WORDS
from stepmap.endpoints.dynamodb.values import (
    TYPES,
    ValidationError,
    check_value,
    compare,
)

__all__ = [
    "KeyCondition",
    "Placeholders",
    "parse_condition",
    "parse_key_condition",
    "parse_projection",
    "parse_update",
]

Item = dict[str, dict[str, Any]]
PathElem = str | int
Path = tuple[PathElem, ...]

_TOKEN = re.compile(
    r"\s*(?:(?P<name>#[A-Za-z0-9_]+)|(?P<value>:[A-Za-z0-9_]+)|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<number>[0-9]+)|(?P<op><>|<=|>=|[=<>(),.\[\]+-]))"
)
_COMPARATORS = {"=", "<>", "<", "<=", ">", ">="}
_BOOL_FUNCTIONS = {"attribute_exists", "attribute_not_exists", "attribute_type", "begins_with", "contains"}


@dataclass
class Placeholders:
    """ExpressionAttributeNames/Values of one request, and which of them its expressions used."""

    names: Mapping[str, Any]
    values: Mapping[str, Any]
    used_names: set[str] = field(default_factory=set)
    used_values: set[str] = field(default_factory=set)

    def name(self, token: str, kind: str) -> str:
        if token not in self.names:
            raise ValidationError(
                f"Invalid {kind}: An expression attribute name used in the document path is not defined; "
                f"attribute name: {token}"
            )
        self.used_names.add(token)
        return str(self.names[token])

    def value(self, token: str, kind: str) -> dict[str, Any]:
        if token not in self.values:
            raise ValidationError(
                f"Invalid {kind}: An expression attribute value used in expression is not defined; "
                f"attribute value: {token}"
            )
        self.used_values.add(token)
        return check_value(self.values[token])

    def check_all_used(self) -> None:
        unused = sorted(set(self.names) - self.used_names)
        if unused:
            raise ValidationError(
                "Value provided in ExpressionAttributeNames unused in expressions: keys: {"
                + ", ".join(unused)
                + "}"
            )
        unused = sorted(set(self.values) - self.used_values)
        if unused:
            raise ValidationError(
                "Value provided in ExpressionAttributeValues unused in expressions: keys: {"
                + ", ".join(unused)
                + "}"
            )


# -- AST -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PathRef:
    path: Path


@dataclass(frozen=True)
class Const:
    value: dict[str, Any]


@dataclass(frozen=True)
class Call:
    name: str  # size, if_not_exists, list_append, and the boolean functions
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Arith:
    op: str
    left: Any
    right: Any


@dataclass(frozen=True)
class Compare:
    op: str
    left: Any
    right: Any


@dataclass(frozen=True)
class Between:
    operand: Any
    low: Any
    high: Any


@dataclass(frozen=True)
class In:
    operand: Any
    options: tuple[Any, ...]


@dataclass(frozen=True)
class Logical:
    op: str  # AND, OR, NOT
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Update:
    set: tuple[tuple[Path, Any], ...] = ()
    remove: tuple[Path, ...] = ()
    add: tuple[tuple[Path, dict[str, Any]], ...] = ()
    delete: tuple[tuple[Path, dict[str, Any]], ...] = ()

    def paths(self) -> list[Path]:
        return (
            [p for p, _ in self.set]
            + list(self.remove)
            + [p for p, _ in self.add]
            + [p for p, _ in self.delete]
        )


# -- the parser ----------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: Any, kind: str, ph: Placeholders) -> None:
        if not isinstance(text, str):
            raise ValidationError(f"Invalid {kind}: the expression must be a string")
        if not text.strip():
            raise ValidationError(f"Invalid {kind}: The expression can not be empty;")
        self.text, self.kind, self.ph = text, kind, ph
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                bad = text[pos:].lstrip()[:1]
                self.fail(f'Syntax error; token: "{bad}", near: "{text[max(0, pos - 5) : pos + 5].strip()}"')
            assert m is not None and m.lastgroup is not None
            self.tokens.append((m.lastgroup, m.group(m.lastgroup), m.start(m.lastgroup)))
            pos = m.end()
        self.i = 0

    def fail(self, message: str) -> Any:
        raise ValidationError(f"Invalid {self.kind}: {message}")

    def peek(self, offset: int = 0) -> tuple[str, str, int] | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def syntax(self) -> Any:
        tok = self.peek()
        if tok is None:
            near = self.text.strip()[-8:]
            return self.fail(f'Syntax error; token: "<EOF>", near: "{near}"')
        return self.fail(
            f'Syntax error; token: "{tok[1]}", near: "{self.text[max(0, tok[2] - 5) : tok[2] + 8]}"'
        )

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            self.syntax()
        assert tok is not None
        self.i += 1
        return tok

    def is_op(self, op: str, offset: int = 0) -> bool:
        tok = self.peek(offset)
        return tok is not None and tok[0] == "op" and tok[1] == op

    def expect_op(self, op: str) -> None:
        if not self.is_op(op):
            self.syntax()
        self.i += 1

    def is_keyword(self, word: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "ident" and tok[1].upper() == word

    def keyword(self, word: str) -> bool:
        if self.is_keyword(word):
            self.i += 1
            return True
        return False

    def done(self) -> None:
        if self.peek() is not None:
            self.syntax()

    # paths and operands
    def attribute_name(self, name: str) -> str:
        if name.upper() in RESERVED_WORDS:
            self.fail(f"Attribute name is a reserved keyword; reserved keyword: {name}")
        return name

    def path(self) -> Path:
        tok = self.take()
        if tok[0] == "ident":
            elems: list[PathElem] = [self.attribute_name(tok[1])]
        elif tok[0] == "name":
            elems = [self.ph.name(tok[1], self.kind)]
        else:
            self.i -= 1
            return self.syntax()
        while True:
            if self.is_op("."):
                self.i += 1
                tok = self.take()
                if tok[0] == "ident":
                    elems.append(self.attribute_name(tok[1]))
                elif tok[0] == "name":
                    elems.append(self.ph.name(tok[1], self.kind))
                else:
                    self.i -= 1
                    self.syntax()
            elif self.is_op("["):
                self.i += 1
                tok = self.take()
                if tok[0] != "number":
                    self.i -= 1
                    self.syntax()
                elems.append(int(tok[1]))
                self.expect_op("]")
            else:
                return tuple(elems)

    def function_args(self) -> list[Any]:
        self.expect_op("(")
        args = []
        if not self.is_op(")"):
            while True:
                args.append(self.argument())
                if not self.is_op(","):
                    break
                self.i += 1
        self.expect_op(")")
        return args

    def argument(self) -> Any:
        return self.operand()

    def operand(self) -> Any:
        tok = self.peek()
        if tok is None:
            return self.syntax()
        if tok[0] == "value":
            self.i += 1
            return Const(self.ph.value(tok[1], self.kind))
        if tok[0] == "ident" and self.is_op("(", 1):
            name = tok[1]
            if name != "size":
                if name in _BOOL_FUNCTIONS:
                    self.fail(
                        f"The function is not allowed to be used this way in an expression; function: {name}"
                    )
                self.fail(f"Invalid function name; function: {name}")
            self.i += 1
            args = self.function_args()
            if len(args) != 1 or not isinstance(args[0], PathRef):
                self.fail("Incorrect number of operands for operator or function; operator or function: size")
            return Call("size", tuple(args))
        return PathRef(self.path())

    # conditions
    def condition(self) -> Any:
        left = self.and_()
        while self.keyword("OR"):
            left = Logical("OR", (left, self.and_()))
        return left

    def and_(self) -> Any:
        left = self.not_()
        while self.keyword("AND"):
            left = Logical("AND", (left, self.not_()))
        return left

    def not_(self) -> Any:
        if self.keyword("NOT"):
            return Logical("NOT", (self.not_(),))
        return self.primary()

    def primary(self) -> Any:
        if self.is_op("("):
            self.i += 1
            inner = self.condition()
            self.expect_op(")")
            return inner
        tok = self.peek()
        if tok is not None and tok[0] == "ident" and tok[1] in _BOOL_FUNCTIONS and self.is_op("(", 1):
            self.i += 1
            args = self.function_args()
            return self.bool_function(tok[1], args)
        left = self.operand()
        tok = self.peek()
        if tok is not None and tok[0] == "op" and tok[1] in _COMPARATORS:
            self.i += 1
            return Compare(tok[1], left, self.operand())
        if self.keyword("BETWEEN"):
            low = self.operand()
            if not self.keyword("AND"):
                self.syntax()
            return Between(left, low, self.operand())
        if self.keyword("IN"):
            options = self.function_args()
            if not options:
                self.syntax()
            if len(options) > 100:
                self.fail(
                    "The IN operator is provided with too many operands; number of operands: "
                    + str(len(options))
                )
            return In(left, tuple(options))
        return self.syntax()

    def bool_function(self, name: str, args: list[Any]) -> Call:
        wanted = 1 if name in ("attribute_exists", "attribute_not_exists") else 2
        if len(args) != wanted:
            self.fail(
                f"Incorrect number of operands for operator or function; operator or function: {name}, "
                f"number of operands: {len(args)}"
            )
        if not isinstance(args[0], PathRef):
            self.fail(f"Operator or function requires a document path; operator or function: {name}")
        if name == "attribute_type":
            t = args[1]
            if not isinstance(t, Const) or "S" not in t.value or t.value["S"] not in TYPES:
                shown = t.value if isinstance(t, Const) else t
                self.fail(
                    f"Invalid attribute type name found; type: {shown}, "
                    "valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}"
                )
        return Call(name, tuple(args))

    # updates
    def update(self) -> Update:
        sections: dict[str, list[Any]] = {}
        while self.peek() is not None:
            tok = self.take()
            word = tok[1].upper() if tok[0] == "ident" else ""
            if word not in ("SET", "REMOVE", "ADD", "DELETE"):
                self.i -= 1
                self.syntax()
            if word in sections:
                self.fail(f'The "{word}" section can only be used once in an update expression;')
            actions: list[Any] = []
            sections[word] = actions
            while True:
                if word == "SET":
                    target = self.path()
                    self.expect_op("=")
                    actions.append((target, self.set_value()))
                elif word == "REMOVE":
                    actions.append(self.path())
                else:
                    target = self.path()
                    tok = self.take()
                    if tok[0] != "value":
                        self.i -= 1
                        self.syntax()
                    actions.append((target, self.ph.value(tok[1], self.kind)))
                if not self.is_op(","):
                    break
                self.i += 1
        return Update(
            tuple(sections.get("SET", ())),
            tuple(sections.get("REMOVE", ())),
            tuple(sections.get("ADD", ())),
            tuple(sections.get("DELETE", ())),
        )

    def set_value(self) -> Any:
        left = self.update_operand()
        if self.is_op("+") or self.is_op("-"):
            op = self.take()[1]
            return Arith(op, left, self.update_operand())
        return left

    def update_operand(self) -> Any:
        tok = self.peek()
        if tok is not None and tok[0] == "ident" and self.is_op("(", 1):
            name = tok[1]
            if name not in ("if_not_exists", "list_append"):
                self.fail(f"Invalid function name; function: {name}")
            self.i += 1
            self.expect_op("(")
            first = PathRef(self.path()) if name == "if_not_exists" else self.update_operand()
            self.expect_op(",")
            second = self.update_operand()
            self.expect_op(")")
            return Call(name, (first, second))
        if tok is not None and tok[0] == "value":
            self.i += 1
            return Const(self.ph.value(tok[1], self.kind))
        return PathRef(self.path())


def parse_condition(text: Any, ph: Placeholders, kind: str = "ConditionExpression") -> Any:
    p = _Parser(text, kind, ph)
    node = p.condition()
    p.done()
    return node


def parse_projection(text: Any, ph: Placeholders) -> list[Path]:
    p = _Parser(text, "ProjectionExpression", ph)
    paths = [p.path()]
    while p.is_op(","):
        p.i += 1
        paths.append(p.path())
    p.done()
    return paths


def parse_update(text: Any, ph: Placeholders) -> Update:
    p = _Parser(text, "UpdateExpression", ph)
    update = p.update()
    paths = update.paths()
    for i, a in enumerate(paths):
        for b in paths[i + 1 :]:
            if a[: len(b)] == b or b[: len(a)] == a:
                p.fail(
                    "Two document paths overlap with each other; must remove or rewrite one of these paths; "
                    f"path one: [{', '.join(map(str, a))}], path two: [{', '.join(map(str, b))}]"
                )
    return update


@dataclass(frozen=True)
class KeyCondition:
    partition: dict[str, Any]
    sort_op: str | None = None  # =, <, <=, >, >=, BETWEEN, begins_with
    sort_values: tuple[dict[str, Any], ...] = ()


def parse_key_condition(text: Any, ph: Placeholders, hash_key: str, range_key: str | None) -> KeyCondition:
    kind = "KeyConditionExpression"
    node = parse_condition(text, ph, kind)
    parts = node.args if isinstance(node, Logical) and node.op == "AND" else (node,)
    if isinstance(node, Logical) and node.op != "AND":
        raise ValidationError(f"Invalid operator used in KeyConditionExpression: {node.op}")
    partition: dict[str, Any] | None = None
    sort: tuple[str, tuple[dict[str, Any], ...]] | None = None
    for part in parts:
        if isinstance(part, Logical):
            raise ValidationError(f"Invalid operator used in KeyConditionExpression: {part.op}")
        attr, op, values = _key_part(part)
        if attr == hash_key and op == "=" and partition is None:
            partition = values[0]
        elif attr == range_key and sort is None:
            sort = (op, values)
        elif attr in (hash_key, range_key):
            raise ValidationError("KeyConditionExpressions must only contain one condition per key")
        else:
            raise ValidationError(
                f"Query condition missed key schema element: {hash_key}"
                if partition is None and attr != hash_key
                else "Query key condition not supported"
            )
    if partition is None:
        raise ValidationError(f"Query condition missed key schema element: {hash_key}")
    if sort is None:
        return KeyCondition(partition)
    if sort[0] == "BETWEEN" and (compare(sort[1][0], sort[1][1]) or 0) > 0:
        raise ValidationError(
            "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or "
            f"equal to lower bound; lower bound operand: AttributeValue: {sort[1][0]}, upper bound operand: "
            f"AttributeValue: {sort[1][1]}"
        )
    return KeyCondition(partition, sort[0], sort[1])


def _key_part(part: Any) -> tuple[Any, str, tuple[dict[str, Any], ...]]:
    def attr(node: Any) -> str:
        if not isinstance(node, PathRef) or len(node.path) != 1:
            raise ValidationError("Invalid KeyConditionExpression: key conditions compare a key attribute")
        return str(node.path[0])

    def const(node: Any) -> dict[str, Any]:
        if not isinstance(node, Const):
            raise ValidationError("Invalid KeyConditionExpression: key conditions compare with a value")
        return node.value

    if isinstance(part, Compare):
        if part.op == "<>":
            raise ValidationError("Unsupported operator in KeyConditionExpression: <>")
        return attr(part.left), part.op, (const(part.right),)
    if isinstance(part, Between):
        return attr(part.operand), "BETWEEN", (const(part.low), const(part.high))
    if isinstance(part, Call) and part.name == "begins_with":
        return attr(part.args[0]), "begins_with", (const(part.args[1]),)
    name = part.name if isinstance(part, Call) else type(part).__name__.upper()
    raise ValidationError(f"Invalid operator used in KeyConditionExpression: {name}")
