"""A small, sound solver over typed conditions: satisfiable?, implies?, what clashes?

Conditions are read under SQL's three-valued logic: a condition is satisfiable when some lead
makes it TRUE. Each condition becomes a formula in negation normal form over literals (an atom
that is TRUE, an atom that is FALSE, a value that is missing); a depth-first search walks its
disjunctive normal form lazily, pruning contradictions, within a fixed budget. Beyond the budget,
or where an atom is opaque (regexes, arithmetic on two terms, dates), the answer is UNKNOWN.
What one variable can take lives in `compiler.domains`; score bounds, built on the solver, in
`compiler.bounds`. See docs/reasoning.md.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from alignctl.policy.expr import children, to_text
from alignctl.policy.expr_ast import (
    Arith,
    Bool,
    BoolOp,
    Call,
    Compare,
    Duration,
    Expr,
    Member,
    Neg,
    Not,
    Num,
    Ref,
    Str,
    StrMatch,
)

from . import ir
from .domains import INF, NO, SORTS, UNKNOWN, YES, Var, Verdict, any_of

BUDGET = 2000          # search nodes per question; beyond it the answer is UNKNOWN
BELOW = "\0below"      # the grade below the last threshold (D)


@dataclass(frozen=True)
class Context:
    """What names mean beyond the tree: the grade scale, and the stage `accepted` belongs to."""

    grade_model: str | None = None
    grades: tuple[tuple[str, int], ...] = ()
    stage: str | None = None


def context_of(policy: ir.Policy, stage: str | None = None) -> Context:
    """The context for conditions of `policy` (stage entries pass their stage id)."""
    graded = next((m for m in policy.models.values() if m.grades), None)
    if graded is None:
        return Context(stage=stage)
    return Context(graded.id, graded.grades, stage)


# --- atoms and formulas -------------------------------------------------------------------------

@dataclass(frozen=True)
class Atom:
    """`var op arg`; `reads` are the keys whose missing value makes the atom unknown."""

    var: Var
    op: str
    arg: Any
    reads: tuple[tuple, ...] = ()
    span: tuple[int, int] = field(default=(0, 0), compare=False)


TRUE: tuple = ("and", ())
FALSE: tuple = ("or", ())
FLIP = {"T": "F", "F": "T", "NT": "NF", "NF": "NT"}
MIRROR = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _and(parts: Iterable[tuple]) -> tuple:
    out = []
    for p in parts:
        if p == FALSE:
            return FALSE
        out.extend(p[1] if p[0] == "and" else (p,))
    return out[0] if len(out) == 1 else ("and", tuple(out))


def _or(parts: Iterable[tuple]) -> tuple:
    out = []
    for p in parts:
        if p == TRUE:
            return TRUE
        out.extend(p[1] if p[0] == "or" else (p,))
    return out[0] if len(out) == 1 else ("or", tuple(out))


def _atom_leaf(atom: Atom) -> tuple[tuple, tuple, tuple]:
    """The (TRUE, FALSE, UNKNOWN) formulas of one atom."""
    unknown = _or(("miss", k) for k in atom.reads)
    return ("lit", atom, True), ("lit", atom, False), unknown


def _const_leaf(value: bool) -> tuple[tuple, tuple, tuple]:
    return (TRUE, FALSE, FALSE) if value else (FALSE, TRUE, FALSE)


def _swap(leaf: tuple[tuple, tuple, tuple]) -> tuple[tuple, tuple, tuple]:
    return leaf[1], leaf[0], leaf[2]


@functools.lru_cache(maxsize=65536)
def formula(expr: Expr, mode: str = "T", ctx: Context = Context()) -> tuple:
    """The NNF formula saying that `expr` is TRUE (T), FALSE (F), not TRUE (NT) or not FALSE (NF)."""
    if isinstance(expr, BoolOp):
        parts = [formula(x, mode, ctx) for x in expr.operands]
        conj = (expr.op == "and") == (mode in ("T", "NF"))
        return _and(parts) if conj else _or(parts)
    if isinstance(expr, Not):
        return formula(expr.operand, FLIP[mode], ctx)
    t, f, u = _leaf(expr, ctx)
    return {"T": t, "F": f, "NT": _or((f, u)), "NF": _or((t, u))}[mode]


# --- from expressions to atoms -------------------------------------------------------------------

def _leaf(e: Expr, ctx: Context) -> tuple[tuple, tuple, tuple]:
    """The (TRUE, FALSE, UNKNOWN) formulas of a non-logical node in a boolean position."""
    if isinstance(e, Bool):
        return _const_leaf(e.value)
    if isinstance(e, Compare):
        return _compare(e, ctx)
    if isinstance(e, Member):
        return _member(e, ctx)
    if isinstance(e, StrMatch):
        return _strmatch(e, ctx)
    if isinstance(e, Call) and e.func == "has":
        return _atom_leaf(Atom(_var(e, ctx), ">=", 1, (), (e.start, e.end)))
    var = _var(e, ctx) if isinstance(e, Ref) else None
    if var is not None and var.sort == "set" and var.domain == frozenset((True, False)):
        return _atom_leaf(Atom(var, "in", frozenset((True,)), _reads(var), (e.start, e.end)))
    return _opaque(e, ctx)


def _reads(var: Var) -> tuple[tuple, ...]:
    return (var.key,) if var.nullable else ()


def _opaque(e: Expr, ctx: Context) -> tuple[tuple, tuple, tuple]:
    """An atom the solver does not look inside: it may be TRUE, FALSE or unknown."""
    key = ("opaque", to_text(e), ctx.stage)
    reads = (key, *sorted({k for v in _vars_in(e, ctx) for k in _reads(v)}))
    return _atom_leaf(Atom(Var(key, "opaque"), "?", None, reads, (e.start, e.end)))


def _vars_in(e: Expr, ctx: Context) -> Iterator[Var]:
    if isinstance(e, Ref | Call):
        var = _var(e, ctx)
        if var is not None:
            yield var
        return
    for child in children(e):
        yield from _vars_in(child, ctx)


BUILTIN_PER_STAGE = ("accepted", "days_in_stage")


@functools.lru_cache(maxsize=65536)
def _var(e: Expr, ctx: Context) -> Var | None:
    """The variable a Ref or Call reads, or None for what is not one."""
    if isinstance(e, Call):
        return _call_var(e)
    if not isinstance(e, Ref):
        return None
    if e.kind in ("model", "score"):
        return Var((e.kind, e.name), "num", nullable=False)
    if e.kind == "grade":
        return Var(("grade",), "set", nullable=False,
                   domain=frozenset((*(e.type.values or ()), BELOW)))
    scope = ctx.stage if e.name in BUILTIN_PER_STAGE and e.kind == "builtin" else None
    return _typed_var((e.kind, e.name, scope), e.type)


def _typed_var(key: tuple, t: Any) -> Var:
    kind = t.kind
    if kind in ("integer", "number"):
        return Var(key, "num", integer=kind == "integer")
    if kind == "boolean":
        return Var(key, "set", domain=frozenset((True, False)))
    if kind == "enum" and t.values:
        return Var(key, "set", domain=frozenset(t.values))
    if kind == "string":
        return Var(key, "str")
    return Var(key, "opaque")


def _call_var(e: Call) -> Var:
    where = to_text(e.where) if e.where is not None else ""
    if e.func == "days_since":
        return Var(("days_since", e.target.name), "num")
    key = ("count", e.target.name, where, e.within.seconds if e.within else None)
    never = e.where is not None and satisfiable(e.where) is NO
    return Var(key, "num", integer=True, nullable=False, lo=0, hi=0 if never else INF)


def _term(e: Expr, ctx: Context) -> tuple | None:
    """("const", value) or ("var", var, sign, offset), or None when not linear in one term."""
    if isinstance(e, Num | Str | Bool):
        return ("const", e.value)
    if isinstance(e, Duration):
        return ("const", e.seconds)
    if isinstance(e, Ref | Call):
        var = _var(e, ctx)
        return ("var", var, 1, 0) if var is not None else None
    if isinstance(e, Neg):
        return _scale(_term(e.operand, ctx), -1)
    if isinstance(e, Arith):
        right = _term(e.right, ctx)
        return _add(_term(e.left, ctx), _scale(right, -1) if e.op == "-" else right)
    return None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _scale(t: tuple | None, k: int) -> tuple | None:
    if t is None or (t[0] == "const" and not _number(t[1])):
        return None
    return ("const", k * t[1]) if t[0] == "const" else ("var", t[1], k * t[2], k * t[3])


def _add(a: tuple | None, b: tuple | None) -> tuple | None:
    if a is None or b is None or (a[0] == b[0] == "var"):
        return None
    if a[0] == "const" and b[0] == "const":
        return ("const", a[1] + b[1]) if _number(a[1]) and _number(b[1]) else None
    v, c = (a, b) if a[0] == "var" else (b, a)
    return ("var", v[1], v[2], v[3] + c[1]) if _number(c[1]) else None


def _compare(e: Compare, ctx: Context) -> tuple[tuple, tuple, tuple]:
    left, right = _term(e.left, ctx), _term(e.right, ctx)
    if left is None or right is None or left[0] == right[0] == "var":
        return _opaque(e, ctx)
    if left[0] == right[0] == "const":
        return _fold(e.op, left[1], right[1], e, ctx)
    op = e.op if left[0] == "var" else MIRROR[e.op]
    (_, var, sign, offset), value = (left, right[1]) if left[0] == "var" else (right, left[1])
    if sign == -1 and _number(value):
        op, value, sign = MIRROR[op], -value, 1
    if offset and _number(value):
        value, offset = value - offset, 0
    if sign != 1 or offset:
        return _opaque(e, ctx)
    return _var_op(var, op, value, e, ctx)


def _fold(op: str, a: Any, b: Any, e: Expr, ctx: Context) -> tuple[tuple, tuple, tuple]:
    try:
        value = {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b,
                 ">=": a >= b}[op]
    except TypeError:
        return _opaque(e, ctx)
    return _const_leaf(bool(value))


def _var_op(var: Var, op: str, value: Any, e: Expr, ctx: Context) -> tuple[tuple, tuple, tuple]:
    """`var op value` for one variable and one constant."""
    span = (e.start, e.end)
    if var.key == ("grade",) and ctx.grades and op in ("==", "!="):
        leaf = _grade_leaf(frozenset((value,)), ctx, span)
        return _swap(leaf) if op == "!=" else leaf
    if var.sort == "num" and _number(value):
        base = Atom(var, "==" if op == "!=" else op, value, _reads(var), span)
        return _swap(_atom_leaf(base)) if op == "!=" else _atom_leaf(base)
    if var.sort in ("set", "str") and op in ("==", "!=") and not _number(value):
        leaf = _atom_leaf(Atom(var, "in", frozenset((value,)), _reads(var), span))
        return _swap(leaf) if op == "!=" else leaf
    return _opaque(e, ctx)


def _member(e: Member, ctx: Context) -> tuple[tuple, tuple, tuple]:
    term = _term(e.left, ctx)
    values = [_term(x, ctx) for x in e.items.items]
    if term is None or term[0] != "var" or term[2:] != (1, 0) \
            or any(v is None or v[0] != "const" for v in values):
        return _opaque(e, ctx)
    var, consts = term[1], frozenset(v[1] for v in values)
    if var.key == ("grade",) and ctx.grades:
        leaf = _grade_leaf(consts, ctx, (e.start, e.end))
    elif (var.sort == "num") == all(_number(c) for c in consts) and var.sort != "opaque":
        leaf = _atom_leaf(Atom(var, "in", consts, _reads(var), (e.start, e.end)))
    else:
        return _opaque(e, ctx)
    return _swap(leaf) if e.negated else leaf


def _strmatch(e: StrMatch, ctx: Context) -> tuple[tuple, tuple, tuple]:
    var = _var(e.left, ctx) if isinstance(e.left, Ref) else None
    if var is None or not isinstance(e.right, Str):
        return _opaque(e, ctx)
    if var.sort == "str":
        return _atom_leaf(Atom(var, e.op, e.right.value, _reads(var), (e.start, e.end)))
    if var.sort == "opaque" and e.op == "contains" and e.left.type.kind == "multi_enum":
        item = Var(("item", var.key, e.right.value), "set", nullable=False,
                   domain=frozenset((True, False)))
        return _atom_leaf(Atom(item, "in", frozenset((True,)), _reads(var), (e.start, e.end)))
    return _opaque(e, ctx)


def _grade_leaf(names: frozenset, ctx: Context, span: tuple[int, int]) -> tuple[tuple, tuple, tuple]:
    """`grade in names`, as intervals of the graded model's score (grades never go missing)."""
    var = Var(("model", ctx.grade_model), "num", nullable=False)
    bands = grade_bands(ctx.grades)
    inside = [b for g, b in bands if g in names]
    outside = [b for g, b in bands if g not in names]
    return _bands(var, inside, span), _bands(var, outside, span), FALSE


