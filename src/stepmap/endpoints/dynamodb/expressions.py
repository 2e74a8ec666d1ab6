"""DynamoDB expressions: a tokenizer and a recursive-descent parser for condition, filter, key condition,
projection and update expressions, and their evaluation over items in wire form.

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
or undefined ones get DynamoDB's ValidationException. Evaluation never raises for a missing attribute:
comparisons with it are false (``<>`` true), as on DynamoDB. No state.
"""

from __future__ import annotations

import base64
import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from stepmap.endpoints.dynamodb.values import (
    TYPES,
    ValidationError,
    check_value,
    compare,
    format_number,
    values_equal,
)

__all__ = [
    "Placeholders",
    "apply_update",
    "evaluate",
    "parse_condition",
    "parse_key_condition",
    "parse_projection",
    "parse_update",
    "project",
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
    def path(self) -> Path:
        tok = self.take()
        if tok[0] == "ident":
            elems: list[PathElem] = [tok[1]]
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
                    elems.append(tok[1])
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


# -- evaluation ----------------------------------------------------------------------------------


def resolve(item: Mapping[str, Any], path: Path) -> dict[str, Any] | None:
    current: Any = item.get(str(path[0])) if isinstance(path[0], str) else None
    for elem in path[1:]:
        if current is None:
            return None
        if isinstance(elem, int):
            inner = current.get("L")
            current = inner[elem] if isinstance(inner, list) and elem < len(inner) else None
        else:
            inner = current.get("M")
            current = inner.get(elem) if isinstance(inner, dict) else None
    return current


def _size(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    ((kind, inner),) = value.items()
    if kind == "S":
        n = len(inner)
    elif kind == "B":
        n = len(base64.b64decode(inner))
    elif kind in ("SS", "NS", "BS", "L", "M"):
        n = len(inner)
    else:
        return None
    return {"N": str(n)}


def operand_value(node: Any, item: Mapping[str, Any]) -> dict[str, Any] | None:
    if isinstance(node, Const):
        return node.value
    if isinstance(node, PathRef):
        return resolve(item, node.path)
    if isinstance(node, Call) and node.name == "size":
        return _size(resolve(item, node.args[0].path))
    raise ValidationError(f"unsupported operand {node!r}")


def evaluate(node: Any, item: Mapping[str, Any] | None) -> bool:
    """Whether ``item`` (None: no item) satisfies the condition ``node``."""
    item = item or {}
    if isinstance(node, Logical):
        if node.op == "AND":
            return evaluate(node.args[0], item) and evaluate(node.args[1], item)
        if node.op == "OR":
            return evaluate(node.args[0], item) or evaluate(node.args[1], item)
        return not evaluate(node.args[0], item)
    if isinstance(node, Compare):
        a, b = operand_value(node.left, item), operand_value(node.right, item)
        if node.op == "=":
            return values_equal(a, b)
        if node.op == "<>":
            return not values_equal(a, b)
        c = compare(a, b)
        if c is None:
            return False
        return {"<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0}[node.op]
    if isinstance(node, Between):
        a = operand_value(node.operand, item)
        low, high = operand_value(node.low, item), operand_value(node.high, item)
        lo, hi = compare(a, low), compare(a, high)
        return lo is not None and hi is not None and lo >= 0 and hi <= 0
    if isinstance(node, In):
        a = operand_value(node.operand, item)
        return any(values_equal(a, operand_value(o, item)) for o in node.options)
    if isinstance(node, Call):
        return _function(node, item)
    raise ValidationError(f"unsupported condition {node!r}")


def _function(node: Call, item: Mapping[str, Any]) -> bool:
    target = resolve(item, node.args[0].path)
    if node.name == "attribute_exists":
        return target is not None
    if node.name == "attribute_not_exists":
        return target is None
    if target is None:
        return False
    arg = operand_value(node.args[1], item)
    if arg is None:
        return False
    ((kind, inner),) = target.items()
    ((akind, ainner),) = arg.items()
    if node.name == "attribute_type":
        return bool(kind == ainner)
    if node.name == "begins_with":
        if kind != akind or kind not in ("S", "B"):
            return False
        if kind == "B":
            return base64.b64decode(inner).startswith(base64.b64decode(ainner))
        return bool(inner.startswith(ainner))
    # contains
    if kind == "S":
        return akind == "S" and ainner in inner
    if kind == "B":
        return akind == "B" and base64.b64decode(ainner) in base64.b64decode(inner)
    if kind in ("SS", "NS", "BS"):
        if akind != kind[0]:
            return False
        return any(values_equal({akind: m}, arg) for m in inner)
    if kind == "L":
        return any(values_equal(v, arg) for v in inner)
    return False


# -- projection -----------------------------------------------------------------------------------


def project(item: Mapping[str, Any], paths: list[Path]) -> Item:
    """The parts of ``item`` at ``paths`` (list elements compacted, as DynamoDB returns them)."""
    out: dict[str, Any] = {}
    for path in paths:
        value = resolve(item, path)
        if value is None:
            continue
        _merge(out, path, copy.deepcopy(value))
    return out


def _merge(out: dict[str, Any], path: Path, value: dict[str, Any]) -> None:
    # Build the nested containers; list indexes project into positions in order of appearance.
    head = str(path[0])
    if len(path) == 1:
        out[head] = value
        return
    container = out.get(head)
    kind = "L" if isinstance(path[1], int) else "M"
    if container is None:
        container = out[head] = {kind: {} if kind == "M" else []}
    _merge_into(container, path[1:], value)


def _merge_into(container: dict[str, Any], path: Path, value: dict[str, Any]) -> None:
    elem = path[0]
    if "M" in container and isinstance(elem, str):
        inner = container["M"]
        if len(path) == 1:
            inner[elem] = value
            return
        child = inner.get(elem)
        if child is None:
            child = inner[elem] = {"L": []} if isinstance(path[1], int) else {"M": {}}
        _merge_into(child, path[1:], value)
    elif "L" in container and isinstance(elem, int):
        inner = container["L"]
        if len(path) == 1:
            inner.append(value)
            return
        child = {"L": []} if isinstance(path[1], int) else {"M": {}}
        inner.append(child)
        _merge_into(child, path[1:], value)


# -- updates ---------------------------------------------------------------------------------------


def _invalid_path() -> ValidationError:
    return ValidationError("The document path provided in the update expression is invalid for update")


def _update_value(node: Any, item: Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(node, Arith):
        a, b = _update_value(node.left, item), _update_value(node.right, item)
        if "N" not in a or "N" not in b:
            raise ValidationError("An operand in the update expression has an incorrect data type")
        x, y = Decimal(a["N"]), Decimal(b["N"])
        return {"N": format_number(x + y if node.op == "+" else x - y)}
    if isinstance(node, Call) and node.name == "if_not_exists":
        found = resolve(item, node.args[0].path)
        return found if found is not None else _update_value(node.args[1], item)
    if isinstance(node, Call) and node.name == "list_append":
        a, b = _update_value(node.args[0], item), _update_value(node.args[1], item)
        if "L" not in a or "L" not in b:
            raise ValidationError("An operand in the update expression has an incorrect data type")
        return {"L": a["L"] + b["L"]}
    value = operand_value(node, item)
    if value is None:
        raise ValidationError(
            "The provided expression refers to an attribute that does not exist in the item"
        )
    return value


def _parent(item: dict[str, Any], path: Path, create: bool) -> tuple[Any, PathElem] | None:
    """The container holding ``path``'s last element (a dict of attributes, an M's dict or an L's list)."""
    if len(path) == 1:
        return item, path[0]
    current = item.get(str(path[0]))
    for elem in path[1:-1]:
        if current is None:
            break
        if isinstance(elem, int):
            inner = current.get("L")
            current = inner[elem] if isinstance(inner, list) and elem < len(inner) else None
        else:
            inner = current.get("M")
            current = inner.get(elem) if isinstance(inner, dict) else None
    last = path[-1]
    if current is None:
        if create:
            raise _invalid_path()
        return None
    if isinstance(last, int):
        if "L" not in current:
            if create:
                raise _invalid_path()
            return None
        return current["L"], last
    if "M" not in current:
        if create:
            raise _invalid_path()
        return None
    return current["M"], last


def _put(item: dict[str, Any], path: Path, value: dict[str, Any]) -> None:
    found = _parent(item, path, create=True)
    assert found is not None
    container, last = found
    if isinstance(container, list):
        assert isinstance(last, int)
        if last < len(container):
            container[last] = value
        else:
            container.append(value)
    else:
        container[last] = value


def _remove(item: dict[str, Any], path: Path) -> None:
    found = _parent(item, path, create=False)
    if found is None:
        return
    container, last = found
    if isinstance(container, list):
        assert isinstance(last, int)
        if last < len(container):
            del container[last]
    else:
        container.pop(last, None)


def apply_update(update: Update, item: Mapping[str, Any]) -> Item:
    """The item after ``update`` (``item`` is not changed). Right-hand sides read the item as it was."""
    before = item
    after: Item = copy.deepcopy(dict(item))
    values = [(path, _update_value(node, before)) for path, node in update.set]
    for path, value in values:
        _put(after, path, value)
    # REMOVE of list elements: highest indexes first so earlier removals do not shift later ones.
    for path in sorted(update.remove, key=lambda p: [(-e if isinstance(e, int) else 0) for e in p]):
        _remove(after, path)
    for path, value in update.add:
        current = resolve(after, path)
        kind = next(iter(value))
        if kind == "N":
            if current is None:
                _put(after, path, value)
            elif "N" in current:
                _put(after, path, {"N": format_number(Decimal(current["N"]) + Decimal(value["N"]))})
            else:
                raise ValidationError("An operand in the update expression has an incorrect data type")
        elif kind in ("SS", "NS", "BS"):
            if current is None:
                _put(after, path, value)
            elif kind in current:
                merged = list(current[kind])
                for member in value[kind]:
                    if not any(values_equal({kind: [member]}, {kind: [m]}) for m in merged):
                        merged.append(member)
                _put(after, path, {kind: merged})
            else:
                raise ValidationError("An operand in the update expression has an incorrect data type")
        else:
            raise ValidationError(
                "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, "
                f"operand type: {_type_name(kind)}"
            )
    for path, value in update.delete:
        kind = next(iter(value))
        if kind not in ("SS", "NS", "BS"):
            raise ValidationError(
                "Invalid UpdateExpression: Incorrect operand type for operator or function; "
                "operator: DELETE, "
                f"operand type: {_type_name(kind)}"
            )
        current = resolve(after, path)
        if current is None:
            continue
        if kind not in current:
            raise ValidationError("An operand in the update expression has an incorrect data type")
        left = [
            m for m in current[kind] if not any(values_equal({kind: [m]}, {kind: [d]}) for d in value[kind])
        ]
        if left:
            _put(after, path, {kind: left})
        else:
            _remove(after, path)
    return after


def _type_name(kind: str) -> str:
    return {
        "S": "STRING",
        "N": "NUMBER",
        "B": "BINARY",
        "BOOL": "BOOLEAN",
        "NULL": "NULL",
        "M": "MAP",
        "L": "LIST",
    }.get(kind, kind)
