"""Checks: capacity and plan (ALN601-ALN605), on the figures of `compiler.plan`.

Every note shows both sides of the comparison with their arithmetic; equality is never a finding
(capacity exactly equal to load is fully used, not over).
"""

from __future__ import annotations

from collections.abc import Iterator

from alignctl.compiler.ir import Policy
from alignctl.compiler.plan import (
    Figure,
    PlanTable,
    TeamRow,
    compute_plan,
    count,
    less,
    noun,
    num,
    percent,
    rate,
)
from alignctl.policy.diagnostics import Diagnostic, Span, make


def _handoffs_into(policy: Policy, team: str) -> tuple[tuple[str, Span], ...]:
    owned = {s.id for s in policy.stages if s.owner == team}
    return tuple((f"handoff `{h.from_stage}` -> `{h.to_stage}`", h.loc.span)
                 for h in policy.handoffs if h.to_stage in owned)


def _exceeds(need: Figure | None, limit: Figure | None) -> bool:
    """need > limit beyond float noise; an unknown figure never exceeds."""
    return need is not None and limit is not None and less(limit.value, need.value)


def _first_source(policy: Policy, row: TeamRow) -> str:
    return row.sources[0] if row.sources else policy.stages[0].id


def check_over_capacity(policy: Policy) -> Iterator[Diagnostic]:
    """ALN601: the leads handed to a team per period exceed what its reps can work."""
    table = compute_plan(policy)
    for row in table.teams:
        if not _exceeds(row.load, row.capacity):
            continue
        team = policy.teams[row.team]
        yield make(
            "ALN601", f"team `{row.team}` is over capacity: it receives {num(row.load.value)} "
            f"leads/{table.period} and can work {num(row.capacity.value)}",
            team.loc.of("reps"),
            notes=(f"{row.team} receives {row.load.explain}; it can work {row.capacity.explain}",
                   f"utilisation {percent(row.load.value / row.capacity.value)}"),
            related=_handoffs_into(policy, row.team),
            help=f"add reps or hours for new leads, or hand over fewer, better leads: raise the "
                 f"bar to reach `{_first_source(policy, row)}` (nurture longer)")


def check_target_reached(policy: Policy) -> Iterator[Diagnostic]:
    """ALN602: the expected volume at the won stage is below the deals the target needs."""
    table = compute_plan(policy)
    won = table.stage(table.won_stage) if table.won_stage else None
    if won is None or not _exceeds(won.required, won.expected):
        return
    yield make(
        "ALN602", "the plan does not reach the revenue target: "
        f"{count(won.expected.value, won.stage)}/{table.period} expected, "
        f"{num(won.required.value)} needed",
        policy.plan.loc.of("revenue_target"),
        notes=(f"the target needs {table.deals.explain}", *_shortfalls(table)),
        related=_volume_spans(policy),
        help="raise the volumes at the top of the funnel, improve a conversion rate, raise the "
             "average deal size, or lower the revenue target")


def _shortfalls(table: PlanTable) -> list[str]:
    rows = [r for r in table.stages if r.headroom is not None]
    return [f"{r.stage}: required {num(r.required.value)}, expected {num(r.expected.value)} "
            f"({'+' if r.headroom >= 0 else ''}{percent(r.headroom)})" for r in rows]


def _volume_spans(policy: Policy) -> tuple[tuple[str, Span], ...]:
    return tuple(("expected volume stated here", policy.plan.loc.of(f"volumes.{sid}"))
                 for sid in policy.plan.volumes)


def check_target_capacity(policy: Policy) -> Iterator[Diagnostic]:
    """ALN603: the revenue target hands a team more leads than its reps can work."""
    table = compute_plan(policy)
    for row in table.teams:
        need, cap = row.required_load, row.capacity
        if not _exceeds(need, cap):
            continue
        yield make(
            "ALN603", f"the revenue target needs team `{row.team}` to work {num(need.value)} "
            f"leads/{table.period}; it can work {num(cap.value)}",
            policy.teams[row.team].loc.of("reps"),
            notes=(f"to reach {table.target.explain}, {row.team} must work {need.explain}; "
                   f"it can work {cap.explain}",),
            related=(("the revenue target", policy.plan.loc.of("revenue_target")),),
            help="add reps or hours for new leads, lower the revenue target, or improve "
                 "conversion after the handoff so fewer leads are needed")