def grade_bands(grades: tuple[tuple[str, int], ...]) -> list[tuple[str, tuple]]:
    """Each grade with its score band [lo, hi), best first; the last band is BELOW the lowest."""
    out, upper = [], INF
    for name, threshold in sorted(grades, key=lambda g: -g[1]):
        out.append((name, (threshold, upper)))
        upper = threshold
    return [*out, (BELOW, (-INF, upper))]


def _bands(var: Var, bands: list[tuple], span: tuple[int, int]) -> tuple:
    parts = []
    for lo, hi in bands:
        low = ("lit", Atom(var, ">=", lo, (), span), True) if lo > -INF else TRUE
        high = ("lit", Atom(var, "<", hi, (), span), True) if hi < INF else TRUE
        parts.append(_and((low, high)))
    return _or(parts)


# --- deciding a conjunction of literals ---------------------------------------------------------

def solve(lits: list[tuple]) -> tuple[Verdict, tuple]:
    """Whether some lead makes every literal hold; on NO, the literals that conflict."""
    missing = {lit[1] for lit in lits if lit[0] == "miss"}
    groups: dict[tuple, list] = defaultdict(list)
    for lit in lits:
        if lit[0] != "lit":
            continue
        hit = next((k for k in lit[1].reads if k in missing), None) if missing else None
        if hit is not None:
            return NO, (lit, ("miss", hit))
        groups[lit[1].var.key].append((lit[1], lit[2]))
    verdict = YES
    for items in groups.values():
        var = items[0][0].var
        found = SORTS[var.sort](var, items)
        if found is NO:
            return NO, tuple(("lit", a, p) for a, p in items)
        if found is UNKNOWN:
            verdict = UNKNOWN
    return verdict, ()


