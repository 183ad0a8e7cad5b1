"""Score bounds: the least and most a lead can score on each model, and on `score`.

Fit models add the heaviest set of rules that may all fire at once (rules proved mutually
exclusive by `compiler.solver` are not counted together); engagement models add each rule's
reach over all occurrences; `min` and `cap` clamp both sides. See docs/reasoning.md.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

from alignctl.policy.expr_ast import Ref

from . import ir
from .solver import NO, TRUE, excludes, formula, keys_of, satisfiable

INF = math.inf
GROUP = 10             # rules compared pairwise for mutual exclusion, per group


@dataclass(frozen=True)
class Bounds:
    """The least and most a lead can score, the parts each sum is made of, and before clamping."""

    lo: float
    hi: float
    lo_parts: tuple[tuple[str, float], ...] = ()
    hi_parts: tuple[tuple[str, float], ...] = ()
    raw_lo: float = 0
    raw_hi: float = 0
    hi_left_out: tuple[str, ...] = ()   # rules that can fire, but not together with hi_parts


_BOUNDS: dict[int, tuple[ir.Model, Bounds]] = {}


def model_bounds(model: ir.Model, policy: ir.Policy | None = None) -> tuple[float, float]:
    """(least, most) a lead can score on `model`; infinite where nothing bounds it."""
    b = bounds_of(model)
    return b.lo, b.hi


def bounds_of(model: ir.Model) -> Bounds:
    """The bounds of one model, computed once per model object."""
    hit = _BOUNDS.get(id(model))
    if hit is not None and hit[0] is model:
        return hit[1]
    if len(_BOUNDS) > 256:
        _BOUNDS.clear()
    try:
        found = _fit_bounds(model) if model.kind == "fit" else _engagement_bounds(model)
    except Exception:  # noqa: BLE001 - no answer is better than a crash
        found = Bounds(-INF, INF, raw_lo=-INF, raw_hi=INF)
    _BOUNDS[id(model)] = (model, found)
    return found


def score_bounds(policy: ir.Policy) -> Bounds:
    """Bounds of `score`, the sum of all models."""
    parts = [(m.id, bounds_of(m)) for m in policy.models.values()]
    return Bounds(sum(b.lo for _, b in parts), sum(b.hi for _, b in parts),
                  tuple((mid, b.lo) for mid, b in parts), tuple((mid, b.hi) for mid, b in parts),
                  sum(b.lo for _, b in parts), sum(b.hi for _, b in parts))


def ref_bounds(ref: Ref, policy: ir.Policy) -> Bounds | None:
    """Bounds of a model or `score` reference; None for anything else."""
    if ref.kind == "score":
        return score_bounds(policy)
    model = policy.models.get(ref.name) if ref.kind == "model" else None
    return bounds_of(model) if model is not None else None


def _clamped(model: ir.Model, lo: tuple, hi: tuple) -> Bounds:
    """Bounds from the (total, parts) of each side, clamped to [min, cap]."""
    def clamp(x: float) -> float:
        x = max(x, model.min) if model.min is not None else x
        return min(x, model.cap) if model.cap is not None else x
    return Bounds(clamp(lo[0]), clamp(hi[0]), lo[1], hi[1], lo[0], hi[0])


def can_fire(rule: ir.Rule) -> bool:
    """False only when the rule's condition is proved unsatisfiable."""
    cond = rule.when if rule.when is not None else rule.where
    return cond is None or satisfiable(cond.expr) is not NO


def _engagement_bounds(model: ir.Model) -> Bounds:
    ups, downs = [], []
    for rule in model.rules:
        if rule.points and can_fire(rule):
            (ups if rule.points > 0 else downs).append((rule.id, _reach(rule)))
    lo = (-sum(r for _, r in downs), tuple((i, -r) for i, r in downs))
    return _clamped(model, lo, (sum(r for _, r in ups), tuple(ups)))


def _reach(rule: ir.Rule) -> float:
    """The most one engagement rule can add (in the direction of its points) over all
    occurrences: `max` bounds its size, `once` counts the first occurrence only."""
    size = abs(rule.points) if rule.once else INF
    return min(size, abs(rule.max)) if rule.max is not None else size


def _fit_bounds(model: ir.Model) -> Bounds:
    live = [r for r in model.rules if can_fire(r)]
    ups = [r for r in live if r.points > 0]
    hi = _heaviest_together(ups)
    lo = _heaviest_together([r for r in live if r.points < 0])
    found = _clamped(model, (-lo[0], tuple((i, -p) for i, p in lo[1])), hi)
    counted = {i for i, _ in hi[1]}
    return replace(found, hi_left_out=tuple(r.id for r in ups if r.id not in counted))


def _rule_formula(rule: ir.Rule) -> tuple:
    return formula(rule.when.expr) if rule.when is not None else TRUE


def _heaviest_together(rules: list[ir.Rule]) -> tuple[float, tuple]:
    """The most |points| rules that may all fire at once can add: rules sharing no variable are
    independent; within a group of GROUP rules, pairs that cannot both fire are left out."""
    chosen: list[ir.Rule] = []
    for group in _groups(rules):
        for start in range(0, len(group), GROUP):
            chosen.extend(_best_subset(group[start:start + GROUP]))
    position = {id(r): i for i, r in enumerate(rules)}
    chosen.sort(key=lambda r: position[id(r)])
    return sum(abs(r.points) for r in chosen), tuple((r.id, abs(r.points)) for r in chosen)


def _groups(rules: list[ir.Rule]) -> list[list[ir.Rule]]:
    """Rules joined when their conditions share a variable (union-find over variable keys)."""
    parent: dict[Any, Any] = {}

    def root(x: Any) -> Any:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, rule in enumerate(rules):
        for key in keys_of(_rule_formula(rule)):
            parent[root(("rule", i))] = root(key)
    out: dict[Any, list] = defaultdict(list)
    for i, rule in enumerate(rules):
        out[root(("rule", i))].append(rule)
    return list(out.values())


def _best_subset(rules: list[ir.Rule]) -> list[ir.Rule]:
    """The heaviest subset with no pair proved unable to fire together (branch and bound)."""
    fs = [_rule_formula(r) for r in rules]
    keys = [keys_of(f) for f in fs]
    clash = [0] * len(rules)
    for i, j in itertools.combinations(range(len(rules)), 2):
        if keys[i] & keys[j] and excludes(fs[i], fs[j]):
            clash[i] |= 1 << j
            clash[j] |= 1 << i
    weights = [abs(r.points) for r in rules]
    best = _Best(weights, clash)
    best.walk(0, 0, 0, sum(weights))
    return [r for i, r in enumerate(rules) if best.mask >> i & 1]


class _Best:
    """Maximum-weight set of rules with no clashing pair, over a small group."""

    def __init__(self, weights: list[int], clash: list[int]) -> None:
        self.weights, self.clash = weights, clash
        self.order = sorted(range(len(weights)), key=lambda i: -weights[i])
        self.mask, self.total = 0, 0

    def walk(self, k: int, mask: int, total: int, rest: int) -> None:
        if total > self.total:
            self.mask, self.total = mask, total
        if k == len(self.order) or total + rest <= self.total:
            return
        i = self.order[k]
        w = self.weights[i]
        if not self.clash[i] & mask:
            self.walk(k + 1, mask | 1 << i, total + w, rest - w)
        self.walk(k + 1, mask, total, rest - w)

