"""Semantic diff of two policies: every change named by meaning, classified, with a direction.

`diff(base, head)` compares two IRs, never their YAML text, and returns `Change`s:
- **breaking**: removes or renames something data depends on (a stage, a field, an enum value, a
  reason, a model's score field, a team, an event, the CRM naming): records or reports break;
- **behavior**: changes who qualifies, what a lead scores or what the teams commit to, with the
  direction where one applies ("stricter": fewer leads qualify or they score lower);
- **docs**: wording only (labels, definitions, descriptions, a condition rewritten to the same
  meaning).
Pure: no I/O. Rendering lives in `alignctl.commands.diff`.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from alignctl.policy.diagnostics import Diagnostic, Span
from alignctl.policy.english import default_label
from alignctl.policy.expr import to_text
from alignctl.policy.expr_ast import BoolOp, Call, Compare, Expr, Member, Num, Ref

from . import ir

BREAKING, BEHAVIOR, DOCS = "breaking", "behavior", "docs"
KINDS = (BREAKING, BEHAVIOR, DOCS)          # worst first
STRICTER, LOOSER = "stricter", "looser"
FLIP = {STRICTER: LOOSER, LOOSER: STRICTER, None: None}


@dataclass(frozen=True)
class Conditions:
    """A condition before and after, for the reader's details (`on` names an engagement event)."""

    before: Expr | None
    after: Expr | None
    on_before: str | None = None
    on_after: str | None = None


@dataclass(frozen=True)
class Change:
    kind: str                 # breaking | behavior | docs
    area: str                 # stage | field | term | scoring | handoff | capacity | plan | ...
    id: str
    summary: str
    span: Span                # where it is in HEAD; in BASE for a removal
    direction: str | None = None
    removed: bool = False     # `span` points into BASE
    conditions: Conditions | None = None
    wording: tuple[str, str] | None = None   # a reworded text, before and after

    @property
    def line(self) -> int:
        return self.span.line


def diff(base: ir.Policy, head: ir.Policy) -> list[Change]:
    """Every change from `base` to `head`, worst kind first, then in file order."""
    return ordered(c for differ in DIFFERS for c in differ(base, head))


def ordered(changes: Iterable[Change]) -> list[Change]:
    return sorted(changes, key=lambda c: (KINDS.index(c.kind), c.removed, c.span.file,
                                          c.span.line, c.area, c.id, c.summary))


def summary(changes: Iterable[Change]) -> dict[str, int]:
    counts = Counter(c.kind for c in changes)
    return {kind: counts.get(kind, 0) for kind in KINDS}


def worst(changes: Iterable[Change]) -> str | None:
    kinds = {c.kind for c in changes}
    return next((k for k in KINDS if k in kinds), None)


def new_findings(base: Sequence[Diagnostic], head: Sequence[Diagnostic]) -> list[Diagnostic]:
    """HEAD's diagnostics that BASE does not have, matched by code and message (not line)."""
    left = Counter((d.code, d.message) for d in base)
    out = []
    for d in head:
        key = (d.code, d.message)
        if left[key]:
            left[key] -= 1
        else:
            out.append(d)
    return out


# --- building blocks ----------------------------------------------------------------------------

def _name(ident: str) -> str:
    return default_label(ident)


def _ids(items: Iterable[str]) -> str:
    return ", ".join(items) or "nobody"


def _show(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, ir.Dur):
        return value.text
    return str(value)


def _more(old: float | None, new: float | None, *, higher: str) -> str | None:
    """`higher` when new > old, its opposite when new < old; None when either is missing."""
    if old is None or new is None or old == new:
        return None
    return higher if new > old else FLIP[higher]


def _dur(d: ir.Dur | None) -> float | None:
    return None if d is None else d.seconds


def _keyed(base: Mapping, head: Mapping) -> tuple[list, list, list[tuple]]:
    """(removed, added, kept pairs) of two id mappings, in file order."""
    removed = [v for k, v in base.items() if k not in head]
    added = [v for k, v in head.items() if k not in base]
    kept = [(base[k], v) for k, v in head.items() if k in base]
    return removed, added, kept


