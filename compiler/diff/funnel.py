"""Diffs of the funnel: stages and their entries, handoffs and SLAs, disqualification, the plan."""

from __future__ import annotations

from collections.abc import Iterator

from alignctl.compiler import ir

from .conditions import condition_change
from .core import (
    BEHAVIOR,
    BREAKING,
    DOCS,
    LOOSER,
    STRICTER,
    Change,
    Conditions,
    _attr_changes,
    _dur,
    _keyed,
    _more,
    _name,
    _num,
    _removed,
    _renames,
    _show,
    _similar,
    _text,
)

# --- stages -------------------------------------------------------------------------------------

def _stages(base: ir.Policy, head: ir.Policy) -> Iterator[Change]:
    old_ids = [s.id for s in base.stages]
    removed, added, kept = _keyed({s.id: s for s in base.stages}, {s.id: s for s in head.stages})
    pairs, removed, added = _renames(removed, added, _stage_alike)
    for old, new in pairs:
        yield Change(BREAKING, "stage", old.id, f"Stage renamed? `{old.id}` -> `{new.id}`: CRM "
                     "stage values and reports need a migration", new.loc.span)
    for s in removed:
        yield _removed(BREAKING, "stage", s.id, f"Stage `{s.id}` removed (owner {s.owner}): "
                       "leads in it and reports on it need a migration", s.loc.span)
    for s in added:
        yield Change(BEHAVIOR, "stage", s.id, f"Stage `{s.id}` added after "
                     f"`{_before(head, s)}` (owner {s.owner})", s.loc.span,
                     conditions=Conditions(None, s.entry and s.entry.expr) if s.entry else None)
    kept_ids = [new.id for _, new in kept]
    if [i for i in old_ids if i in kept_ids] != kept_ids:
        yield Change(BEHAVIOR, "stage", "order", f"Stage order: {' -> '.join(old_ids)} => "
                     f"{' -> '.join(s.id for s in head.stages)}", head.stages[0].loc.span)
    for old, new in kept:
        yield from _stage_changes(base, head, old, new)


def _before(policy: ir.Policy, stage: ir.Stage) -> str:
    return policy.stages[stage.index - 1].id if stage.index else "(start)"


def _stage_alike(a: ir.Stage, b: ir.Stage) -> float:
    same_entry = _text(a.entry) == _text(b.entry)
    score = 0.4 * (a.index == b.index) + 0.3 * same_entry + 0.2 * (a.owner == b.owner)
    return score + 0.3 * (a.label == b.label) + 0.2 * _similar(a.id, b.id)


def _stage_changes(base: ir.Policy, head: ir.Policy, old: ir.Stage, new: ir.Stage
                   ) -> Iterator[Change]:
    title = f"Stage {_name(new.id)}"
    yield from _attr_changes("stage", new.id, title, old, new, (
        ("owner", BEHAVIOR, "owner", None),
        ("max_age", BEHAVIOR, "max age", lambda a, b: _more(_dur(a), _dur(b), higher=LOOSER)),
        ("terminal", BEHAVIOR, "terminal", None),
        ("label", DOCS, "label", None), ("definition", DOCS, "definition", None),
        ("journey", DOCS, "journey stage", None), ("term", DOCS, "term", None)))
    if _text(old.entry) != _text(new.entry):
        yield _entry_change(base, head, old, new)


def _entry_change(base: ir.Policy, head: ir.Policy, old: ir.Stage, new: ir.Stage) -> Change:
    from alignctl.compiler.solver import context_of

    a, b = old.entry and old.entry.expr, new.entry and new.entry.expr
    delta = condition_change(a, b, context_of(base, old.id), context_of(head, new.id),
                             none_is_true=False)
    title = f"{_name(new.id)} entry"
    way = None if delta.same else delta.direction
    suffix = f" ({way})" if way else ""
    return Change(DOCS if delta.same else BEHAVIOR, "stage", new.id,
                  f"{title}: {delta.words}{suffix}", new.loc.of("entry"), way,
                  conditions=Conditions(a, b))


# --- handoffs -----------------------------------------------------------------------------------

def _hkey(h: ir.Handoff) -> str:
    return f"{h.from_stage}->{h.to_stage}"


def _hname(h: ir.Handoff) -> str:
    return f"Handoff {_name(h.from_stage)} -> {_name(h.to_stage)}"


