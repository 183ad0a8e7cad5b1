"""The reference evaluator: scores one lead from `scoring.json`, as of a timestamp, and says why.

It defines the scoring semantics (docs/scoring.md); every other runtime (the generated SQL, dbt,
Mautic as far as it can) must agree with it. Pure Python, standard library only: it reads the
plain `scoring.json` dict, never the IR, so `alignctl test` and `explain` start fast.

    >>> from alignctl.evaluator import score_lead
    >>> result = score_lead(model, {"lead_id": "L1", "employees": 120},
    ...                     [{"event": "page_view", "occurred_at": ts, "url": "/pricing"}], as_of)
    >>> result.scores, result.total, result.grade, result.stage, result.trace
"""

from __future__ import annotations

import math
import operator
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

Fn = Callable[[object], object]
_RULE, _COUNT, _LAST = 0, 1, 2
_TRUE = {"true", "t", "1", "yes", "y"}
_FALSE = {"false", "f", "0", "no", "n"}
_NUMERIC = ("integer", "number", "currency", "percent")


@dataclass(frozen=True)
class Fired:
    """One rule that added points: its id and model, what it added (after `max`), how often."""

    rule: str
    model: str
    points: float
    occurrences: int
    limited: bool = False      # `max` bounded the rule


@dataclass(frozen=True)
class LeadScore:
    lead_id: object
    scores: dict[str, float]   # per model: clamped to [min, cap], rounded
    total: float               # `score`: the sum of the model scores, rounded
    grade: str | None          # None when no model declares grades
    stage: str
    trace: tuple[Fired, ...]
    entries: dict[str, bool | None] = field(default_factory=dict)   # stage -> its entry's value


def round2(x: float) -> float:
    """Round half to even at two decimals, on `x * 100` in binary floating point (as the SQL)."""
    r = x * 100.0
    f = math.floor(r)
    d = r - f
    if d > 0.5 or (d == 0.5 and f % 2 == 1):
        f += 1
    return f / 100.0


def utc_naive(t: datetime | date | str) -> datetime:
    """A timestamp as naive UTC; naive input is taken to be UTC already, a date as midnight."""
    if isinstance(t, str):
        t = datetime.fromisoformat(t.strip().replace("Z", "+00:00"))
    elif not isinstance(t, datetime):
        t = datetime(t.year, t.month, t.day)
    if t.tzinfo is not None:
        t = t.astimezone(UTC).replace(tzinfo=None)
    return t


# --- value coercion --------------------------------------------------------------------------


def _to_bool(v):
    if isinstance(v, str):
        s = v.strip().lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
        if not s:
            return None
        raise ValueError(f"not a true/false value: {v!r}")
    return None if v is None else bool(v)


def _to_number(v):
    if isinstance(v, str):
        s = v.strip()
        return None if not s else float(s) if any(c in s for c in ".eE") else int(s)
    return v


def _to_date(v):
    if isinstance(v, str):
        return date.fromisoformat(v.strip()[:10]) if v.strip() else None
    return v.date() if isinstance(v, datetime) else v


def _to_datetime(v):
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    return utc_naive(v)


def _to_multi(v):
    if v is None:
        return None
    return frozenset(v.split(";")) if isinstance(v, str) else frozenset(v)


_COERCE: dict[str, Callable] = {
    "boolean": _to_bool, "date": _to_date, "datetime": _to_datetime, "multi_enum": _to_multi,
    **{t: _to_number for t in _NUMERIC},
}


def coerce(kind: str, value):
    """A raw value (e.g. from CSV or YAML) as the Python value of a column of type `kind`."""
    fn = _COERCE.get(kind)
    return value if fn is None or value is None else fn(value)


# --- three-valued logic ----------------------------------------------------------------------


def _and(fns: list[Fn]) -> Fn:
    def f(x):
        result = True
        for g in fns:
            v = g(x)
            if v is False:
                return False
            if v is None:
                result = None
        return result
    return f


def _or(fns: list[Fn]) -> Fn:
    def f(x):
        result = False
        for g in fns:
            v = g(x)
            if v is True:
                return True
            if v is None:
                result = None
        return result
    return f


def _not(g: Fn) -> Fn:
    def f(x):
        v = g(x)
        return None if v is None else not v
    return f


def _binary(op: Callable, a: Fn, b: Fn) -> Fn:
    def f(x):
        left, right = a(x), b(x)
        return None if left is None or right is None else op(left, right)
    return f


def _unary(op: Callable, a: Fn) -> Fn:
    def f(x):
        v = a(x)
        return None if v is None else op(v)
    return f