def _renames(removed: list, added: list, alike: Callable[[object, object], float]
             ) -> tuple[list[tuple], list, list]:
    """Pair removed with added items that look like renames: (pairs, removed rest, added rest)."""
    scored = sorted(((alike(r, a), i, j) for i, r in enumerate(removed)
                     for j, a in enumerate(added)), key=lambda t: (-t[0], t[1], t[2]))
    pairs, used_r, used_a = [], set(), set()
    for score, i, j in scored:
        if score >= 0.5 and i not in used_r and j not in used_a:
            pairs.append((removed[i], added[j]))
            used_r.add(i)
            used_a.add(j)
    rest_r = [r for i, r in enumerate(removed) if i not in used_r]
    rest_a = [a for j, a in enumerate(added) if j not in used_a]
    return pairs, rest_r, rest_a


def _similar(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def _attr_changes(area: str, ident: str, title: str, old, new, attrs: Sequence[tuple],
                  ) -> Iterator[Change]:
    """One change per differing attribute: (attr, kind, words, direction_of(old, new) | None)."""
    for attr, kind, words, direction in attrs:
        a, b = getattr(old, attr), getattr(new, attr)
        if a == b:
            continue
        way = direction(a, b) if direction else None
        text = f"{title}: {words} {_show(a)} -> {_show(b)}" + (f" ({way})" if way else "")
        wording = (a, b) if isinstance(a, str) and isinstance(b, str) and kind == DOCS else None
        if wording and len(a) + len(b) > 60:
            text = f"{title}: {words} reworded"
        yield Change(kind, area, ident, text, new.loc.of(attr), way, wording=wording)


def _removed(kind: str, area: str, ident: str, text: str, span: Span) -> Change:
    return Change(kind, area, ident, text, span, removed=True)


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


def _num(value: float | None) -> str:
    if value is None:
        return "unstated"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


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


def _values_changes(area: str, ident: str, title: str, old: Sequence[ir.EnumValue],
                    new: Sequence[ir.EnumValue], old_span: Span, new_span: Span
                    ) -> Iterator[Change]:
    """Enum values: removals are breaking (records hold them), additions behaviour, labels docs."""
    removed, added, kept = _keyed({v.id: v for v in old}, {v.id: v for v in new})
    pairs, removed, added = _renames(removed, added, _value_alike)
    for a, b in pairs:
        yield Change(BREAKING, area, f"{ident}.{a.id}", f"{title}: value renamed? `{a.id}` -> "
                     f"`{b.id}` (records holding `{a.id}` need a migration)", new_span)
    for v in removed:
        yield Change(BREAKING, area, f"{ident}.{v.id}", f"{title}: value `{v.id}` removed",
                     new_span if new else old_span, removed=not new)
    for v in added:
        yield Change(BEHAVIOR, area, f"{ident}.{v.id}", f"{title}: value `{v.id}` added",
                     new_span)
    for a, b in kept:
        if a.label != b.label:
            yield Change(DOCS, area, f"{ident}.{a.id}", f"{title}: value `{a.id}` label "
                         f"{a.label} -> {b.label}", new_span)


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


# --- scoring ------------------------------------------------------------------------------------

def _models(base: ir.Policy, head: ir.Policy) -> Iterator[Change]:
    removed, added, kept = _keyed(base.models, head.models)
    for m in removed:
        yield _removed(BREAKING, "scoring", m.id, f"Model `{m.id}` removed (its score field "
                       "and every condition on it)", m.loc.span)
    for m in added:
        yield Change(BEHAVIOR, "scoring", m.id, f"Model `{m.id}` added ({m.kind}, "
                     f"{len(m.rules)} rules)", m.loc.span, LOOSER if _net(m) > 0 else None)
    for old, new in kept:
        yield from _model_changes(old, new)
    yield from _rules(base, head)


def _net(m: ir.Model) -> int:
    return sum(r.points for r in m.rules)


def _model_changes(old: ir.Model, new: ir.Model) -> Iterator[Change]:
    title = f"Model `{new.id}`"
    yield from _attr_changes("scoring", new.id, title, old, new, (
        ("kind", BEHAVIOR, "kind", None),
        ("half_life", BEHAVIOR, "decay half-life",
         lambda a, b: _more(_dur(a) or float("inf"), _dur(b) or float("inf"), higher=LOOSER)),
        ("cap", BEHAVIOR, "cap",
         lambda a, b: _more(float("inf") if a is None else a,
                            float("inf") if b is None else b, higher=LOOSER)),
        ("min", BEHAVIOR, "minimum",
         lambda a, b: _more(-float("inf") if a is None else a,
                            -float("inf") if b is None else b, higher=LOOSER)),
        ("label", DOCS, "label", None), ("description", DOCS, "description", None)))
    yield from _grade_changes(old, new)


def _grade_changes(old: ir.Model, new: ir.Model) -> Iterator[Change]:
    a, b = dict(old.grades), dict(new.grades)
    for g in sorted(a.keys() - b.keys()):
        yield Change(BREAKING, "scoring", f"grade.{g}", f"Grade {g} removed (was {old.id} >= "
                     f"{a[g]}); records and conditions holding it need a migration",
                     _grade_span(old, g), removed=True)
    for g in sorted(b.keys() - a.keys()):
        yield Change(BEHAVIOR, "scoring", f"grade.{g}", f"Grade {g} added ({new.id} >= {b[g]})",
                     _grade_span(new, g))
    for g in sorted(a.keys() & b.keys()):
        if a[g] != b[g]:
            way = _more(a[g], b[g], higher=STRICTER)
            yield Change(BEHAVIOR, "scoring", f"grade.{g}", f"Grade {g}: lowest {old.id} score "
                         f"{a[g]} -> {b[g]} ({way})", _grade_span(new, g), way)


def _grade_span(model: ir.Model, grade: str) -> Span:
    return model.loc.attrs.get(f"grades.{grade}") or model.loc.of("grades")


def _all_rules(policy: ir.Policy) -> dict[str, ir.Rule]:
    return {r.id: r for r in policy.rules()}


def _rules(base: ir.Policy, head: ir.Policy) -> Iterator[Change]:
    removed, added, kept = _keyed(_all_rules(base), _all_rules(head))
    removed = [r for r in removed if r.model in head.models]   # a removed model says it already
    pairs, removed, added = _renames(removed, added, _rule_alike)
    for old, new in pairs:
        yield Change(DOCS, "scoring", new.id, f"Rule renamed: `{old.id}` -> `{new.id}` ({new.model},"
                     " same condition and points)", new.loc.span)
    for r in removed:
        way = STRICTER if r.points > 0 else LOOSER
        yield Change(BEHAVIOR, "scoring", r.id, f"Rule `{r.id}` ({r.model}) removed: "
                     f"{r.points:+d} points ({way})", r.loc.span, way, removed=True,
                     conditions=_rule_conditions(r, None))
    for r in added:
        if r.model in base.models:
            way = LOOSER if r.points > 0 else STRICTER
            yield Change(BEHAVIOR, "scoring", r.id, f"Rule `{r.id}` ({r.model}) added: "
                         f"{r.points:+d} points ({way})", r.loc.span, way,
                         conditions=_rule_conditions(None, r))
    for old, new in kept:
        yield from _rule_changes(base, head, old, new)


def _rule_alike(a: ir.Rule, b: ir.Rule) -> float:
    same = (a.model, _text(a.when), a.on, _text(a.where), a.points, a.max, a.once) == \
        (b.model, _text(b.when), b.on, _text(b.where), b.points, b.max, b.once)
    return 1.0 if same else 0.0


def _text(cond: ir.Condition | None) -> str | None:
    return None if cond is None else to_text(cond.expr)


def _rule_conditions(old: ir.Rule | None, new: ir.Rule | None) -> Conditions:
    def expr(r):
        c = None if r is None else (r.when or r.where)
        return None if c is None else c.expr
    return Conditions(expr(old), expr(new), old and old.on, new and new.on)


def _points_way(points: int) -> Callable[[object, object], str | None]:
    """Direction of a change that makes a rule add more (max, once) for its sign of points."""
    return lambda a, b: _more(a, b, higher=LOOSER if points > 0 else STRICTER)


def _rule_changes(base: ir.Policy, head: ir.Policy, old: ir.Rule, new: ir.Rule
                  ) -> Iterator[Change]:
    title = f"Rule `{new.id}` ({new.model})"
    big = float("inf")
    yield from _attr_changes("scoring", new.id, title, old, new, (
        ("model", BEHAVIOR, "model", None),
        ("points", BEHAVIOR, "points", lambda a, b: _more(a, b, higher=LOOSER)),
        ("label", DOCS, "label", None), ("description", DOCS, "description", None)))
    if old.max != new.max:
        way = _points_way(new.points)(big if old.max is None else old.max,
                                      big if new.max is None else new.max)
        yield _attr_change(title, new, "max", f"max {_show(old.max)} -> {_show(new.max)}", way)
    if old.once != new.once:
        way = _points_way(new.points)(int(not old.once), int(not new.once))
        words = "counts the first occurrence only" if new.once else "counts every occurrence"
        yield _attr_change(title, new, "once", f"now {words}", way)
    if old.on != new.on:
        yield _attr_change(title, new, "on", f"event `{old.on}` -> `{new.on}`", None,
                           _rule_conditions(old, new))
    yield from _rule_condition_change(title, old, new)


def _attr_change(title: str, new: ir.Rule, attr: str, words: str, way: str | None,
                 conditions: Conditions | None = None) -> Change:
    suffix = f" ({way})" if way else ""
    return Change(BEHAVIOR, "scoring", new.id, f"{title}: {words}{suffix}", new.loc.of(attr),
                  way, conditions=conditions)


def _rule_condition_change(title: str, old: ir.Rule, new: ir.Rule) -> Iterator[Change]:
    for attr in ("when", "where"):
        a, b = getattr(old, attr), getattr(new, attr)
        if _text(a) == _text(b) or old.on != new.on and attr == "where":
            continue
        delta = condition_change(a and a.expr, b and b.expr)
        way = delta.direction if new.points > 0 else FLIP[delta.direction]
        kind = DOCS if delta.same else BEHAVIOR
        suffix = f" ({way})" if way and not delta.same else ""
        yield Change(kind, "scoring", new.id, f"{title}: {delta.words}{suffix}",
                     new.loc.of(attr), None if delta.same else way,
                     conditions=_rule_conditions(old, new))


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
    from .solver import context_of

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
        from .plan import expected_volumes, won_stage

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


# --- targets ------------------------------------------------------------------------------------

def _targets(base: ir.Policy, head: ir.Policy) -> Iterator[Change]:
    a, b = base.targets, head.targets
    for attr, words, kind in (("crm_prefix", "CRM API-name prefix", BREAKING),
                              ("crm_object", "CRM object", BREAKING)):
        x, y = getattr(a, attr), getattr(b, attr)
        if x != y:
            yield Change(kind, "target", attr, f"{words} `{x}` -> `{y}`: every generated CRM "
                         "field is renamed", b.loc.of("crm"))
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


DIFFERS: tuple[Callable[[ir.Policy, ir.Policy], Iterator[Change]], ...] = (
    _teams, _fields, _events, _terms, _models, _stages, _handoffs, _disqualification, _plan,
    _targets,
)


# --- conditions: what changed, in words, and in which direction ---------------------------------

@dataclass(frozen=True)
class Delta:
    words: str
    direction: str | None      # stricter: the new condition holds for fewer leads
    same: bool = False         # rewritten, same meaning


_UP = {">=": STRICTER, ">": STRICTER, "<=": LOOSER, "<": LOOSER}
_MIRROR = {">=": "<=", ">": "<", "<=": ">=", "<": ">", "==": "==", "!=": "!="}


def condition_change(old: Expr | None, new: Expr | None, ctx_old=None, ctx_new=None, *,
                     none_is_true: bool = True) -> Delta:
    """How `old` became `new`: named parts, and the direction (solver first, then the parts)."""
    if old is None or new is None:
        shown = to_text(new if old is None else old)
        words = f"condition added `{shown}`" if old is None else f"condition `{shown}` removed"
        way = (STRICTER if old is None else LOOSER) if none_is_true else None
        return Delta(words, way)
    verdict = _solver_direction(old, new, ctx_old, ctx_new)
    if verdict == "same":
        return Delta(f"condition rewritten with the same meaning (`{to_text(new)}`)", None, True)
    words, parts_way = _parts(old, new)
    return Delta(words, verdict if verdict != "unknown" else parts_way)


def _solver_direction(old: Expr, new: Expr, ctx_old, ctx_new) -> str | None:
    """'same', stricter, looser, None (changed both ways) or 'unknown'."""
    from .solver import YES, Context, implies

    ctx_old = ctx_old or Context()
    ctx_new = ctx_new or ctx_old
    narrower = implies(new, old, ctx_new, ctx_old)
    wider = implies(old, new, ctx_old, ctx_new)
    if narrower is YES and wider is YES:
        return "same"
    if narrower is YES:
        return STRICTER
    if wider is YES:
        return LOOSER
    known = {narrower.value, wider.value} == {"no"}
    return None if known else "unknown"


def _conjuncts(e: Expr) -> list[Expr]:
    return list(e.operands) if isinstance(e, BoolOp) and e.op == "and" else [e]


def _parts(old: Expr, new: Expr) -> tuple[str, str | None]:
    """Words for each conjunct that changed; a direction when every part agrees on one."""
    a, b = _conjuncts(old), _conjuncts(new)
    ta, tb = {to_text(x) for x in a}, {to_text(x) for x in b}
    gone = [x for x in a if to_text(x) not in tb]
    came = [x for x in b if to_text(x) not in ta]
    words, ways = [], []
    for x in list(gone):
        y = next((y for y in came if _subject(x) is not None and _subject(x) == _subject(y)), None)
        if y is not None:
            w, way = _pair(x, y)
            words.append(w)
            ways.append(way)
            gone.remove(x)
            came.remove(y)
    if len(a) == len(b) == len(gone) == len(came) == 1:
        return f"condition `{to_text(old)}` -> `{to_text(new)}`", None
    if gone:
        words.append(f"no longer requires {_listed(gone)}")
    if came:
        words.append(f"now also requires {_listed(came)}")
    ways += [LOOSER] * len(gone) + [STRICTER] * len(came)
    direction = ways[0] if ways and len(set(ways)) == 1 else None
    return "; ".join(words) or "condition changed", direction


def _listed(parts: list[Expr]) -> str:
    items = [f"`{to_text(p)}`" for p in parts]
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _oriented(e: Expr) -> tuple[Expr, str, Expr] | None:
    """A comparison as (subject, op, number), the number on the right."""
    if not isinstance(e, Compare):
        return None
    if isinstance(e.left, Num) and not isinstance(e.right, Num):
        return e.right, _MIRROR[e.op], e.left
    return (e.left, e.op, e.right) if isinstance(e.right, Num) else None


def _subject(e: Expr) -> tuple | None:
    """What a conjunct constrains: comparisons on one term, and memberships, pair up."""
    found = _oriented(e)
    if found is not None:
        subject, op, _ = found
        return ("cmp", to_text(subject), _UP.get(op, op))
    if isinstance(e, Member):
        return ("in", to_text(e.left), e.negated)
    if isinstance(e, Compare) and isinstance(e.left, Call | Ref):
        return ("cmp", to_text(e.left), _UP.get(e.op, e.op))
    return None


def _pair(x: Expr, y: Expr) -> tuple[str, str | None]:
    if isinstance(x, Member) and isinstance(y, Member):
        return _member_pair(x, y)
    ox, oy = _oriented(x), _oriented(y)
    if ox is None or oy is None or ox[1] != oy[1]:
        return f"`{to_text(x)}` -> `{to_text(y)}`", None
    subject, op, a = ox
    b = oy[2]
    name = subject.name if isinstance(subject, Ref) else f"`{to_text(subject)}`"
    what = {">=": "threshold", ">": "threshold", "<=": "upper bound", "<": "upper bound"}
    if op in what:
        way = _more(a.value, b.value, higher=_UP[op])
        return f"{name} {what[op]} {to_text(a)} -> {to_text(b)}", way
    return f"`{to_text(x)}` -> `{to_text(y)}`", None


def _member_pair(x: Member, y: Member) -> tuple[str, str | None]:
    va = [to_text(i) for i in x.items.items]
    vb = [to_text(i) for i in y.items.items]
    gone, came = [v for v in va if v not in vb], [v for v in vb if v not in va]
    parts = ([f"no longer {', '.join(gone)}"] if gone else []) + \
        ([f"now also {', '.join(came)}"] if came else [])
    way = STRICTER if gone and not came else LOOSER if came and not gone else None
    if x.negated:
        way = FLIP[way]
    op = "not in" if x.negated else "in"
    return f"`{to_text(x.left)} {op}`: {'; '.join(parts) or 'reordered'}", way


# --- comments: the policy's own prose, which the IR does not keep -------------------------------

SECTION_AREAS = {"teams": "team", "fields": "field", "events": "event", "terms": "term",
                 "scoring": "scoring", "stages": "stage", "handoffs": "handoff",
                 "disqualification": "reason", "plan": "plan", "targets": "target"}
_TOP_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:")


def comment_changes(base: Mapping[str, str], head: Mapping[str, str],
                    files: Iterable[tuple[str, str]]) -> list[Change]:
    """Docs changes for reworded comments, one per section, in each (base, head) file pair."""
    out = []
    for old_file, new_file in files:
        out += _file_comments(old_file, base.get(old_file, ""), new_file, head.get(new_file, ""))
    return out


def _file_comments(old_file: str, old: str, new_file: str, new: str) -> list[Change]:
    a, b = _comments(old), _comments(new)
    matcher = difflib.SequenceMatcher(None, [t for _, t, _ in a], [t for _, t, _ in b],
                                      autojunk=False)
    touched: dict[str, list[tuple[int, bool]]] = {}
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        for line, _, section in b[j1:j2]:
            touched.setdefault(section, []).append((line, False))
        for line, _, section in a[i1:i2] if i1 < i2 and j1 == j2 else ():
            touched.setdefault(section, []).append((line, True))
    return [_comment_change(section, lines, old_file, new_file)
            for section, lines in touched.items()]


def _comment_change(section: str, lines: list[tuple[int, bool]], old_file: str,
                    new_file: str) -> Change:
    first, removed = min(lines)
    n = len(lines)
    where = f"`{section}`" if section in SECTION_AREAS else "the policy header"
    return Change(DOCS, SECTION_AREAS.get(section, "plan"), f"comments.{section}",
                  f"Comments in {where} changed ({n} line{'s' * (n != 1)})",
                  Span.point(old_file if removed else new_file, first, 1), removed=removed)


def _comments(text: str) -> list[tuple[int, str, str]]:
    """(line, comment text, top-level section it documents) for every comment in `text`."""
    lines = text.splitlines()
    sections = _sections(lines)
    out = []
    for i, line in enumerate(lines):
        comment = _comment_of(line)
        if comment and comment.strip("#-=_ "):
            out.append((i + 1, comment, sections[i]))
    return out


def _sections(lines: list[str]) -> list[str]:
    """The top-level key each line belongs to; a comment block above a key belongs to it."""
    owner, current = [""] * len(lines), ""
    for i, line in enumerate(lines):
        match = _TOP_KEY.match(line)
        current = match.group(1) if match else current
        owner[i] = current
    pending = None
    for i in range(len(lines) - 1, -1, -1):
        match = _TOP_KEY.match(lines[i])
        stripped = lines[i].strip()
        if match:
            pending = match.group(1)
        elif pending and (not stripped or lines[i].startswith("#")):
            owner[i] = pending
        else:
            pending = None
    return owner


def _comment_of(line: str) -> str | None:
    """The comment on a YAML line (outside quotes), stripped; None when there is none."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"" and (i == 0 or line[i - 1] in " :[{,-"):
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[i + 1:].strip()
    return None
