"""Diffs of the scoring models: their settings, grades and rules, with a direction each."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from alignctl.compiler import ir
from alignctl.policy.diagnostics import Span

from .conditions import condition_change
from .core import (
    BEHAVIOR,
    BREAKING,
    DOCS,
    FLIP,
    LOOSER,
    STRICTER,
    Change,
    Conditions,
    _attr_changes,
    _dur,
    _keyed,
    _more,
    _removed,
    _renames,
    _show,
    _text,
)


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


DIFFERS = (_models,)