def _handoffs(base: ir.Policy, head: ir.Policy) -> Iterator[Change]:
    removed, added, kept = _keyed({_hkey(h): h for h in base.handoffs},
                                  {_hkey(h): h for h in head.handoffs})
    for h in removed:
        yield _removed(BEHAVIOR, "handoff", _hkey(h), f"{_hname(h)} removed (and its SLA)",
                       h.loc.span)
    for h in added:
        yield Change(BEHAVIOR, "handoff", _hkey(h), f"{_hname(h)} added", h.loc.span)
    for old, new in kept:
        yield from _handoff_changes(old, new)


_SLA = (("accept_within", "accept within", LOOSER), ("first_touch_within", "first touch within",
                                                      LOOSER),
        ("attempts", "attempts", STRICTER), ("over", "attempts over", LOOSER))


def _handoff_changes(old: ir.Handoff, new: ir.Handoff) -> Iterator[Change]:
    title, ident = _hname(new), _hkey(new)
    if old.route != new.route:
        yield Change(BEHAVIOR, "handoff", ident, f"{title}: route {old.route} -> {new.route}",
                     new.loc.of("route"))
    for attr, words, higher in _SLA:
        a, b = (getattr(h.sla, attr, None) if h.sla else None for h in (old, new))
        if a != b:
            way = _more(_dur(a) if isinstance(a, ir.Dur) else a,
                        _dur(b) if isinstance(b, ir.Dur) else b, higher=higher)
            span = new.sla.loc.of(attr) if new.sla else new.loc.span
            yield Change(BEHAVIOR, "handoff", ident, f"{title}: SLA {words} {_show(a)} -> "
                         f"{_show(b)}" + (f" ({way})" if way else ""), span, way)
    yield from _reject_changes(title, ident, old, new)


def _reject_changes(title: str, ident: str, old: ir.Handoff, new: ir.Handoff
                    ) -> Iterator[Change]:
    a = [r for r, _ in old.reject_reasons]
    b = [r for r, _ in new.reject_reasons]
    span = new.loc.of("reject_reasons")
    gone, came = [r for r in a if r not in b], [r for r in b if r not in a]
    if gone:
        yield Change(BEHAVIOR, "handoff", ident, f"{title}: may no longer be rejected as "
                     f"{', '.join(gone)}", span)
    if came:
        yield Change(BEHAVIOR, "handoff", ident, f"{title}: may now be rejected as "
                     f"{', '.join(came)}", span)


# --- disqualification ---------------------------------------------------------------------------

def _disqualification(base: ir.Policy, head: ir.Policy) -> Iterator[Change]:
    a, b = base.disqualification, head.disqualification
    if a is None or b is None:
        if a is not b:
            span = (b or a).loc.span
            words = "added" if b else "removed: leads can no longer be disqualified with a reason"
            yield Change(BREAKING if b is None else BEHAVIOR, "reason", "disqualification",
                         f"Disqualification {words}", span, removed=b is None)
        return
    if a.field != b.field:
        yield Change(BREAKING, "reason", "disqualification.field", f"Disqualification field "
                     f"`{a.field}` -> `{b.field}` (the CRM field is renamed)", b.loc.of("field"))
    if a.max_recycles != b.max_recycles:
        big = float("inf")
        way = _more(big if a.max_recycles is None else a.max_recycles,
                    big if b.max_recycles is None else b.max_recycles, higher=LOOSER)
        yield Change(BEHAVIOR, "reason", "max_recycles", f"Max recycles {_show(a.max_recycles)}"
                     f" -> {_show(b.max_recycles)} ({way})", b.loc.of("max_recycles"), way)
    yield from _reasons(a, b)


def _reasons(a: ir.Disqualification, b: ir.Disqualification) -> Iterator[Change]:
    removed, added, kept = _keyed(a.reasons, b.reasons)
    pairs, removed, added = _renames(removed, added, _reason_alike)
    for old, new in pairs:
        yield Change(BREAKING, "reason", old.id, f"Reason renamed? `{old.id}` -> `{new.id}`: "
                     "records holding it need a migration", new.loc.span)
    for r in removed:
        yield _removed(BREAKING, "reason", r.id, f"Reason `{r.id}` removed ({r.label})",
                       r.loc.span)
    for r in added:
        yield Change(BEHAVIOR, "reason", r.id, f"Reason `{r.id}` added ({r.label}; "
                     f"{_recycle_words(r.recycle)})", r.loc.span)
    for old, new in kept:
        yield from _reason_changes(old, new)


def _reason_alike(a: ir.Reason, b: ir.Reason) -> float:
    label = 0.6 if a.label == b.label else 0.3 * _similar(a.label, b.label)
    return label + 0.2 * (_recycle_words(a.recycle) == _recycle_words(b.recycle)) \
        + 0.3 * _similar(a.id, b.id)