def check_conversion_range(policy: Policy) -> Iterator[Diagnostic]:
    """ALN604: a conversion rate outside (0, 1]."""
    plan = policy.plan
    for sid, value in (plan.conversion.items() if plan else ()):
        if 0 < value <= 1:
            continue
        hint = f"write {num(value)} % as {rate(value / 100)}" if 2 <= value <= 100 else \
            "a rate is the share of leads that reach the next stage, e.g. 0.25 for 25 %"
        yield make(
            "ALN604", f"conversion rate {num(value)} at `{sid}` is not between 0 and 1",
            plan.loc.of(f"conversion.{sid}"),
            notes=(_range_note(value),), help=hint)


def _range_note(value: float) -> str:
    if value == 0:
        return "0 would stop the funnel here"
    if value < 0:
        return "a share of leads cannot be negative"
    return "more leads cannot reach the next stage than entered this one"


def check_conversion_missing(policy: Policy) -> Iterator[Diagnostic]:
    """ALN604: no conversion rate for a stage that expected volume flows through."""
    table = compute_plan(policy)
    for prev, stage in zip(policy.stages, policy.stages[1:], strict=False):
        row, nxt = table.stage(prev.id), table.stage(stage.id)
        if prev.terminal or row.expected is None or row.conversion is not None \
                or nxt.stated is not None:
            continue
        yield make(
            "ALN604", f"no conversion rate for `{prev.id}`, though "
            f"{count(row.expected.value, prev.id)}/{table.period} flow through it",
            policy.plan.loc.of("conversion"),
            notes=(f"the plan cannot tell how many reach `{stage.id}` and later stages",),
            help=f"add `{prev.id}: 0.5` under plan.conversion: the share of "
                 f"{noun(prev.id)} that reach `{stage.id}`")


def _receivers(table: PlanTable, stage_id: str) -> list[TeamRow]:
    """The teams that receive the leads of `stage_id` through a handoff."""
    return [r for r in table.teams if stage_id in r.sources]


def check_commitments(policy: Policy) -> Iterator[Diagnostic]:
    """ALN605: a commitment below what the target requires, or above what Sales can work."""
    table = compute_plan(policy)
    for sid, value in (policy.plan.commitments.items() if policy.plan else ()):
        span = policy.plan.loc.of(f"commitments.{sid}")
        yield from _below_required(table, sid, value, span)
        yield from _above_capacity(table, sid, value, span)


def _below_required(table: PlanTable, sid: str, value: float, span: Span) -> Iterator[Diagnostic]:
    row = table.stage(sid)
    if row is None or row.required is None or not less(value, row.required.value):
        return
    yield make(
        "ALN605", f"the commitment of {count(value, sid)}/{table.period} is below the "
        f"{num(row.required.value)} the revenue target requires", span,
        notes=(f"the target requires {row.required.explain}",),
        help=f"commit to at least {num(row.required.value)} {noun(sid)}, or lower the "
             "revenue target")


def _above_capacity(table: PlanTable, sid: str, value: float, span: Span) -> Iterator[Diagnostic]:
    rows = _receivers(table, sid)
    if not rows or any(r.capacity is None for r in rows):
        return
    cap = sum(r.capacity.value for r in rows)
    if not less(cap, value):
        return
    works = "; ".join(f"{r.team} can work {r.capacity.explain}" for r in rows)
    yield make(
        "ALN605", f"the commitment of {count(value, sid)}/{table.period} is more than Sales "
        f"can work ({num(cap)})", span, notes=(works,),
        help=f"lower the commitment to at most {num(cap)}, or add reps to "
             f"{', '.join(f'`{r.team}`' for r in rows)}")


CHECKS = (
    check_conversion_range,
    check_conversion_missing,
    check_over_capacity,
    check_target_capacity,
    check_target_reached,
    check_commitments,
)
