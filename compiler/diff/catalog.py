"""Diffs of the policy's named things: teams and capacity, fields, events, terms, targets."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from alignctl.compiler import ir
from alignctl.policy.codes import CODES
from alignctl.policy.diagnostics import Span
from alignctl.policy.english import default_label

from .core import (
    BEHAVIOR,
    BREAKING,
    DOCS,
    Change,
    _attr_changes,
    _ids,
    _keyed,
    _name,
    _num,
    _removed,
    _renames,
    _show,
    _similar,
)

# --- teams and capacity -------------------------------------------------------------------------

def _teams(base: ir.Policy, head: ir.Policy) -> Iterator[Change]:
    removed, added, kept = _keyed(base.teams, head.teams)
    pairs, removed, added = _renames(removed, added, _team_alike)
    for old, new in pairs:
        yield Change(BREAKING, "team", old.id, f"Team renamed? `{old.id}` -> `{new.id}`: "
                     "owners and approvals that name it need a migration", new.loc.span)
    for t in removed:
        yield _removed(BREAKING, "team", t.id, f"Team `{t.id}` removed ({_team_uses(base, t.id)})",
                       t.loc.span)
    for t in added:
        yield Change(BEHAVIOR, "team", t.id, f"Team `{t.id}` added ({t.kind})", t.loc.span)
    for old, new in kept:
        yield from _team_changes(base, head, old, new)


def _team_alike(a: ir.Team, b: ir.Team) -> float:
    same = (a.kind, a.reps, a.capacity, a.lead) == (b.kind, b.reps, b.capacity, b.lead)
    return 1.0 if same else 0.0


def _team_uses(policy: ir.Policy, team: str) -> str:
    owns = [s.id for s in policy.stages if s.owner == team]
    fields = [f.id for f in policy.fields.values() if f.owner == team]
    parts = [f"owned stages {', '.join(owns)}" if owns else "",
             f"owned {len(fields)} field{'s' * (len(fields) != 1)}" if fields else ""]
    return "; ".join(p for p in parts if p) or "no stage or field named it"


def _team_changes(base: ir.Policy, head: ir.Policy, old: ir.Team, new: ir.Team
                  ) -> Iterator[Change]:
    title = f"Team {_name(new.id)}"
    yield from _attr_changes("team", new.id, title, old, new, (
        ("kind", BEHAVIOR, "kind", None), ("label", DOCS, "label", None),
        ("lead", DOCS, "lead", None), ("description", DOCS, "description", None)))
    if (old.reps, old.capacity) != (new.reps, new.capacity):
        yield _capacity_change(base, head, old, new)


def _capacity_change(base: ir.Policy, head: ir.Policy, old: ir.Team, new: ir.Team) -> Change:
    parts = []
    if old.reps != new.reps:
        parts.append(f"{_show(old.reps)} -> {_show(new.reps)} reps")
    for attr, unit in (("hours_per_rep", "h per rep"), ("minutes_per_lead", "min per lead"),
                       ("leads_per_rep", "leads per rep")):
        a, b = (getattr(t.capacity, attr, None) for t in (old, new))
        if a != b:
            parts.append(f"{_show(a)} -> {_show(b)} {unit}")
    a, b = old.capacity_per_period(), new.capacity_per_period()
    pa, pb = base.meta.period, head.meta.period
    total = f" ({_num(a)} -> {_num(b)} leads/{pb})" if pa == pb else \
        f" ({_num(a)} leads/{pa} -> {_num(b)} leads/{pb})"
    total = total if a != b else ""
    span = new.loc.of("reps") if old.reps != new.reps else new.loc.of("capacity")
    return Change(BEHAVIOR, "capacity", new.id,
                  f"{_name(new.id)} capacity: {', '.join(parts)}{total}", span)


# --- fields -------------------------------------------------------------------------------------

def _fields(base: ir.Policy, head: ir.Policy) -> Iterator[Change]:
    removed, added, kept = _keyed(base.fields, head.fields)
    pairs, removed, added = _renames(removed, added, _field_alike)
    for old, new in pairs:
        yield Change(BREAKING, "field", old.id, f"Field renamed? `{old.id}` -> `{new.id}` "
                     f"({new.type}): existing values need a migration", new.loc.span)
    for f in removed:
        yield _removed(BREAKING, "field", f.id, f"Field `{f.id}` removed ({f.type})", f.loc.span)
    for f in added:
        owner = f", owner {f.owner}" if f.owner else ""
        yield Change(BEHAVIOR, "field", f.id, f"Field `{f.id}` added ({f.type}{owner})",
                     f.loc.span)
    for old, new in kept:
        yield from _field_changes(old, new)


def _field_alike(a: ir.Field, b: ir.Field) -> float:
    if a.type != b.type:
        return 0.0
    if a.values and a.values == b.values:
        return 1.0
    if a.label == b.label and a.label != default_label(a.id):
        return 0.9
    return max(_similar(a.id, b.id), _similar(a.label.lower(), b.label.lower())) * 0.9


def _field_changes(old: ir.Field, new: ir.Field) -> Iterator[Change]:
    title = f"Field `{new.id}`"
    if old.type != new.type:
        yield Change(BREAKING, "field", new.id, f"{title}: type {old.type} -> {new.type} "
                     "(the CRM field must be migrated)", new.loc.of("type"))
    if new.required and not old.required:
        yield Change(BREAKING, "field", new.id, f"{title}: now required (records without a "
                     "value become invalid)", new.loc.of("required"))
    elif old.required and not new.required:
        yield Change(BEHAVIOR, "field", new.id, f"{title}: no longer required",
                     new.loc.of("required"))
    yield from _attr_changes("field", new.id, title, old, new, (
        ("owner", BEHAVIOR, "owner", None), ("source", DOCS, "source", None),
        ("label", DOCS, "label", None), ("description", DOCS, "description", None)))
    yield from _values_changes("field", new.id, title, old.values, new.values,
                               old.loc.of("values"), new.loc.of("values"))
    yield from _binding_changes(old, new, title)


def _binding_changes(old: ir.Field, new: ir.Field, title: str) -> Iterator[Change]:
    """A changed `crm:` binding moves the field's data to another CRM field."""
    was, now = dict(old.crm), dict(new.crm)
    for platform in sorted(set(was) | set(now)):
        x, y = was.get(platform, "automatic"), now.get(platform, "automatic")
        if x != y:
            words = {None: "a field of its own", "automatic": "bound automatically"}
            yield Change(BREAKING, "field", new.id,
                         f"{title}: {platform} field {words.get(x, f'`{x}`')} -> "
                         f"{words.get(y, f'`{y}`')} (its data must be moved)",
                         new.crm_loc.of(platform) if new.crm_loc else new.loc.span)


