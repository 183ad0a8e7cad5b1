"""The expression tree of the condition language, and the types the checker assigns.

Every node carries `start`/`end`: 0-based, end-exclusive character offsets into the expression
string, mapped to file positions by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True)
class Type:
    """kind: number | integer | string | boolean | enum | multi_enum | date | datetime |
    duration | list | grade | error.  `values` holds the allowed values of enum-like kinds;
    `item` is the element type of a list."""

    kind: str
    values: tuple[str, ...] | None = None
    item: Type | None = None

    def __str__(self) -> str:
        return self.kind.replace("_", "-")


NUMBER, INTEGER, STRING, BOOLEAN = Type("number"), Type("integer"), Type("string"), Type("boolean")
DATE, DATETIME, DURATION, ERROR = Type("date"), Type("datetime"), Type("duration"), Type("error")

# Field types of POLICY.md mapped onto expression types.
FIELD_TYPES: dict[str, Type] = {
    "string": STRING, "text": STRING, "email": STRING,
    "integer": INTEGER, "number": NUMBER, "currency": NUMBER, "percent": NUMBER,
    "boolean": BOOLEAN, "date": DATE, "datetime": DATETIME,
}


def field_type(kind: str, values: tuple[str, ...] = ()) -> Type:
    if kind in ("enum", "multi_enum"):
        return Type(kind, tuple(values))
    return FIELD_TYPES.get(kind, ERROR)


@dataclass(frozen=True)
class Node:
    start: int
    end: int


@dataclass(frozen=True)
class Num(Node):
    value: int | float


@dataclass(frozen=True)
class Str(Node):
    value: str


@dataclass(frozen=True)
class Bool(Node):
    value: bool


@dataclass(frozen=True)
class Duration(Node):
    text: str      # as written, e.g. "30d"
    seconds: int


@dataclass(frozen=True)
class ListLit(Node):
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Name(Node):
    name: str


@dataclass(frozen=True)
class Ref(Node):
    """A resolved name. kind: field | model | score | grade | builtin | property."""

    name: str
    kind: str
    type: Type


@dataclass(frozen=True)
class Not(Node):
    operand: Expr


@dataclass(frozen=True)
class Neg(Node):
    operand: Expr


@dataclass(frozen=True)
class BoolOp(Node):
    op: str                 # "and" | "or"
    operands: tuple[Expr, ...]   # flattened: a and b and c -> one node


@dataclass(frozen=True)
class Compare(Node):
    op: str                 # == != < <= > >=
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Member(Node):
    negated: bool           # `not in`
    left: Expr
    items: ListLit


@dataclass(frozen=True)
class StrMatch(Node):
    op: str                 # contains | startswith | endswith | matches
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Arith(Node):
    op: str                 # + | -
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Call(Node):
    func: str               # count | has | days_since
    target: Name | Ref      # the event or (days_since only) a date field
    where: Expr | None
    within: Duration | None
    target_kind: str = ""   # "event" | "field", set by the checker


Expr = Union[Num, Str, Bool, Duration, ListLit, Name, Ref, Not, Neg, BoolOp, Compare, Member,  # noqa: UP007
             StrMatch, Arith, Call]