def _recycle_words(r: ir.Recycle | None) -> str:
    if r is None:
        return "no recycle rule"
    if r.never:
        return "never recycled"
    when = f"after {r.after.text}" if r.after else \
        f"{r.lead_time.text if r.lead_time else '0d'} before {r.before}"
    return f"recycled to {r.to} {when}"


def _recycle_way(a: ir.Recycle | None, b: ir.Recycle | None) -> str | None:
    never_a, never_b = a is None or a.never, b is None or b.never
    if never_a != never_b:
        return LOOSER if never_a else STRICTER
    if never_a or a.after is None or b.after is None:
        return None
    return _more(a.after.seconds, b.after.seconds, higher=STRICTER)


def _reason_changes(old: ir.Reason, new: ir.Reason) -> Iterator[Change]:
    title = f"Reason `{new.id}`"
    a, b = _recycle_words(old.recycle), _recycle_words(new.recycle)
    if a != b:
        way = _recycle_way(old.recycle, new.recycle)
        yield Change(BEHAVIOR, "reason", new.id, f"{title}: {a} -> {b}" +
                     (f" ({way})" if way else ""), new.loc.of("recycle"), way)
    yield from _attr_changes("reason", new.id, title, old, new, (
        ("label", DOCS, "label", None), ("description", DOCS, "description", None)))


# --- plan ---------------------------------------------------------------------------------------

def _plan(base: ir.Policy, head: ir.Policy) -> Iterator[Change]:
    if base.meta.period != head.meta.period:
        yield Change(BEHAVIOR, "plan", "period", f"Planning period {base.meta.period} -> "
                     f"{head.meta.period}: every volume and capacity is read per "
                     f"{head.meta.period}", head.meta.loc.of("period"))
    a, b = base.plan, head.plan
    if a is None or b is None:
        if a is not b:
            yield Change(BEHAVIOR, "plan", "plan", f"Plan {'added' if b else 'removed'}",
                         (b or a).loc.span, removed=b is None)
        return
    yield from _plan_money(a, b)
    for section, words in (("volumes", "volume at"), ("conversion", "conversion from"),
                           ("commitments", "commitment at")):
        yield from _plan_section(base, head, section, words)
    yield from _won_effect(base, head)


def _plan_money(a: ir.Plan, b: ir.Plan) -> Iterator[Change]:
    ta, tb = a.revenue_target, b.revenue_target
    if ta != tb:
        yield Change(BEHAVIOR, "plan", "revenue_target", f"Revenue target {_money(ta)} -> "
                     f"{_money(tb)}", b.loc.of("revenue_target"))
    if a.average_deal_size != b.average_deal_size:
        yield Change(BEHAVIOR, "plan", "average_deal_size", f"Average deal size "
                     f"{_num(a.average_deal_size)} -> {_num(b.average_deal_size)}",
                     b.loc.of("average_deal_size"))


def _money(t: ir.RevenueTarget | None) -> str:
    return "none" if t is None else f"{_num(t.amount)} {t.currency} per {t.per}"


def _plan_section(base: ir.Policy, head: ir.Policy, section: str, words: str
                  ) -> Iterator[Change]:
    a, b = getattr(base.plan, section), getattr(head.plan, section)
    for stage in dict.fromkeys([*a, *b]):
        x, y = a.get(stage), b.get(stage)
        if x == y:
            continue
        way = _more(x, y, higher=STRICTER) if section == "commitments" else None
        unit = "" if section == "conversion" else f"/{head.meta.period}"
        text = f"Plan: {words} {_name(stage)} {_num(x)} -> {_num(y)}{unit}"
        span = head.plan.loc.of(f"{section}.{stage}") if y is not None else head.plan.loc.span
        yield Change(BEHAVIOR, "plan", f"{section}.{stage}", text + (f" ({way})" if way else ""),
                     span, way)


def _won_effect(base: ir.Policy, head: ir.Policy) -> Iterator[Change]:
    """What the plan changes add up to: expected new customers per period, when computable."""
    try:
        from alignctl.compiler.plan import expected_volumes, won_stage

        won = won_stage(head)
        x, y = (expected_volumes(p).get(won.id) for p in (base, head))
    except Exception:  # noqa: BLE001 - the arithmetic is a courtesy; the changes stand without it
        return
    if x is None or y is None or round(x.value, 2) == round(y.value, 2):
        return
    pa, pb = base.meta.period, head.meta.period
    yield Change(BEHAVIOR, "plan", f"expected.{won.id}", f"Plan: expected volume at "
                 f"{_name(won.id)} (won) {_num(x.value)}/{pa} -> {_num(y.value)}/{pb}",
                 head.plan.loc.span)


DIFFERS = (_stages, _handoffs, _disqualification, _plan)
