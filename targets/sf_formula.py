"""Conditions as Salesforce formulas, with the policy's three-valued logic.

A condition is translated twice over: `true_(e)` holds exactly when `e` is TRUE, `false_(e)` exactly
when it is FALSE; a missing value makes both fail, so a rule with an unknown condition does not
fire, as in every other runtime. Comparisons on fields that can be blank are guarded with ISBLANK.
Conditions the formula language cannot state (regular expressions, events, scores) raise
`Inexpressible` with the reason, for the README.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Union

from alignctl.policy.expr_ast import (
    Arith,
    Bool,
    BoolOp,
    Call,
    Compare,
    Duration,
    Expr,
    ListLit,
    Member,
    Neg,
    Not,
    Num,
    Ref,
    Str,
    StrMatch,
)

MAX_LENGTH = 3900   # characters in a formula field, comments and whitespace included
KINDS = ("text", "longtext", "picklist", "multipicklist", "number", "percent", "checkbox", "date",
         "datetime")
OPS = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
NEGATED = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


@dataclass(frozen=True)
class Column:
    """A field the formula can read: its API name and its Salesforce kind (see KINDS)."""

    api: str
    kind: str


class Inexpressible(Exception):
    """The condition has no Salesforce formula equivalent; the message says why."""


@dataclass(frozen=True)
class _Value:
    text: str
    kind: str                       # a KINDS entry, or "literal"
    guards: tuple[Node, ...] = ()   # NOT(ISBLANK(...)) for every blank-able field read


@dataclass(frozen=True)
class Term:
    """One rule of a score formula."""

    rule: str
    points: int
    condition: str


@dataclass(frozen=True)
class Translation:
    """A condition's formula, and caveats where Salesforce behaves differently."""

    formula: str
    caveats: tuple[str, ...]


def condition(expr: Expr, columns: Mapping[str, Column]) -> Translation:
    """The formula that is TRUE exactly when `expr` is true; raises `Inexpressible`."""
    tr = _Translator(columns)
    return Translation(str(tr.true_(expr)), tuple(dict.fromkeys(tr.caveats)))


def score_formula(terms: list[Term], *, comments: bool = True) -> str:
    """`IF(cond, points, 0) + ...`, one rule per line, each after a `/* rule */` comment."""
    if not terms:
        return "0"
    parts = [(f"/* {t.rule} */ " if comments else "") + f"IF({t.condition}, {t.points}, 0)"
             for t in terms]
    return ("\n+ " if comments else " + ").join(parts)


def string(value: str) -> str:
    """A formula string literal."""
    return '"' + "".join(ESCAPES.get(c, c) for c in value) + '"'


def number(value: int | float | Decimal) -> str:
    if isinstance(value, bool):
        raise Inexpressible("a true/false value used as a number")
    text = str(value) if isinstance(value, int) else format(Decimal(str(value)).normalize(), "f")
    return text if not text.startswith("-") else f"({text})"


@dataclass(frozen=True)
class Fn:
    """A function call in a formula, kept as a tree until the end so that AND/OR can flatten."""

    name: str
    args: tuple[Node, ...]

    def __str__(self) -> str:
        return f"{self.name}({', '.join(map(str, self.args))})"


Node = Union[str, Fn]  # noqa: UP007


def _args(node: Node, name: str) -> tuple[Node, ...]:
    return node.args if isinstance(node, Fn) and node.name == name else (node,)


def _and(parts: list[Node]) -> Node:
    flat = list(dict.fromkeys(a for p in parts for a in _args(p, "AND") if a != "TRUE"))
    if "FALSE" in flat:
        return "FALSE"
    if not flat:
        return "TRUE"
    return flat[0] if len(flat) == 1 else Fn("AND", tuple(flat))


def _or(parts: list[Node]) -> Node:
    """OR of `parts`; guards every operand shares move out: OR(AND(g, a), AND(g, b)) is
    AND(g, OR(a, b))."""
    flat = list(dict.fromkeys(a for p in parts for a in _args(p, "OR") if a != "FALSE"))
    if "TRUE" in flat:
        return "TRUE"
    if not flat:
        return "FALSE"
    if len(flat) == 1:
        return flat[0]
    conj = [_args(p, "AND") for p in flat]
    common = [a for a in conj[0] if all(a in c for c in conj[1:])]
    rest = [[a for a in c if a not in common] for c in conj]
    if common and all(rest):
        return _and([*common, _or([_and(r) for r in rest])])
    return Fn("OR", tuple(flat))


