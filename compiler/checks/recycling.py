"""Checks: disqualification reasons and their recycle rules (ALN701-ALN705).

A reason is "used from" the `to` stage of every handoff that lists it in `reject_reasons`; a
recycle rule must send the lead back to a stage before all of them, so it is worked again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from alignctl.compiler.ir import Policy, Reason, Stage
from alignctl.policy.diagnostics import Diagnostic, Span, make

DATE_TYPES = ("date", "datetime")


def _uses(policy: Policy) -> dict[str, list[tuple[Stage, Span]]]:
    """Reason id -> the stages it is used from, with the reject_reasons entry naming it."""
    out: dict[str, list[tuple[Stage, Span]]] = defaultdict(list)
    index = {s.id: s for s in policy.stages}
    for h in policy.handoffs:
        stage = index.get(h.to_stage)
        for rid, span in h.reject_reasons if stage else ():
            out[rid].append((stage, span))
    return out


def _reasons(policy: Policy) -> list[Reason]:
    d = policy.disqualification
    return list(d.reasons.values()) if d else []


def check_missing_rule(policy: Policy) -> Iterator[Diagnostic]:
    """ALN701: a reason without a recycle rule (`recycle: never` is a rule)."""
    uses = _uses(policy)
    for reason in _reasons(policy):
        if reason.recycle is not None:
            continue
        where = uses.get(reason.id, ())
        yield make(
            "ALN701", f"reason `{reason.id}` does not say whether the lead comes back",
            reason.loc.span,
            notes=(f"used by {len(where)} handoff(s) as a reject reason",) if where else (),
            related=tuple(("rejected leads get this reason here", s) for _, s in where[:1]),
            help="add `recycle: { to: <stage>, after: 90d }`, or `recycle: never` to close "
                 "the lead for good")


def check_recycle_target(policy: Policy) -> Iterator[Diagnostic]:
    """ALN702: a recycle target that is terminal, or not before where the reason is used."""
    uses = _uses(policy)
    index = {s.id: s for s in policy.stages}
    for reason in _reasons(policy):
        rec = reason.recycle
        target = index.get(rec.to) if rec and not rec.never else None
        if target is None:
            continue
        if target.terminal:
            yield _terminal_target(policy, reason, target)
        elif uses.get(reason.id):
            yield from _not_before(policy, reason, target, uses[reason.id])


def _terminal_target(policy: Policy, reason: Reason, target: Stage) -> Diagnostic:
    return make(
        "ALN702", f"reason `{reason.id}` recycles leads into the terminal stage `{target.id}`",
        reason.recycle.loc.of("to"),
        related=((f"`{target.id}` is terminal here", target.loc.of("terminal")),),
        help=f"recycle to an early stage, e.g. `{policy.stages[0].id}`, to nurture the lead again")


def _not_before(policy: Policy, reason: Reason, target: Stage,
                uses: list[tuple[Stage, Span]]) -> Iterator[Diagnostic]:
    stage, span = min(uses, key=lambda u: u[0].index)
    if target.index < stage.index:
        return
    yield make(
        "ALN702", f"reason `{reason.id}` recycles to `{target.id}`, which is not before "
        f"`{stage.id}`, where leads are rejected with it", reason.recycle.loc.of("to"),
        notes=("a recycled lead must go back to an earlier stage to be worked again",),
        related=((f"used on the handoff into `{stage.id}`", span),),
        help=f"recycle to a stage before `{stage.id}`, e.g. `{policy.stages[0].id}`")


def check_recycle_date(policy: Policy) -> Iterator[Diagnostic]:
    """ALN703: `before:` names a field that is not a date or datetime."""
    for reason in _reasons(policy):
        rec = reason.recycle
        field = policy.fields.get(rec.before) if rec and rec.before else None
        if field is None or field.type in DATE_TYPES:
            continue
        dates = [f.id for f in policy.fields.values() if f.type in DATE_TYPES]
        yield make(
            "ALN703",
            f"`before: {field.id}` needs a date, but `{field.id}` is {_a(field.type)} field",
            rec.loc.of("before"),
            related=((f"`{field.id}` is declared as {field.type} here", field.loc.of("type")),),
            help=(f"point `before:` at a date field such as `{dates[0]}`" if dates else
                  "declare a date field for it") + ", or recycle `after:` a duration")


def _a(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def check_max_recycles(policy: Policy) -> Iterator[Diagnostic]:
    """ALN704: leads can be recycled, but nothing limits how often."""
    d = policy.disqualification
    if d is None or d.max_recycles is not None:
        return
    loops = [r.id for r in d.reasons.values() if r.recycle and not r.recycle.never]
    if loops:
        yield make(
            "ALN704", "no `max_recycles`: a lead can loop through the funnel forever", d.loc.span,
            notes=(f"{len(loops)} reason(s) recycle: {', '.join(loops)}",),
            help="add `max_recycles: 3` under disqualification")


def check_no_response(policy: Policy) -> Iterator[Diagnostic]:
    """ALN705: `no_response` as a reject reason on a handoff whose SLA does not state `attempts`."""
    for h in policy.handoffs:
        if h.sla is None or h.sla.attempts is not None:
            continue
        for rid, span in h.reject_reasons:
            if rid == "no_response":
                yield make(
                    "ALN705", "`no_response` may be used here, but the SLA does not say how many "
                    "attempts come first", span,
                    related=(("the handoff's SLA", h.sla.loc.span),),
                    help="add `attempts: 6` and `over: 10d` to the SLA")


CHECKS = (
    check_missing_rule,
    check_recycle_target,
    check_recycle_date,
    check_max_recycles,
    check_no_response,
)
