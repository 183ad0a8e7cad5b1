"""Checks: what stage entries mean together (ALN501, ALN502, ALN304).

All three reason over conditions with `compiler.solver` under three-valued logic: a stage is
entered only when its entry is TRUE. Where the solver cannot decide, nothing is reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from alignctl.compiler import bounds, solver
from alignctl.compiler.checks.scoring import number, score_compare
from alignctl.compiler.ir import Policy, Stage
from alignctl.policy.diagnostics import Diagnostic, make
from alignctl.policy.expr_ast import BoolOp, Compare, Expr, Member, Ref, Str

LIMIT = 200     # stages compared pairwise for ALN502; a longer funnel is left unchecked


def _entries(policy: Policy) -> list[tuple[Stage, solver.Context]]:
    return [(s, solver.context_of(policy, s.id)) for s in policy.stages if s.entry is not None]


def check_impossible_entries(policy: Policy) -> Iterator[Diagnostic]:
    """ALN501: a stage entry no lead can ever make true."""
    for stage, ctx in _entries(policy):
        if solver.satisfiable(stage.entry.expr, ctx) is solver.NO:
            yield make("ALN501", f"no lead can enter stage `{stage.id}`: its entry is never true",
                       stage.entry.span, notes=solver.clash_note(stage.entry, ctx),
                       help="fix the `entry` condition")


# --- ALN502 -------------------------------------------------------------------------------------

def _skipped_into(stage: Stage, ctx: solver.Context, later: list) -> Stage | None:
    """The first later stage whose entry holds whenever this stage's entry holds."""
    for other, other_ctx in later:
        if solver.implies(stage.entry.expr, other.entry.expr, ctx, other_ctx) is solver.YES:
            return other
    return None


def check_skipped_stages(policy: Policy) -> Iterator[Diagnostic]:
    """ALN502: a stage whose entry implies a later stage's entry, so no lead ever rests in it."""
    entries = _entries(policy)
    if len(entries) > LIMIT:
        return
    for i, (stage, ctx) in enumerate(entries):
        if solver.satisfiable(stage.entry.expr, ctx) is solver.NO:
            continue
        later = _skipped_into(stage, ctx, entries[i + 1:])
        if later is not None:
            yield make(
                "ALN502", f"stage `{stage.id}` is always skipped: every lead that meets its "
                f"entry also meets the entry of `{later.id}`", stage.entry.span,
                notes=(f"leads move forward to the furthest stage whose entry holds, so they "
                       f"go straight on to `{later.id}` and none rests in `{stage.id}`",),
                related=((f"the entry of `{later.id}`", later.entry.span),),
                help=f"make `{stage.id}`'s entry weaker than `{later.id}`'s, or merge the stages")


# --- ALN304 -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Floor:
    """A score a stage's entry requires: `model >= value` (strict for `>`), at `node`."""

    model: str
    value: float
    strict: bool
    stage: Stage
    node: Expr

    @property
    def text(self) -> str:
        return self.stage.entry.text[self.node.start:self.node.end]

    def below(self, other: Floor) -> bool:
        return (self.value, self.strict) < (other.value, other.strict)


def _conjuncts(expr: Expr) -> Iterator[Expr]:
    """The parts every lead in the stage meets: the operands of top-level `and`s."""
    if isinstance(expr, BoolOp) and expr.op == "and":
        for x in expr.operands:
            yield from _conjuncts(x)
    else:
        yield expr


def _compare_floor(node: Expr) -> tuple[str, float, bool] | None:
    found = score_compare(node)
    if found is None or found[1] not in (">=", ">", "=="):
        return None
    ref, op, value = found
    return ref.name, value, op == ">"


def _grade_floor(node: Expr, ctx: solver.Context) -> tuple[str, float, bool] | None:
    """`grade in ["A", "B"]` as the lowest score on the graded model it lets in."""
    if isinstance(node, Compare) and node.op == "==" and isinstance(node.right, Str):
        left, names = node.left, {node.right.value}
    elif isinstance(node, Member) and not node.negated:
        left, names = node.left, {getattr(x, "value", None) for x in node.items.items}
    else:
        return None
    if not (isinstance(left, Ref) and left.kind == "grade" and ctx.grade_model):
        return None
    floors = [t for g, t in ctx.grades if g in names]
    return (ctx.grade_model, min(floors), False) if floors else None


def _reachable(policy: Policy, model: str, value: float, strict: bool) -> bool:
    """False for a floor no lead reaches (ALN401 or ALN403 reports it)."""
    m = policy.models.get(model)
    b = bounds.score_bounds(policy) if model == "score" else bounds.bounds_of(m) if m else None
    return b is None or b.hi > value or (b.hi == value and not strict)


def _floors(policy: Policy, stage: Stage, ctx: solver.Context) -> dict[str, Floor]:
    """The highest reachable floor per model (or `score`) among the top-level parts of the entry."""
    out: dict[str, Floor] = {}
    for node in _conjuncts(stage.entry.expr):
        found = _compare_floor(node) or _grade_floor(node, ctx)
        if found is None or not _reachable(policy, *found):
            continue
        floor = Floor(*found, stage, node)
        if found[0] not in out or out[found[0]].below(floor):
            out[found[0]] = floor
    return out


def _easier(floor: Floor, before: Floor) -> Diagnostic:
    later, earlier = floor.stage, before.stage
    what = "`score`" if floor.model == "score" else f"`{floor.model}`"
    return make(
        "ALN304", f"stage `{later.id}` is easier to enter than the earlier `{earlier.id}`: "
        f"`{floor.text}` asks less than `{before.text}`",
        later.entry.span_of(floor.node),
        notes=(f"`{later.id}` lets in leads from {number(floor.value)} on {what}, "
               f"`{earlier.id}` only from {number(before.value)}",),
        related=((f"the threshold of `{earlier.id}`", earlier.entry.span_of(before.node)),),
        help=f"raise `{later.id}`'s threshold to at least {number(before.value)}, "
             f"or lower `{earlier.id}`'s")


def _skipped(policy: Policy, before: Floor, floor: Floor) -> bool:
    """Whether ALN502 already reports the earlier stage as always skipped into the later one."""
    a, b = before.stage, floor.stage
    return solver.implies(a.entry.expr, b.entry.expr, solver.context_of(policy, a.id),
                          solver.context_of(policy, b.id)) is solver.YES


def check_easier_later_stages(policy: Policy) -> Iterator[Diagnostic]:
    """ALN304: a later stage whose score threshold on the same model is lower."""
    highest: dict[str, Floor] = {}
    for stage, ctx in _entries(policy):
        for model, floor in _floors(policy, stage, ctx).items():
            before = highest.get(model)
            if before is not None and floor.below(before) and not _skipped(policy, before, floor):
                yield _easier(floor, before)
            if before is None or before.below(floor):
                highest[model] = floor


CHECKS = (
    check_impossible_entries,
    check_skipped_stages,
    check_easier_later_stages,
)