def _not(node: Node) -> Node:
    if node in ("TRUE", "FALSE"):
        return "FALSE" if node == "TRUE" else "TRUE"
    if isinstance(node, Fn) and node.name == "NOT":
        return node.args[0]
    return Fn("NOT", (node,))


class _Translator:
    def __init__(self, columns: Mapping[str, Column]) -> None:
        self.columns = columns
        self.caveats: list[str] = []

    # --- truth -----------------------------------------------------------------------------------
    def true_(self, e: Expr) -> Node:
        return self._truth(e, True)

    def false_(self, e: Expr) -> Node:
        return self._truth(e, False)

    def _truth(self, e: Expr, want: bool) -> Node:
        if isinstance(e, Bool):
            return "TRUE" if e.value == want else "FALSE"
        if isinstance(e, Not):
            return self._truth(e.operand, not want)
        if isinstance(e, BoolOp):
            parts = [self._truth(x, want) for x in e.operands]
            return _and(parts) if (e.op == "and") == want else _or(parts)
        if isinstance(e, Ref):
            return self._checkbox(e, want)
        if isinstance(e, Compare):
            return self._compare(e, want)
        if isinstance(e, Member):
            return self._member(e, want ^ e.negated)
        if isinstance(e, StrMatch):
            return self._strmatch(e, want)
        if isinstance(e, Call):
            raise Inexpressible(_call_reason(e))
        raise Inexpressible(f"`{type(e).__name__}` is not a condition")

    def _checkbox(self, ref: Ref, want: bool) -> Node:
        col = self._column(ref)
        if col.kind != "checkbox":
            raise Inexpressible(f"`{ref.name}` is not true/false")
        if want:
            return col.api
        self.caveats.append(f"`{ref.name}` is a checkbox, which Salesforce never leaves blank: "
                            "an unset box reads as false here, where the policy would treat "
                            "it as unknown")
        return _not(col.api)

    def _compare(self, e: Compare, want: bool) -> Node:
        op = e.op if want else NEGATED[e.op]
        for side, other in ((e.left, e.right), (e.right, e.left)):
            if isinstance(side, Ref) and isinstance(other, Bool | Str):
                kind = self._column(side).kind
                if kind == "checkbox" and isinstance(other, Bool) and op in ("==", "!="):
                    return self._checkbox(side, (op == "==") == other.value)
                if kind == "picklist" and isinstance(other, Str) and op in ("==", "!="):
                    return self._picklist_eq(side, other.value, op == "==")
        left, right = self._value(e.left), self._value(e.right)
        if "checkbox" in (left.kind, right.kind):
            self._checkbox_caveat(e)
        return _and([*left.guards, *right.guards, f"{left.text} {OPS[op]} {right.text}"])

    def _checkbox_caveat(self, e: Compare) -> None:
        names = [x.name for x in (e.left, e.right) if isinstance(x, Ref)]
        self.caveats.append(f"{', '.join(f'`{n}`' for n in names)}: Salesforce checkboxes are "
                            "never blank, so an unset box compares as false")

    def _picklist_eq(self, ref: Ref, value: str, equal: bool) -> Node:
        col = self._column(ref)
        test = Fn("ISPICKVAL", (col.api, string(value)))
        return test if equal else _and([_guard(col), _not(test)])

    def _member(self, e: Member, inside: bool) -> Node:
        items = e.items.items if isinstance(e.items, ListLit) else ()
        if isinstance(e.left, Ref) and self._column(e.left).kind == "picklist":
            col = self._column(e.left)
            tests: list[Node] = [Fn("ISPICKVAL", (col.api, string(self._literal(x))))
                                 for x in items]
            return _or(tests) if inside else _and([_guard(col), _not(_or(tests))])
        left = self._value(e.left)
        found = _or([f"{left.text} = {self._value(x).text}" for x in items])
        return _and([*left.guards, found if inside else _not(found)])

    def _literal(self, e: Expr) -> str:
        if not isinstance(e, Str):
            raise Inexpressible("a picklist can only be compared with its values")
        return e.value

    def _strmatch(self, e: StrMatch, want: bool) -> Node:
        if e.op == "matches":
            raise Inexpressible("`matches` needs REGEX(), which Salesforce does not allow in "
                                "formula fields")
        if not isinstance(e.right, Str):
            raise Inexpressible(f"`{e.op}` needs a string literal on the right")
        left, lit = self._value(e.left), e.right.value
        test: Node
        if left.kind == "multipicklist":
            test = Fn("INCLUDES", (left.text, string(lit)))
        elif e.op == "contains":
            test = Fn("CONTAINS", (left.text, string(lit)))
        elif e.op == "startswith":
            test = Fn("BEGINS", (left.text, string(lit)))
        else:
            test = f"RIGHT({left.text}, {_length(lit)}) = {string(lit)}"
        return _and([*left.guards, test if want else _not(test)])

    # --- values ----------------------------------------------------------------------------------
    def _value(self, e: Expr) -> _Value:
        if isinstance(e, Num):
            return _Value(number(e.value), "literal")
        if isinstance(e, Str):
            return _Value(string(e.value), "literal")
        if isinstance(e, Bool):
            return _Value("TRUE" if e.value else "FALSE", "literal")
        if isinstance(e, Duration):
            return _Value(number(Decimal(e.seconds) / 86400), "literal")
        if isinstance(e, Ref):
            return self._ref(e)
        if isinstance(e, Neg):
            v = self._value(e.operand)
            return _Value(f"(-{v.text})", v.kind, v.guards)
        if isinstance(e, Arith):
            a, b = self._value(e.left), self._value(e.right)
            return _Value(f"({a.text} {e.op} {b.text})", "number", a.guards + b.guards)
        if isinstance(e, Call) and e.func == "days_since" and isinstance(e.target, Ref):
            return self._days_since(e.target)
        if isinstance(e, Call):
            raise Inexpressible(_call_reason(e))
        raise Inexpressible(f"`{type(e).__name__}` has no formula equivalent")

    def _ref(self, ref: Ref) -> _Value:
        col = self._column(ref)
        guards = () if col.kind == "checkbox" else (_guard(col),)
        if col.kind == "picklist":
            return _Value(f"TEXT({col.api})", col.kind, guards)
        if col.kind == "percent":    # formulas read 20 % as 0.2; the policy writes 20
            return _Value(f"({col.api} * 100)", "number", guards)
        return _Value(col.api, col.kind, guards)

    def _days_since(self, ref: Ref) -> _Value:
        col = self._column(ref)
        if col.kind == "date":
            return _Value(f"(TODAY() - {col.api})", "number", (_guard(col),))
        if col.kind == "datetime":
            return _Value(f"(NOW() - {col.api})", "number", (_guard(col),))
        raise Inexpressible(f"`days_since({ref.name})` needs a date field")

    def _column(self, ref: Ref) -> Column:
        if ref.kind in ("model", "score", "grade"):
            raise Inexpressible(f"`{ref.name}` is a score, which the scoring runtime computes")
        if ref.kind == "property":
            raise Inexpressible(f"`{ref.name}` is an event property")
        col = self.columns.get(ref.name)
        if col is None:
            raise Inexpressible(f"`{ref.name}` has no Salesforce field")
        if col.kind == "longtext":
            raise Inexpressible(f"`{ref.name}` is a long text area, which formula fields "
                                "cannot read")
        return col


def _guard(col: Column) -> Node:
    blank = Fn("ISBLANK", (Fn("TEXT", (col.api,)) if col.kind == "picklist" else col.api,))
    return Fn("NOT", (blank,))


def _length(lit: str) -> str:
    """LEN of the literal: a number when every character is one UTF-16 unit, as Salesforce
    counts them, otherwise LEN() computed by Salesforce itself."""
    if all(ord(c) <= 0xFFFF for c in lit):
        return str(len(lit))
    return f"LEN({string(lit)})"


def _call_reason(e: Call) -> str:
    if e.func == "days_since":
        return f"`days_since({e.target.name})` reads events, which a formula field cannot see"
    return f"`{e.func}()` counts events, which a formula field cannot see"