_BINARY = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
           ">": operator.gt, ">=": operator.ge, "+": operator.add, "-": operator.sub}


def _string_test(op: str, value: str) -> Callable[[object], bool]:
    if op == "contains":
        return lambda s: value in s
    if op == "startswith":
        return lambda s: s.startswith(value)
    if op == "endswith":
        return lambda s: s.endswith(value)
    if op == "includes":
        return lambda s: value in s
    search = re.compile(value).search
    return lambda s: search(s) is not None


def _fused_property_test(node: dict) -> Fn | None:
    """One closure for the hot `where` shapes (`prop OP "literal"`, `prop in [...]`): the
    evaluator's speed on events comes from here."""
    left = node.get("left")
    if not left or left.get("op") != "ref" or left["kind"] != "property" \
            or left["type"] in _COERCE:
        return None
    name, op = left["name"], node["op"]
    if op in ("in", "not_in"):
        values, want = frozenset(node["values"]), op == "in"
        return lambda e: None if (v := e.get(name)) is None else (v in values) is want
    if op == "contains":
        value = node["value"]
        return lambda e: None if (v := e.get(name)) is None else value in v
    if op == "==" and node["right"]["op"] in ("str", "num", "bool"):
        value = node["right"]["value"]
        return lambda e: None if (v := e.get(name)) is None else v == value
    return None


# --- compiling expression trees ---------------------------------------------------------------


