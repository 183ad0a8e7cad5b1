"""Checks: scoring models and the thresholds on their scores (ALN401-ALN405).

Score bounds come from `compiler.bounds`: the most and least a lead can score on each model,
given which rules can fire together, `max`, `once`, `cap` and `min`. Where a bound is unknown
(infinite), nothing is reported.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from alignctl.compiler import bounds, solver
from alignctl.compiler.ir import Condition, Model, Policy, Rule
from alignctl.policy.diagnostics import Diagnostic, Span, make
from alignctl.policy.expr import walk
from alignctl.policy.expr_ast import Compare, Expr, Num, Ref

SCORES = ("model", "score")


def number(x: float) -> str:
    """A score as people write it: 35, 2.5, unbounded."""
    if math.isinf(x):
        return "unbounded" if x > 0 else "-unbounded"
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _sum(parts: tuple[tuple[str, float], ...], named: bool) -> str:
    terms = [f"{name} {number(v)}" if named else number(v) for name, v in parts]
    if len(terms) > 8:
        terms = [*terms[:6], f"... {len(terms) - 6} more"]
    return " + ".join(terms).replace("+ -", "- ")


def _subject(name: str) -> str:
    return "in total (`score`)" if name == "score" else f"on `{name}`"


def _parts(parts: tuple[tuple[str, float], ...], name: str) -> str:
    if len(parts) == 1 and name != "score":
        return f"rule `{parts[0][0]}`"
    return _sum(parts, name == "score")


def most_note(name: str, b: bounds.Bounds) -> tuple[str, ...]:
    """`the most a lead can score on fit is 35 (20 + 15)`, naming a cap when it bites."""
    head = f"the most a lead can score {_subject(name)} is {number(b.hi)}"
    if b.hi < b.raw_hi:
        rules = "have no upper limit" if math.isinf(b.raw_hi) else f"add up to {number(b.raw_hi)}"
        return (f"{head}, its `cap` (its rules {rules})",)
    if not b.hi_parts:
        return (f"{head}: no rule adds points",)
    left = ", ".join(f"`{r}`" for r in b.hi_left_out[:6])
    tail = (f"not counted: {left}, which cannot fire together with those",) if left else ()
    return (f"{head} ({_parts(b.hi_parts, name)})", *tail)


def least_note(name: str, b: bounds.Bounds) -> tuple[str, ...]:
    """`the least a lead can score on fit is -30 (rule free_email)`, naming `min` when it bites."""
    head = f"the least a lead can score {_subject(name)} is {number(b.lo)}"
    if b.lo > b.raw_lo:
        rules = "have no lower limit" if math.isinf(b.raw_lo) else \
            f"take away up to {number(-b.raw_lo)}"
        return (f"{head}, its `min` (its rules {rules})",)
    if not b.lo_parts:
        return (f"{head}: no rule takes points away",)
    return (f"{head} ({_parts(b.lo_parts, name)})",)


# --- ALN401 -------------------------------------------------------------------------------------

def score_compare(node: Expr) -> tuple[Ref, str, float] | None:
    """`fit >= 60` (or `60 <= fit`) as (the score reference, operator, number)."""
    if not isinstance(node, Compare):
        return None
    left, right, op = node.left, node.right, node.op
    if isinstance(left, Num) and isinstance(right, Ref):
        left, right, op = right, left, solver.MIRROR[op]
    if isinstance(left, Ref) and left.kind in SCORES and isinstance(right, Num):
        return left, op, right.value
    return None


def _beyond(op: str, value: float, b: bounds.Bounds) -> str | None:
    """Which bound keeps `score op value` from ever holding: "hi", "lo" or None."""
    if (op in (">=", "==") and b.hi < value) or (op == ">" and b.hi <= value):
        return "hi"
    if (op in ("<=", "==") and b.lo > value) or (op == "<" and b.lo >= value):
        return "lo"
    return None


def _threshold(cond: Condition, node: Compare, policy: Policy) -> Diagnostic | None:
    ref, op, value = score_compare(node)
    b = bounds.ref_bounds(ref, policy)
    side = _beyond(op, value, b) if b is not None else None
    if side is None:
        return None
    text = cond.text[node.start:node.end]
    bound = b.hi if side == "hi" else b.lo
    note = most_note(ref.name, b) if side == "hi" else least_note(ref.name, b)
    what = "the models" if ref.name == "score" else f"`{ref.name}`"
    return make("ALN401", f"no lead can reach `{text}`", cond.span_of(node), notes=note,
                help=f"change the threshold to {number(bound)} or "
                     f"{'less' if side == 'hi' else 'more'}, or change the rules of {what}")


def check_unreachable_thresholds(policy: Policy) -> Iterator[Diagnostic]:
    """ALN401: a comparison with a model score (or `score`) that no lead can satisfy."""
    for stage in policy.stages:
        if stage.entry is None:
            continue
        for node in walk(stage.entry.expr):
            if score_compare(node) is not None:
                found = _threshold(stage.entry, node, policy)
                if found is not None:
                    yield found


# --- ALN402 -------------------------------------------------------------------------------------

def check_dead_rules(policy: Policy) -> Iterator[Diagnostic]:
    """ALN402: a rule whose `when` or `where` no lead (or event) can satisfy."""
    for rule in policy.rules():
        cond = rule.when if rule.when is not None else rule.where
        if cond is not None and solver.satisfiable(cond.expr) is solver.NO:
            key = "when" if rule.when is not None else "where"
            yield make("ALN402", f"rule `{rule.id}` can never match: its `{key}` is never true",
                       cond.span, notes=solver.clash_note(cond),
                       help="fix the condition, or remove the rule")


# --- ALN403 -------------------------------------------------------------------------------------

def grade_span(model: Model, grade: str) -> Span:
    """Where a grade is written: its key when lowering recorded it, else the `grades` mapping."""
    return model.loc.attrs.get(f"grades.{grade}") or model.loc.of("grades")


def _misordered(model: Model) -> Iterator[tuple[str, Diagnostic]]:
    grades = model.grades  # as written
    for (upper, u), (grade, t) in zip(grades, grades[1:], strict=False):
        if t >= u:
            yield grade, make(
                "ALN403", f"grade `{grade}` needs {t}, not less than `{upper}` ({u}) above it",
                grade_span(model, grade),
                notes=("grades go best first, each threshold strictly lower than the one before",),
                related=((f"grade `{upper}`", grade_span(model, upper)),),
                help=f"give `{grade}` a threshold below {u}")


def _unreachable_grades(model: Model, skip: set[str]) -> Iterator[Diagnostic]:
    b = bounds.bounds_of(model)
    for grade, (lo, hi) in solver.grade_bands(model.grades)[:-1]:
        if grade in skip:
            continue
        if b.hi < lo:
            yield make("ALN403", f"no lead can reach grade `{grade}`: it needs {lo} on "
                       f"`{model.id}`", grade_span(model, grade), notes=most_note(model.id, b),
                       help=f"lower `{grade}` to {number(b.hi)} or less, or add points")
        elif b.lo >= hi:
            yield make("ALN403", f"no lead can get grade `{grade}`: every lead scores "
                       f"{number(hi)} or more on `{model.id}`", grade_span(model, grade),
                       notes=least_note(model.id, b), help="raise or remove the grade")


def check_grades(policy: Policy) -> Iterator[Diagnostic]:
    """ALN403: grade thresholds that do not strictly decrease, or a grade no score reaches."""
    for model in policy.models.values():
        if not model.grades:
            continue
        skip = set()
        for grade, diag in _misordered(model):
            skip.add(grade)
            yield diag
        yield from _unreachable_grades(model, skip)


# --- ALN404, ALN405 -----------------------------------------------------------------------------

def _unbounded(rule: Rule, model: Model) -> bool:
    return (rule.points > 0 and rule.max is None and not rule.once and model.cap is None
            and model.half_life is None and bounds.can_fire(rule))


def check_unbounded_rules(policy: Policy) -> Iterator[Diagnostic]:
    """ALN404: an engagement rule that adds points for every event, without any limit."""
    for model in policy.models.values():
        if model.kind != "engagement":
            continue
        for rule in model.rules:
            if _unbounded(rule, model):
                yield make(
                    "ALN404", f"rule `{rule.id}` can add points without limit", rule.loc.span,
                    notes=(f"every `{rule.on}` adds {rule.points}; the rule has no `max` or "
                           f"`once`, and model `{model.id}` has no `cap` or `decay`",),
                    help="add `max: N` or `once: true` to the rule, or a `cap` to the model")


def _no_points(model: Model) -> str | None:
    points = [r.points for r in model.rules]
    if not points or any(p > 0 for p in points):
        return None
    if all(p == 0 for p in points):
        return "gives 0 points"
    return "takes points away" if all(p < 0 for p in points) else "gives 0 or takes points away"


def check_pointless_models(policy: Policy) -> Iterator[Diagnostic]:
    """ALN405: a model whose rules are all negative, or all zero: it can never add points."""
    for model in policy.models.values():
        what = _no_points(model)
        if what is not None:
            yield make("ALN405", f"every rule of model `{model.id}` {what}", model.loc.span,
                       notes=most_note(model.id, bounds.bounds_of(model)),
                       help="give the rules that mark a good lead positive points")


CHECKS = (
    check_unreachable_thresholds,
    check_dead_rules,
    check_grades,
    check_unbounded_rules,
    check_pointless_models,
)