def _values_changes(area: str, ident: str, title: str, old: Sequence[ir.EnumValue],
                    new: Sequence[ir.EnumValue], old_span: Span, new_span: Span
                    ) -> Iterator[Change]:
    """Enum values: removals are breaking (records hold them), additions behaviour, labels docs."""
    removed, added, kept = _keyed({v.id: v for v in old}, {v.id: v for v in new})
    pairs, removed, added = _renames(removed, added, _value_alike)
    for a, b in pairs:
        yield Change(BREAKING, area, f"{ident}.{a.id}", f"{title}: value renamed? `{a.id}` -> "
                     f"`{b.id}` (records holding `{a.id}` need a migration)", b.span or new_span)
    for v in removed:
        yield Change(BREAKING, area, f"{ident}.{v.id}", f"{title}: value `{v.id}` removed",
                     new_span if new else old_span, removed=not new)
    for v in added:
        yield Change(BEHAVIOR, area, f"{ident}.{v.id}", f"{title}: value `{v.id}` added",
                     v.span or new_span)
    for a, b in kept:
        if a.label != b.label:
            yield Change(DOCS, area, f"{ident}.{a.id}", f"{title}: value `{a.id}` label "
                         f"{a.label} -> {b.label}", b.span or new_span)


def _value_alike(a: ir.EnumValue, b: ir.EnumValue) -> float:
    if a.label == b.label and a.label != default_label(a.id) \
            and a.label != a.id.replace("_", " ").capitalize():
        return 1.0
    return _similar(a.id, b.id) * 0.9


# --- events -------------------------------------------------------------------------------------

def _events(base: ir.Policy, head: ir.Policy) -> Iterator[Change]:
    removed, added, kept = _keyed(base.events, head.events)
    pairs, removed, added = _renames(removed, added, _event_alike)
    for old, new in pairs:
        yield Change(BREAKING, "event", old.id, f"Event renamed? `{old.id}` -> `{new.id}`: "
                     "trackers and stored events need a migration", new.loc.span)
    for e in removed:
        yield _removed(BREAKING, "event", e.id, f"Event `{e.id}` removed", e.loc.span)
    for e in added:
        yield Change(BEHAVIOR, "event", e.id, f"Event `{e.id}` added", e.loc.span)
    for old, new in kept:
        yield from _event_changes(old, new)


def _event_alike(a: ir.Event, b: ir.Event) -> float:
    if a.properties and _prop_shape(a) == _prop_shape(b):
        return 1.0
    return _similar(a.id, b.id) * 0.9 if _prop_shape(a) == _prop_shape(b) else 0.0


def _prop_shape(e: ir.Event) -> tuple:
    return tuple((p.id, p.type, p.values) for p in e.properties.values())


def _event_changes(old: ir.Event, new: ir.Event) -> Iterator[Change]:
    title = f"Event `{new.id}`"
    yield from _attr_changes("event", new.id, title, old, new, (
        ("label", DOCS, "label", None), ("description", DOCS, "description", None)))
    removed, added, kept = _keyed(old.properties, new.properties)
    for p in removed:
        yield Change(BREAKING, "event", f"{new.id}.{p.id}", f"{title}: property `{p.id}` "
                     "removed", new.loc.span)
    for p in added:
        yield Change(BEHAVIOR, "event", f"{new.id}.{p.id}", f"{title}: property `{p.id}` "
                     f"added ({p.type})", p.loc.span)
    for a, b in kept:
        yield from _property_changes(new, a, b)