# --- search -------------------------------------------------------------------------------------

class _OverBudget(Exception):
    """The search passed its budget: the answer is UNKNOWN."""


class _Search:
    """Depth-first walk of the lazy DNF of a conjunction of formulas."""

    def __init__(self) -> None:
        self.left = BUDGET
        self.leaves = 0
        self.conflict: tuple = ()

    def tick(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise _OverBudget

    def run(self, todo: list, lits: list) -> Verdict:
        while todo:
            f = todo.pop()
            if f[0] == "and":
                todo.extend(f[1])
            elif f[0] == "or":
                return self.branch(f[1], todo, lits)
            else:
                lits.append(f)
        self.tick()
        self.leaves += 1
        verdict, self.conflict = solve(lits)
        return verdict

    def branch(self, options: tuple, todo: list, lits: list) -> Verdict:
        self.tick()
        if options and solve(lits)[0] is NO:
            return NO
        return any_of(self.run([*todo, opt], list(lits)) for opt in options)


def _decide(build) -> tuple[Verdict, _Search | None]:
    """Run a search over the formulas `build()` returns; any failure is UNKNOWN."""
    search = _Search()
    try:
        return search.run(list(build()), []), search
    except Exception:  # noqa: BLE001 - budget, recursion, or a tree we do not know: no answer
        return UNKNOWN, None


@functools.lru_cache(maxsize=65536)
def satisfiable(expr: Expr, ctx: Context = Context()) -> Verdict:
    """YES if some lead makes `expr` TRUE, NO if none can, UNKNOWN if the solver cannot tell."""
    return _decide(lambda: [formula(expr, "T", ctx)])[0]


def implies(a: Expr, b: Expr, ctx_a: Context = Context(), ctx_b: Context | None = None) -> Verdict:
    """YES if every lead that makes `a` TRUE makes `b` TRUE (a missing value is not TRUE)."""
    ctx_b = ctx_a if ctx_b is None else ctx_b
    found = _decide(lambda: [formula(a, "T", ctx_a), formula(b, "NT", ctx_b)])[0]
    return {NO: YES, YES: NO, UNKNOWN: UNKNOWN}[found]


def conflict(expr: Expr, ctx: Context = Context()) -> list[tuple[int, int]]:
    """For an unsatisfiable `expr` with no alternatives: the spans of the atoms that clash."""
    verdict, search = _decide(lambda: [formula(expr, "T", ctx)])
    if verdict is not NO or search is None or search.leaves != 1:
        return []
    lits = [lit for lit in search.conflict if lit[0] == "lit"]
    core = _minimal(lits)
    return sorted({lit[1].span for lit in core if lit[1].span != (0, 0)})


def _minimal(lits: list) -> list:
    """Drop literals the contradiction does not need."""
    core = list(lits)
    for lit in lits:
        rest = [x for x in core if x is not lit]
        if rest and solve(rest)[0] is NO:
            core = rest
    return core


def excludes(a: tuple, b: tuple) -> bool:
    """True when two distinct formulas are proved unable to hold together."""
    return a is not b and _decide(lambda: [a, b])[0] is NO


def keys_of(f: tuple) -> set[tuple]:
    """Every variable key a formula reads."""
    out: set[tuple] = set()
    todo = [f]
    while todo:
        f = todo.pop()
        if f[0] in ("and", "or"):
            todo.extend(f[1])
        elif f[0] == "lit":
            out.update((f[1].var.key, *f[1].reads))
        else:
            out.add(f[1])
    return out


def clash_note(cond: ir.Condition, ctx: Context = Context()) -> tuple[str, ...]:
    """A note quoting the parts of an unsatisfiable condition that contradict each other."""
    spans = conflict(cond.expr, ctx)
    quoted = [f"`{cond.text[a:b]}`" for a, b in spans]
    if len(quoted) == 1:
        return (f"{quoted[0]} can never hold",)
    if quoted:
        return (f"{', '.join(quoted[:-1])} and {quoted[-1]} cannot all hold at once"
                if len(quoted) > 2 else f"{quoted[0]} and {quoted[1]} cannot both hold",)
    return ("none of its alternatives can hold",)
