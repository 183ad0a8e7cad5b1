"""Resolve the names of a parsed condition and check its types (ALN101, ALN2xx, ALN003).

`check` never raises: it returns the resolved tree, its type and every problem found, one per
cause (an operand whose type is already `error` adds nothing).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from alignctl.policy.diagnostics import did_you_mean
from alignctl.policy.expr import to_text
from alignctl.policy.expr_ast import (
    BOOLEAN,
    DURATION,
    ERROR,
    INTEGER,
    NUMBER,
    STRING,
    Arith,
    Bool,
    BoolOp,
    Call,
    Compare,
    Duration,
    Expr,
    ListLit,
    Member,
    Name,
    Neg,
    Not,
    Num,
    Ref,
    Str,
    StrMatch,
    Type,
)

NUMERIC = ("integer", "number")
DATES = ("date", "datetime")
CHOICES = ("enum", "grade")
LITERALS = (Num, Str, Bool, Duration)
WORDS = {
    "number": "a number", "integer": "an integer", "string": "a string",
    "boolean": "a true/false value", "enum": "an enum", "multi_enum": "a multi-enum",
    "date": "a date", "datetime": "a date-time", "duration": "a duration", "list": "a list",
    "grade": "a grade",
}
SCORES_IN_RULES = "scores cannot be used inside scoring rules"


@dataclass(frozen=True)
class Env:
    """What names mean where a condition is used."""

    fields: Mapping[str, Type]
    events: Mapping[str, Mapping[str, Type]]
    models: Sequence[str] = ()
    grades: tuple[str, ...] | None = None
    allow_scores: bool = False
    builtins: Mapping[str, Type] = field(default_factory=dict)
    event: str | None = None
    stages: Sequence[str] = ()


@dataclass(frozen=True)
class Problem:
    """One finding, with offsets into the expression text."""

    code: str
    message: str
    start: int
    end: int
    help: str | None = None
    name: str | None = None
    notes: tuple[str, ...] = ()


def check(expr: Expr, env: Env, *, want_bool: bool = True) -> tuple[Expr, Type, list[Problem]]:
    """Resolve names and compute the type of `expr`; never raises."""
    checker = _Checker(env)
    try:
        tree, typ = checker.visit(expr)
    except Exception as exc:  # noqa: BLE001 - a crash is never an answer
        checker.add("ALN201", f"could not check this condition ({type(exc).__name__})", expr)
        return expr, ERROR, checker.problems
    if want_bool and typ.kind not in ("boolean", "error"):
        checker.add("ALN203", f"a condition must be true or false; {_is(tree, typ)}", tree,
                    help=_compare_hint(tree, typ))
    return tree, typ, checker.problems


def words(t: Type) -> str:
    """A type in words: `an integer`, `a true/false value`, ..."""
    return WORDS.get(t.kind, f"a {t}")


def _subject(node: Expr) -> str:
    text = to_text(node)
    return f"`{text}`" if len(text) <= 40 else "this expression"


def _is(node: Expr, t: Type) -> str:
    return f"{_subject(node)} is {words(t)}"


def _compare_hint(node: Expr, t: Type) -> str | None:
    text = to_text(node)
    if len(text) > 40:
        return None
    if t.kind in NUMERIC:
        return f"compare it, e.g. `{text} > 0`"
    if t.kind in CHOICES and t.values:
        return f'compare it with a value, e.g. `{text} == "{t.values[0]}"`'
    if t.kind == "string":
        return f'compare it, e.g. `{text} == "..."`'
    return None


class _Checker:
    """One pass over the tree; `event`/`props` are set inside a `where`."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self.problems: list[Problem] = []
        self.event = env.event
        self.props = env.events.get(env.event) if env.event is not None else None

    def add(self, code: str, message: str, node: Expr, **kw) -> None:
        self.problems.append(Problem(code, message, node.start, node.end, **kw))

    def visit(self, node: Expr) -> tuple[Expr, Type]:
        return getattr(self, "_" + type(node).__name__.lower())(node)

    # --- leaves --------------------------------------------------------------------------------
    def _num(self, node: Num) -> tuple[Expr, Type]:
        return node, INTEGER if isinstance(node.value, int) else NUMBER

    def _str(self, node: Str) -> tuple[Expr, Type]:
        return node, STRING

    def _bool(self, node: Bool) -> tuple[Expr, Type]:
        return node, BOOLEAN

    def _duration(self, node: Duration) -> tuple[Expr, Type]:
        return node, DURATION

    def _ref(self, node: Ref) -> tuple[Expr, Type]:
        return node, node.type

    def _listlit(self, node: ListLit) -> tuple[Expr, Type]:
        items = tuple(self.visit(x)[0] for x in node.items)
        return replace(node, items=items), Type("list")

    # --- names ---------------------------------------------------------------------------------
    def _name(self, node: Name) -> tuple[Expr, Type]:
        if self.event is not None:
            return self._property(node)
        return self._lead_name(node)

    def _property(self, node: Name) -> tuple[Expr, Type]:
        if self.props is None:          # unknown event: reported where the event is named
            return node, ERROR
        if node.name in self.props:
            t = self.props[node.name]
            return Ref(node.start, node.end, node.name, "property", t), t
        help = did_you_mean(node.name, self.props)
        if help is None and node.name in self.env.fields:
            help = f"`{node.name}` is a lead field; inside `where`, names are properties of " \
                   f"`{self.event}`"
        if help is None and not self.props:
            help = f"`{self.event}` has no properties"
        self.add("ALN101", f"unknown property `{node.name}` of event `{self.event}`", node,
                 help=help, name=node.name)
        return node, ERROR

    def _lead_name(self, node: Name) -> tuple[Expr, Type]:
        env, name = self.env, node.name
        if name in env.fields:
            return _ref(node, "field", env.fields[name])
        if name in env.models or name in ("score", "grade"):
            return self._score(node)
        if name in env.builtins:
            return _ref(node, "builtin", env.builtins[name])
        help = did_you_mean(name, self._visible())
        if help is None and name in env.events:
            help = f"`{name}` is an event: use count({name}) or has({name})"
        self.add("ALN101", f"unknown name `{name}`", node, help=help, name=name)
        return node, ERROR

    def _score(self, node: Name) -> tuple[Expr, Type]:
        env, name = self.env, node.name
        what = "the total score" if name == "score" else "the score grade" if name == "grade" \
            else "a model score"
        if not env.allow_scores:
            self.add("ALN101", f"`{name}` is {what}; {SCORES_IN_RULES}", node, name=name,
                     help="build rules from fields and events; scores are for stages")
            return node, ERROR
        if name in env.models:
            return _ref(node, "model", NUMBER)
        if name == "score":
            return _ref(node, "score", NUMBER)
        if env.grades is None:
            self.add("ALN101", "`grade` is used but no scoring model declares `grades`", node,
                     name=name, help="add `grades: {A: 35, B: 20, C: 0}` to a model")
            return node, ERROR
        return _ref(node, "grade", Type("grade", tuple(env.grades)))

    def _visible(self) -> list[str]:
        env = self.env
        names = [*env.fields, *env.builtins]
        if env.allow_scores:
            names += [*env.models, "score"] + (["grade"] if env.grades is not None else [])
        return names

    # --- calls ---------------------------------------------------------------------------------
    def _call(self, node: Call) -> tuple[Expr, Type]:
        result = INTEGER if node.func == "count" else BOOLEAN if node.func == "has" else NUMBER
        if self.event is not None:
            self.add("ALN201", f"`{node.func}()` cannot be used inside `where`; names there "
                     f"are properties of `{self.event}`", node)
            return node, result
        if node.func == "days_since":
            return self._days_since(node), result
        return self._event_call(node), result

    def _event_call(self, node: Call) -> Call:
        name = node.target.name
        props = self.env.events.get(name)
        if props is None:
            help = did_you_mean(name, self.env.events)
            if help is None and name in self.env.fields:
                help = f"`{name}` is a field; {node.func}() takes an event"
            self.add("ALN101", f"unknown event `{name}`", node.target, help=help, name=name)
        where = node.where
        if where is not None:
            where = self._where(name, props, where)
        if node.within is not None and not isinstance(node.within, Duration):
            self.add("ALN201", "`within` needs a duration such as `30d`", node.within)
        target = Name(node.target.start, node.target.end, name)
        return replace(node, target=target, where=where, target_kind="event")

    def _where(self, event: str, props, cond: Expr) -> Expr:
        saved = self.event, self.props
        self.event, self.props = event, props
        try:
            tree, t = self.visit(cond)
        finally:
            self.event, self.props = saved
        if t.kind not in ("boolean", "error"):
            self.add("ALN203", f"a `where` condition must be true or false; {_is(tree, t)}", tree,
                     help=_compare_hint(tree, t))
        return tree

    def _days_since(self, node: Call) -> Call:
        env, target = self.env, node.target
        name = target.name
        if name in env.events:
            return replace(node, target=Name(target.start, target.end, name), target_kind="event")
        ftype = env.fields.get(name)
        if ftype is None:
            dates = [f for f, t in env.fields.items() if t.kind in DATES]
            self.add("ALN101", f"unknown event or date field `{name}`", target,
                     help=did_you_mean(name, [*env.events, *dates]), name=name)
            return node
        ref = Ref(target.start, target.end, name, "field", ftype)
        if ftype.kind not in (*DATES, "error"):
            self.add("ALN201", f"`days_since()` needs an event or a date field; "
                     f"{_is(ref, ftype)}", target)
        return replace(node, target=ref, target_kind="field")

    # --- logic and arithmetic -------------------------------------------------------------------
    def _not(self, node: Not) -> tuple[Expr, Type]:
        operand, t = self.visit(node.operand)
        self._need_bool(operand, t, "`not` needs a true/false value")
        return replace(node, operand=operand), BOOLEAN

    def _boolop(self, node: BoolOp) -> tuple[Expr, Type]:
        operands = []
        for x in node.operands:
            tree, t = self.visit(x)
            self._need_bool(tree, t, f"`{node.op}` needs true/false values on both sides")
            operands.append(tree)
        return replace(node, operands=tuple(operands)), BOOLEAN

    def _need_bool(self, node: Expr, t: Type, lead: str) -> None:
        if t.kind not in ("boolean", "error"):
            self.add("ALN201", f"{lead}; {_is(node, t)}", node, help=_compare_hint(node, t))

    def _arith(self, node: Arith) -> tuple[Expr, Type]:
        left, lt = self.visit(node.left)
        right, rt = self.visit(node.right)
        tree = replace(node, left=left, right=right)
        if "error" in (lt.kind, rt.kind):
            return tree, ERROR
        bad = [(x, t) for x, t in ((left, lt), (right, rt)) if t.kind not in NUMERIC]
        for x, t in bad:
            self.add("ALN201", f"`{node.op}` works on numbers; {_is(x, t)}", x)
        if bad:
            return tree, ERROR
        return tree, INTEGER if lt.kind == rt.kind == "integer" else NUMBER

    def _neg(self, node: Neg) -> tuple[Expr, Type]:
        operand, t = self.visit(node.operand)
        tree = replace(node, operand=operand)
        if t.kind in NUMERIC or t.kind == "error":
            return tree, t
        self.add("ALN201", f"`-` works on numbers; {_is(operand, t)}", operand)
        return tree, ERROR

    # --- comparisons ---------------------------------------------------------------------------
    def _compare(self, node: Compare) -> tuple[Expr, Type]:
        left, lt = self.visit(node.left)
        right, rt = self.visit(node.right)
        tree = replace(node, left=left, right=right)
        if "error" not in (lt.kind, rt.kind):
            self._comparable(tree, lt, rt)
        return tree, BOOLEAN

    def _comparable(self, node: Compare, lt: Type, rt: Type) -> None:
        sides = ((node.left, lt, node.right, rt), (node.right, rt, node.left, lt))
        for side, t, _, _ in sides:
            if t.kind in DATES or t.kind == "multi_enum":
                return self._not_comparable(side, t)
        if lt.kind in NUMERIC and rt.kind in NUMERIC or lt.kind == rt.kind == "duration":
            return None
        for side, t, other, ot in sides:
            if t.kind in CHOICES:
                return self._compare_choice(node, side, t, other, ot)
        if lt.kind == rt.kind and lt.kind in ("string", "boolean"):
            if node.op not in ("==", "!="):
                self.add("ALN201", f"{words(lt)[2:]}s can only be compared with == or !=", node,
                         help="use contains, startswith, endswith or matches"
                         if lt.kind == "string" else None)
            return None
        self.add("ALN201", f"cannot compare {_subject(node.left)} ({words(lt)}) with "
                 f"{_subject(node.right)} ({words(rt)})", node)
        return None

    def _not_comparable(self, side: Expr, t: Type) -> None:
        if t.kind == "multi_enum":
            self.add("ALN201", f"{_is(side, t)}; test it with `contains \"value\"`", side)
            return
        self.add("ALN201", f"{_is(side, t)}; dates cannot be compared directly", side,
                 help=f"use days_since({to_text(side) if isinstance(side, Ref) else 'field'})")

    def _compare_choice(self, node: Compare, side: Expr, t: Type, other: Expr, ot: Type) -> None:
        same = ot.kind == t.kind and ot.values == t.values
        if node.op in ("==", "!=") and isinstance(other, Str):
            self._check_value(other, t, side)
        elif node.op not in ("==", "!=") or not same:
            self.add("ALN201", f"{_is(side, t)}; compare it with one of its values using == or in",
                     node, notes=_values_note(side, t))

    def _check_value(self, lit: Str, t: Type, owner: Expr) -> None:
        values = t.values or ()
        if lit.value in values:
            return
        self.add("ALN202", f"`{lit.value}` is not a value of {_subject(owner)}", lit,
                 help=did_you_mean(lit.value, values), notes=_values_note(owner, t))

    def _member(self, node: Member) -> tuple[Expr, Type]:
        left, lt = self.visit(node.left)
        typed = [self.visit(x) for x in node.items.items]
        items = replace(node.items, items=tuple(x for x, _ in typed))
        tree = replace(node, left=left, items=items)
        if lt.kind != "error" and self._member_left(left, lt):
            for item, it in typed:
                self._member_item(left, lt, item, it)
        return tree, BOOLEAN

    def _member_left(self, left: Expr, t: Type) -> bool:
        if t.kind in DATES or t.kind == "multi_enum":
            self._not_comparable(left, t)
            return False
        if t.kind in (*CHOICES, "string", *NUMERIC):
            return True
        self.add("ALN201", f"`in` needs an enum, a string or a number on the left; {_is(left, t)}",
                 left)
        return False

    def _member_item(self, left: Expr, lt: Type, item: Expr, it: Type) -> None:
        if it.kind == "error":
            return
        numeric = lt.kind in NUMERIC
        if not isinstance(item, LITERALS) or it.kind not in (NUMERIC if numeric else ("string",)):
            want = "numbers" if numeric else "strings in double quotes"
            self.add("ALN201", f"{_is(left, lt)}, so the list must hold {want}; "
                     f"{_is(item, it)}", item)
        elif lt.kind in CHOICES:
            self._check_value(item, lt, left)

    def _strmatch(self, node: StrMatch) -> tuple[Expr, Type]:
        left, lt = self.visit(node.left)
        right, rt = self.visit(node.right)
        tree = replace(node, left=left, right=right)
        if not isinstance(right, Str):
            if rt.kind != "error":
                self.add("ALN201", f"`{node.op}` needs a string in double quotes on the right; "
                         f"{_is(right, rt)}", right)
        elif node.op == "matches":
            self._regex(right)
        if lt.kind != "error":
            self._match_left(tree, lt)
        return tree, BOOLEAN

    def _regex(self, lit: Str) -> None:
        try:
            re.compile(lit.value)
        except re.error as exc:
            self.add("ALN003", f"invalid regular expression: {exc.msg}", lit,
                     help="`matches` takes a regular expression, e.g. \"(?i)director|head of\"")
        except Exception:  # noqa: BLE001 - e.g. RecursionError, OverflowError
            self.add("ALN003", "invalid regular expression", lit)

    def _match_left(self, node: StrMatch, t: Type) -> None:
        left, op = node.left, node.op
        if t.kind == "string":
            return
        if t.kind == "multi_enum" and op == "contains":
            if isinstance(node.right, Str):
                self._check_value(node.right, t, left)
        elif t.kind == "multi_enum":
            self.add("ALN201", f"{_is(left, t)}; only `contains` works on it", left)
        elif t.kind in CHOICES:
            self.add("ALN201", f"{_is(left, t)}; compare it with one of its values using == or "
                     "in", left, notes=_values_note(left, t))
        else:
            self.add("ALN201", f"`{op}` works on strings; {_is(left, t)}", left)


def _ref(node: Name, kind: str, t: Type) -> tuple[Expr, Type]:
    return Ref(node.start, node.end, node.name, kind, t), t


def _values_note(owner: Expr, t: Type) -> tuple[str, ...]:
    if not t.values:
        return ()
    return (f"{_subject(owner)} is one of: {', '.join(t.values)}",)