class _Compiler:
    """Turns JSON expression trees into closures. `lead` scope reads a `_Lead`; `event` scope
    reads an event dict. Event functions become slots filled by one pass over the events."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer

    def compile(self, node: dict, scope: str, stage: str | None = None) -> Fn:
        op = node["op"]
        fused = _fused_property_test(node) if scope == "event" else None
        if fused is not None:
            return fused
        if op in ("num", "str", "bool"):
            value = node["value"]
            return lambda x: value
        if op == "ref":
            return self.ref(node, scope, stage)
        if op in ("and", "or"):
            fns = [self.compile(a, scope, stage) for a in node["args"]]
            return _and(fns) if op == "and" else _or(fns)
        if op == "not":
            return _not(self.compile(node["arg"], scope, stage))
        if op == "neg":
            return _unary(operator.neg, self.compile(node["arg"], scope, stage))
        if op in _BINARY:
            return _binary(_BINARY[op], self.compile(node["left"], scope, stage),
                           self.compile(node["right"], scope, stage))
        return self.special(node, scope, stage)

    def special(self, node: dict, scope: str, stage: str | None) -> Fn:
        op = node["op"]
        if op in ("in", "not_in"):
            values = frozenset(node["values"])
            test = (lambda v: v in values) if op == "in" else (lambda v: v not in values)
            return _unary(test, self.compile(node["left"], scope, stage))
        if op in ("contains", "startswith", "endswith", "matches", "includes"):
            return _unary(_string_test(op, node["value"]),
                          self.compile(node["left"], scope, stage))
        if op in ("count", "has", "days_since"):
            return self.scorer.call_slot(node)
        raise ValueError(f"unknown expression node `{op}`")

    def ref(self, node: dict, scope: str, stage: str | None) -> Fn:
        kind, name = node["kind"], node["name"]
        if kind == "property":
            conv = _COERCE.get(node["type"])
            if conv is None:
                return lambda e: e.get(name)
            return lambda e: None if (v := e.get(name)) is None else conv(v)
        if kind == "model":
            return lambda c: c.scores[name]
        if kind == "score":
            return lambda c: c.total
        if kind == "grade":
            return lambda c: c.grade
        if kind == "builtin":
            return self.builtin(name, stage)
        return lambda c: c.attrs.get(name)

    @staticmethod
    def builtin(name: str, stage: str | None) -> Fn:
        if name == "accepted":
            column = f"{stage}_accepted"
            return lambda c: c.attrs.get(column)
        if name == "days_in_stage":
            return lambda c: c.days_in_stage
        return lambda c: c.attrs.get(name)


class _Lead:
    """What a lead-level condition can read."""

    __slots__ = ("attrs", "calls", "as_of", "scores", "total", "grade", "days_in_stage")

    def __init__(self, attrs: dict, calls: list, as_of: datetime) -> None:
        self.attrs, self.calls, self.as_of = attrs, calls, as_of
        self.scores: dict[str, float] = {}
        self.total: float = 0.0
        self.grade: str | None = None
        self.days_in_stage: float | None = None


@dataclass
class _Rule:
    id: str
    model: str
    points: int
    when: Fn | None = None
    half_life: float | None = None
    max: int | None = None
    once: bool = False
    slot: int = -1


@dataclass
class _Model:
    id: str
    cap: float | None
    min: float | None
    rules: list[_Rule]


# --- the scorer ------------------------------------------------------------------------------


class Scorer:
    """A `scoring.json` model compiled once; `score()` evaluates one lead."""

    def __init__(self, model: Mapping) -> None:
        self.doc = model
        self.handlers: dict[str, list[tuple]] = defaultdict(list)
        self.calls: list[tuple] = []      # (kind, initial value, func)
        self.n_rules = 0
        self.compiler = _Compiler(self)
        self.columns = {k: v["type"] for k, v in model["inputs"]["leads"].items()}
        self.models = [self._model(m) for m in model["models"]]
        self.stages = [(s["id"], s["entry"] and self.compiler.compile(s["entry"], "lead", s["id"]))
                       for s in model["stages"]]
        self.stage_index = {sid: i for i, (sid, _) in enumerate(self.stages)}
        grades = model.get("grades")
        self.grades = grades and (grades["model"], [(g["grade"], g["min"]) for g in grades["scale"]],
                                  grades["below"])

    def _model(self, m: Mapping) -> _Model:
        hl = m.get("half_life_seconds")
        rules = [self._rule(m["id"], r, hl) for r in m["rules"]]
        return _Model(m["id"], m.get("cap"), m.get("min"), rules)

    def _rule(self, model: str, r: Mapping, half_life: float | None) -> _Rule:
        rule = _Rule(r["id"], model, r["points"])
        if "on" not in r:
            rule.when = self.compiler.compile(r["when"], "lead") if r.get("when") else None
            return rule
        rule.half_life, rule.max, rule.once = half_life, r.get("max"), bool(r.get("once"))
        rule.slot = self.n_rules
        self.n_rules += 1
        where = self.compiler.compile(r["where"], "event") if r.get("where") else None
        self.handlers[r["on"]].append((_RULE, rule.slot, where, None, half_life))
        return rule

    def call_slot(self, node: dict) -> Fn:
        """A slot for an event function, filled while scanning the events."""
        slot = len(self.calls)
        if node["op"] == "days_since" and "field" in node:
            return self._days_since_field(node)
        where = self.compiler.compile(node["where"], "event") if node.get("where") else None
        if node["op"] == "days_since":
            self.calls.append((_LAST, math.inf))
            self.handlers[node["event"]].append((_LAST, slot, None, None, None))
            return lambda c: None if c.calls[slot] == math.inf else c.calls[slot] / 86400
        self.calls.append((_COUNT, 0))
        self.handlers[node["event"]].append((_COUNT, slot, where, node.get("within_seconds"),
                                             None))
        if node["op"] == "has":
            return lambda c: c.calls[slot] > 0
        return lambda c: c.calls[slot]

    def _days_since_field(self, node: dict) -> Fn:
        name, whole_days = node["field"], node.get("type") == "date"

        def f(c):
            v = c.attrs.get(name)
            if v is None:
                return None
            if whole_days:
                return (c.as_of.date() - v).days
            return (c.as_of - v).total_seconds() / 86400
        return f

    # --- evaluation -----------------------------------------------------------------------

    def score(self, lead: Mapping, events: Iterable[Mapping], as_of: datetime) -> LeadScore:
        as_of = utc_naive(as_of)
        attrs = {k: coerce(t, lead.get(k)) for k, t in self.columns.items()}
        ctx = _Lead(attrs, [init for _, init in self.calls], as_of)
        acc = self._scan(events, as_of, ctx.calls)
        trace: list[Fired] = []
        for m in self.models:
            ctx.scores[m.id] = self._model_score(m, ctx, acc, trace)
        ctx.total = round2(sum(ctx.scores.values()))
        ctx.grade = self._grade(ctx.scores)
        stage, entries = self._stage(ctx)
        return LeadScore(lead.get("lead_id"), dict(ctx.scores), ctx.total, ctx.grade, stage,
                         tuple(trace), entries)

    def _scan(self, events: Iterable[Mapping], as_of: datetime, calls: list) -> list:
        """One pass over the events: fill rule accumulators and event-function slots."""
        n = self.n_rules
        acc = [[0] * n, [0.0] * n, [-1.0] * n]      # occurrences, decayed weight, oldest age
        counts, weights, oldest = acc
        handlers = self.handlers
        for e in events:
            hs = handlers.get(e.get("event"))
            if hs is None:
                continue
            t = e.get("occurred_at")
            if t is None:
                continue
            if type(t) is not datetime or t.tzinfo is not None:
                t = utc_naive(t)
            if t > as_of:
                continue
            age = (as_of - t).total_seconds()
            for kind, slot, where, within, hl in hs:
                if where is not None and where(e) is not True:
                    continue
                if kind == _RULE:
                    counts[slot] += 1
                    if hl:
                        weights[slot] += 0.5 ** (age / hl)
                    if age > oldest[slot]:
                        oldest[slot] = age
                elif kind == _COUNT:
                    if within is None or age <= within:
                        calls[slot] += 1
                elif age < calls[slot]:
                    calls[slot] = age
        return acc

    def _model_score(self, m: _Model, ctx: _Lead, acc: list, trace: list) -> float:
        raw = 0
        for rule in m.rules:
            fired = self._fit(rule, ctx) if rule.slot < 0 else self._engagement(rule, acc)
            if fired is not None:
                raw += fired.points
                trace.append(fired)
        if m.min is not None:
            raw = max(raw, m.min)
        if m.cap is not None:
            raw = min(raw, m.cap)
        return round2(float(raw))

    @staticmethod
    def _fit(rule: _Rule, ctx: _Lead) -> Fired | None:
        if rule.when is None or rule.when(ctx) is True:
            return Fired(rule.id, rule.model, rule.points, 1)
        return None

    @staticmethod
    def _engagement(rule: _Rule, acc: list) -> Fired | None:
        counts, weights, oldest = acc
        n = counts[rule.slot]
        if n == 0:
            return None
        if rule.once:
            value = rule.points * (0.5 ** (oldest[rule.slot] / rule.half_life)
                                   if rule.half_life else 1)
            n = 1
        else:
            value = rule.points * (weights[rule.slot] if rule.half_life else n)
        return _bounded(rule, value, n)

    def _grade(self, scores: dict[str, float]) -> str | None:
        if not self.grades:
            return None
        model, scale, below = self.grades
        return next((g for g, low in scale if scores[model] >= low), below)

    def _stage(self, ctx: _Lead) -> tuple[str, dict[str, bool | None]]:
        """Forward only: never before the lead's current stage, else the furthest entered."""
        current = self.stage_index.get(ctx.attrs.get("stage"), 0)
        ctx.days_in_stage = self._days_in_stage(ctx, self.stages[current][0])
        reached, entries = current, {}
        for i, (sid, entry) in enumerate(self.stages):
            if entry is None:
                continue
            entries[sid] = value = entry(ctx)
            if value is True and i > reached:
                reached = i
        return self.stages[reached][0], entries

    @staticmethod
    def _days_in_stage(ctx: _Lead, stage: str) -> float | None:
        entered = ctx.attrs.get(f"{stage}_entered_at")
        return None if entered is None else (ctx.as_of - entered).total_seconds() / 86400