def _property_changes(event: ir.Event, a: ir.Property, b: ir.Property) -> Iterator[Change]:
    title = f"Event `{event.id}`, property `{b.id}`"
    ident = f"{event.id}.{b.id}"
    if a.type != b.type:
        yield Change(BREAKING, "event", ident, f"{title}: type {a.type} -> {b.type}",
                     b.loc.of("type"))
    if a.label != b.label:
        yield Change(DOCS, "event", ident, f"{title}: label {a.label} -> {b.label}", b.loc.span)
    yield from _values_changes("event", ident, title, a.values, b.values, a.loc.of("values"),
                               b.loc.of("values"))


# --- terms --------------------------------------------------------------------------------------

def _terms(base: ir.Policy, head: ir.Policy) -> Iterator[Change]:
    removed, added, kept = _keyed(base.terms, head.terms)
    for t in removed:
        yield _removed(DOCS, "term", t.id, f"Term `{t.id}` removed (was approved by "
                       f"{_ids(t.approved_by)})", t.loc.span)
    for t in added:
        yield Change(DOCS, "term", t.id, f"Term `{t.id}` added, approved by "
                     f"{_ids(t.approved_by)}", t.loc.span)
    for old, new in kept:
        change = _term_change(old, new)
        if change is not None:
            yield change


def _term_change(old: ir.Term, new: ir.Term) -> Change | None:
    """One change per term, ending with who approved it before and after."""
    parts = [words for attr, words in (("name", f"name {old.name} -> {new.name}"),
                                       ("definition", "definition reworded"),
                                       ("aliases", "aliases changed"))
             if getattr(old, attr) != getattr(new, attr)]
    a, b = _ids(old.approved_by), _ids(new.approved_by)
    if not parts and a == b:
        return None
    parts.append(f"approved by {a} -> {b}" if a != b else f"approved by {a} (unchanged)")
    reworded = old.definition != new.definition
    return Change(DOCS, "term", new.id, f"Term `{new.id}`: {'; '.join(parts)}",
                  new.loc.of("definition" if reworded else "approved_by"),
                  wording=(old.definition, new.definition) if reworded else None)


# --- targets ------------------------------------------------------------------------------------

def _targets(base: ir.Policy, head: ir.Policy) -> Iterator[Change]:
    a, b = base.targets, head.targets
    for attr, words, kind in (("crm_prefix", "CRM API-name prefix", BREAKING),
                              ("crm_object", "CRM object", BREAKING)):
        x, y = getattr(a, attr), getattr(b, attr)
        if x != y:
            yield Change(kind, "target", attr, f"{words} `{x}` -> `{y}`: every generated CRM "
                         "field is renamed", b.loc.of("crm"))
    if a.crm_convert_at != b.crm_convert_at:
        yield Change(BREAKING, "target", "crm_convert_at",
                     f"Lead conversion `{a.crm_convert_at or 'at the won stage'}` -> "
                     f"`{b.crm_convert_at or 'at the won stage'}`: lead statuses and the "
                     "fields on the opportunity change", b.loc.of("crm"))
    for attr, words, key in (("crm_platforms", "CRM platforms", "crm"),
                             ("scoring_dialects", "scoring dialects", "scoring"),
                             ("docs_formats", "docs formats", "docs")):
        x, y = getattr(a, attr), getattr(b, attr)
        gone, came = [v for v in x if v not in y], [v for v in y if v not in x]
        if gone or came:
            parts = ([f"removed {', '.join(gone)}"] if gone else []) + \
                ([f"added {', '.join(came)}"] if came else [])
            yield Change(BEHAVIOR, "target", attr, f"Targets: {words} {'; '.join(parts)}",
                         b.loc.of(key))


# --- check severities ---------------------------------------------------------------------------

_RANK = {"off": 0, "warning": 1, "error": 2}


def _severities(base: ir.Policy, head: ir.Policy) -> Iterator[Change]:
    """`checks.severity` overrides: what makes the policy's own CI fail."""
    for code in sorted(set(base.severity) | set(head.severity)):
        x = base.severity.get(code, CODES[code].severity.value)
        y = head.severity.get(code, CODES[code].severity.value)
        if x == y:
            continue
        in_head = code in head.severity
        loc = head.severity_loc if in_head else base.severity_loc
        direction = "stricter" if _RANK[y] > _RANK[x] else "looser"
        yield Change(BEHAVIOR, "policy", code, f"Check {code} ({CODES[code].summary}): "
                     f"{x} -> {y} ({direction})", loc.of(code), removed=not in_head,
                     direction=direction)


DIFFERS = (_teams, _fields, _events, _terms, _targets, _severities)
