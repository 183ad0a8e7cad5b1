"""Checks: the funnel's order, owners and handoffs (ALN301-ALN303, ALN305, ALN306).

Lowering already reports a stage owner that is not a team (ALN302) and unknown stages in
handoffs (ALN101); these checks run on a policy whose references resolve.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from itertools import pairwise

from alignctl.compiler.ir import Handoff, Policy, Stage
from alignctl.policy.diagnostics import Diagnostic, make


def _kind(policy: Policy, stage: Stage | None) -> str | None:
    team = policy.teams.get(stage.owner) if stage else None
    return team.kind if team else None


def check_unreachable(policy: Policy) -> Iterator[Diagnostic]:
    """ALN301: a stage after the first with no `entry` and no handoff into it."""
    targets = {h.to_stage for h in policy.handoffs}
    for prev, stage in pairwise(policy.stages):
        if stage.entry is None and stage.id not in targets:
            yield make(
                "ALN301", f"no lead can reach stage `{stage.id}`", stage.loc.of("id"),
                notes=("it is not the first stage, has no `entry`, and no handoff leads to it",),
                help=f"give it an `entry:` condition, or add a handoff "
                     f"`{{ from: {prev.id}, to: {stage.id} }}`")


def check_handoff_direction(policy: Policy) -> Iterator[Diagnostic]:
    """ALN302: a handoff from a sales-owned stage into a marketing-owned one.

    A lead Sales hands on stays with Sales; the way back to Marketing is disqualification with a
    recycle rule. So a marketing team owning the receiving stage contradicts the handoff.
    """
    index = {s.id: s for s in policy.stages}
    for h in policy.handoffs:
        src, dst = index.get(h.from_stage), index.get(h.to_stage)
        if _kind(policy, src) == "sales" and _kind(policy, dst) == "marketing":
            yield make(
                "ALN302", f"stage `{dst.id}` is owned by marketing team `{dst.owner}`, "
                f"but Sales hands leads into it", dst.loc.of("owner"),
                notes=(f"the handoff comes from `{src.id}`, owned by sales team `{src.owner}`",),
                related=(("the handoff from Sales", h.loc.of("from")),),
                help=f"give `{dst.id}` a sales owner; to send a lead back to Marketing, "
                     "disqualify it with a reason that recycles")


def _covering(policy: Policy) -> dict[tuple[str, str], list[tuple[int, int]]]:
    """Handoffs by (from owner, to owner): the stage index ranges they span."""
    index = {s.id: s for s in policy.stages}
    out: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for h in policy.handoffs:
        src, dst = index.get(h.from_stage), index.get(h.to_stage)
        if src and dst:
            out[(src.owner, dst.owner)].append((src.index, dst.index))
    return out


def check_owner_changes(policy: Policy) -> Iterator[Diagnostic]:
    """ALN303: the owning team changes between consecutive stages without a handoff."""
    covering = _covering(policy)
    for prev, stage in pairwise(policy.stages):
        spans = covering.get((prev.owner, stage.owner), ())
        if prev.owner == stage.owner or any(a <= prev.index < b for a, b in spans):
            continue
        yield make(
            "ALN303", f"`{prev.owner}` passes leads to `{stage.owner}` at `{stage.id}` "
            "without a handoff", stage.loc.of("owner"),
            related=((f"`{prev.id}` is owned by `{prev.owner}`", prev.loc.of("owner")),),
            help=f"add a handoff `{{ from: {prev.id}, to: {stage.id}, sla: "
                 "{ accept_within: 24h, first_touch_within: 4h } }`")


def check_handoff_sla(policy: Policy) -> Iterator[Diagnostic]:
    """ALN303: a handoff without an SLA."""
    for h in policy.handoffs:
        if h.sla is None:
            yield make(
                "ALN303", f"handoff `{h.from_stage}` -> `{h.to_stage}` has no SLA", h.loc.span,
                notes=("the SLA is what the receiving team commits to: without it, nothing "
                       "says how fast a handed-off lead is worked",),
                help="add `sla: { accept_within: 24h, first_touch_within: 4h, attempts: 6, "
                     "over: 10d }`")


def _leaving(handoffs: tuple[Handoff, ...]) -> set[str]:
    """Stages with a handoff out of them (with or without an SLA: ALN303 reports a missing one)."""
    return {h.from_stage for h in handoffs}


def check_stuck(policy: Policy) -> Iterator[Diagnostic]:
    """ALN305: a non-terminal stage with neither `max_age` nor a handoff SLA out of it."""
    leaving = _leaving(policy.handoffs)
    for stage in policy.stages:
        if stage.terminal or stage.max_age is not None or stage.id in leaving:
            continue
        yield make(
            "ALN305", f"leads can sit in `{stage.id}` forever", stage.loc.of("id"),
            notes=(f"`{stage.id}` has no `max_age`, and no handoff with an SLA leaves it",),
            help="add `max_age: 30d`: how long a lead may stay before it must move on or be "
                 "disqualified")


def check_terminal(policy: Policy) -> Iterator[Diagnostic]:
    """ALN306: no terminal `won` stage, or (non-terminal) stages after a terminal stage."""
    stages = policy.stages
    if stages and not any(s.terminal == "won" for s in stages):
        yield make(
            "ALN306", "the funnel has no terminal `won` stage", stages[-1].loc.of("id"),
            notes=("without a closed-won stage, the plan cannot count deals",),
            help="mark the closed-won stage (e.g. `customer`) with `terminal: won`")
    yield from _after_terminal(stages)


def _after_terminal(stages: tuple[Stage, ...]) -> Iterator[Diagnostic]:
    end = next((s for s in stages if s.terminal), None)
    after = [s for s in stages[end.index + 1:] if not s.terminal] if end else []
    if not after:
        return
    more = (f"{len(after) - 1} more stage(s) after it, too",) if len(after) > 1 else ()
    yield make(
        "ALN306", f"stage `{after[0].id}` comes after the terminal stage `{end.id}`",
        after[0].loc.of("id"), notes=("a lead never leaves a terminal stage", *more),
        related=((f"`{end.id}` is terminal here", end.loc.of("terminal")),),
        help=f"put terminal stages last, or remove `terminal:` from `{end.id}`")


CHECKS = (
    check_unreachable,
    check_handoff_direction,
    check_owner_changes,
    check_handoff_sla,
    check_stuck,
    check_terminal,
)