def _bounded(rule: _Rule, value: float, n: int) -> Fired:
    """Apply `max`: it bounds the size of what a rule adds, in the direction of its points."""
    if rule.max is None:
        return Fired(rule.id, rule.model, value, n)
    bound = abs(rule.max)
    limited = abs(value) > bound
    value = min(value, bound) if rule.points >= 0 else max(value, -bound)
    return Fired(rule.id, rule.model, value, n, limited)


# --- entry points ----------------------------------------------------------------------------

_CACHE: dict[int, tuple[Mapping, Scorer]] = {}


def compile_model(model: Mapping) -> Scorer:
    """The compiled scorer for a `scoring.json` dict, cached while the dict is alive."""
    hit = _CACHE.get(id(model))
    if hit is not None and hit[0] is model:
        return hit[1]
    scorer = Scorer(model)
    if len(_CACHE) >= 16:
        _CACHE.clear()
    _CACHE[id(model)] = (model, scorer)
    return scorer


def score_lead(model: Mapping, lead: Mapping, events: Iterable[Mapping],
               as_of: datetime) -> LeadScore:
    """Score one lead (attributes plus its events) as of `as_of` (naive = UTC)."""
    return compile_model(model).score(lead, events, as_of)


def score_leads(model: Mapping, leads: Iterable[Mapping], events: Iterable[Mapping],
                as_of: datetime) -> Iterator[LeadScore]:
    """Score many leads; `events` carry a `lead_id` and are grouped here."""
    by_lead: dict[object, list] = defaultdict(list)
    for e in events:
        by_lead[e.get("lead_id")].append(e)
    scorer = compile_model(model)
    for lead in leads:
        yield scorer.score(lead, by_lead.get(lead.get("lead_id"), ()), as_of)
