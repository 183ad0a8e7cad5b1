"""The funnel arithmetic of POLICY.md `plan`: expected and required volumes, team load and capacity.

`compute_plan(policy)` is a pure function of the IR. Every figure carries the arithmetic that
produced it in words (`400 MQLs/week (1,600 inquiries x 0.25)`), so the checks, the `plan`
command and the docs all explain a number the same way. Figures are per `policy.period`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property

from .ir import PERIOD_WEEKS, Policy, Stage, Team

ACRONYMS = frozenset({"mql", "sql", "sal", "pql", "sqo", "mqa", "sqa", "tql", "hql", "sao"})
EPSILON = 1e-9


@dataclass(frozen=True)
class Figure:
    """A number with the arithmetic that produced it, in words."""

    value: float
    explain: str


@dataclass(frozen=True)
class StageRow:
    """One stage of the funnel: the volumes that reach it per period."""

    stage: str
    owner: str
    conversion: float | None      # share of this stage's leads that reach the next stage
    stated: float | None          # plan.volumes at this stage
    commitment: float | None      # plan.commitments at this stage
    expected: Figure | None       # what the plan says will arrive
    required: Figure | None       # what the revenue target needs

    @property
    def headroom(self) -> float | None:
        """Expected over required, minus one: +0.10 means 10 % more than needed."""
        if self.expected is None or self.required is None or self.required.value <= 0:
            return None
        return self.expected.value / self.required.value - 1


@dataclass(frozen=True)
class TeamRow:
    """One team: the leads handed to it per period against what its reps can work."""

    team: str
    kind: str
    sources: tuple[str, ...]      # the `from` stages of the handoffs into its stages
    load: Figure | None           # expected volume handed to it
    required_load: Figure | None  # volume the revenue target hands to it
    capacity: Figure | None

    @property
    def utilisation(self) -> float | None:
        """Load over capacity: 1.0 means every rep-hour for new leads is used."""
        if self.load is None or self.capacity is None or self.capacity.value <= 0:
            return None
        return self.load.value / self.capacity.value


@dataclass(frozen=True)
class PlanTable:
    """The whole plan, per `period`."""

    period: str
    currency: str | None
    target: Figure | None         # revenue target per period
    deals: Figure | None          # deals needed per period (at the won stage)
    won_stage: str | None
    stages: tuple[StageRow, ...]
    teams: tuple[TeamRow, ...]

    def stage(self, stage_id: str) -> StageRow | None:
        return self._stage_index.get(stage_id)

    def team(self, team_id: str) -> TeamRow | None:
        return self._team_index.get(team_id)

    @cached_property
    def _stage_index(self) -> dict[str, StageRow]:
        return {r.stage: r for r in self.stages}

    @cached_property
    def _team_index(self) -> dict[str, TeamRow]:
        return {r.team: r for r in self.teams}


# --- words and numbers --------------------------------------------------------------------------

def num(value: float) -> str:
    """`1,600`, `22.05`, `6.62`: thousands separators, at most 2 decimals, no float noise."""
    rounded = round(value, 2) + 0.0
    if rounded == int(rounded):
        return f"{int(rounded):,}"
    return f"{rounded:,.2f}".rstrip("0")


def rate(value: float) -> str:
    """A conversion rate as written: `0.25`, `0.3`, `0.125`."""
    return f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def percent(value: float) -> str:
    return f"{num(value * 100)} %"


def money(value: float, currency: str | None) -> str:
    return f"{num(value)} {currency}" if currency else num(value)


# A stage id that ends in one of these is an adjective ("sales ready"): people count its leads.
ADJECTIVES = frozenset({"ready", "new", "open", "won", "lost", "active", "hot", "warm", "cold",
                        "nurture", "nurturing"})


def noun(stage_id: str, count: float = 2) -> str:
    """How a person counts leads at a stage: `1 MQL`, `400 MQLs`, `1,600 inquiries`,
    `12 sales ready leads`."""
    words = stage_id.upper() if stage_id in ACRONYMS else stage_id.replace("_", " ")
    if _adjective(words):
        words += " lead"
    return words if round(count, 2) == 1 else plural(words)


def _adjective(words: str) -> bool:
    last = words.rsplit(" ", 1)[-1]
    return not words.isupper() and (last in ADJECTIVES or last.endswith("ed"))


def plural(words: str) -> str:
    if words.isupper():
        return words + "s"
    if re.search(r"[^aeiou]y$", words):
        return words[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", words):
        return words + "es"
    return words + "s"


def count(value: float, stage_id: str) -> str:
    return f"{num(value)} {noun(stage_id, value)}"


def less(a: float, b: float) -> bool:
    """a < b, beyond float noise: capacity exactly equal to load is not over capacity."""
    return a < b - EPSILON * max(1.0, abs(b))


def weeks(period: str) -> Fraction:
    """Weeks in a period, exactly: 1, 13/3, 13."""
    return Fraction(PERIOD_WEEKS[period]).limit_denominator(100)


# --- the computation ----------------------------------------------------------------------------

def compute_plan(policy: Policy) -> PlanTable:
    """Expected and required volumes per stage, load and capacity per team, per policy period."""
    period = policy.meta.period
    target = revenue_per_period(policy)
    won = won_stage(policy)
    deals = deals_needed(policy, target, won)
    expected = expected_volumes(policy)
    required = required_volumes(policy, deals, won)
    stages = tuple(_stage_row(policy, s, expected, required) for s in policy.stages)
    sources = handoff_sources(policy)
    teams = tuple(_team_row(policy, t, sources.get(t.id, ()), expected, required)
                  for t in policy.teams.values())
    currency = policy.plan.revenue_target.currency if target else None
    return PlanTable(period, currency, target, deals, won.id if won else None, stages, teams)


def won_stage(policy: Policy) -> Stage | None:
    return next((s for s in policy.stages if s.terminal == "won"), None)


def revenue_per_period(policy: Policy) -> Figure | None:
    """The revenue target converted to the policy period (1 quarter = 13 weeks = 3 months)."""
    rt = policy.plan.revenue_target if policy.plan else None
    if rt is None:
        return None
    period = policy.meta.period
    factor = weeks(rt.per) / weeks(period)
    value = float(Fraction(rt.amount) / factor)
    stated = f"{money(rt.amount, rt.currency)}/{rt.per}"
    if factor == 1:
        return Figure(value, f"{money(value, rt.currency)}/{period} (the revenue target)")
    if factor > 1:
        how = f"{stated} / {num(float(factor))} {period}s per {rt.per}"
    else:
        how = f"{stated} x {num(float(1 / factor))} {rt.per}s per {period}"
    return Figure(value, f"{money(value, rt.currency)}/{period} ({how})")


def deals_needed(policy: Policy, target: Figure | None, won: Stage | None) -> Figure | None:
    """Deals per period the target needs: target / average deal size, counted at the won stage."""
    size = policy.plan.average_deal_size if policy.plan else None
    if target is None or won is None or not size:
        return None
    currency = policy.plan.revenue_target.currency
    value = target.value / size
    how = f"{money(target.value, currency)} / {money(size, currency)} per deal"
    return Figure(value, f"{count(value, won.id)}/{policy.meta.period} ({how})")


def expected_volumes(policy: Policy) -> dict[str, Figure]:
    """Volumes flowing down the funnel; a stage's own stated volume replaces the flow."""
    out: dict[str, Figure] = {}
    prev: Stage | None = None
    for stage in policy.stages:
        fig = _stated(policy, stage) or _flowed(policy, prev, stage, out)
        if fig is not None:
            out[stage.id] = fig
        prev = None if stage.terminal else stage
    return out


def _stated(policy: Policy, stage: Stage) -> Figure | None:
    value = policy.plan.volumes.get(stage.id) if policy.plan else None
    if value is None:
        return None
    return Figure(value, f"{count(value, stage.id)}/{policy.meta.period} (plan.volumes)")


def _flowed(policy: Policy, prev: Stage | None, stage: Stage,
            done: Mapping[str, Figure]) -> Figure | None:
    if prev is None or prev.id not in done or policy.plan is None:
        return None
    fig, conv = done[prev.id], policy.plan.conversion.get(prev.id)
    if conv is None:
        return None
    value = fig.value * conv
    how = f"{count(fig.value, prev.id)} x {rate(conv)}"
    return Figure(value, f"{count(value, stage.id)}/{policy.meta.period} ({how})")


def required_volumes(policy: Policy, deals: Figure | None,
                     won: Stage | None) -> dict[str, Figure]:
    """The volumes the target needs: deals at the won stage, divided back up the funnel."""
    if deals is None or won is None:
        return {}
    out = {won.id: deals}
    below, fig = won, deals
    for stage in reversed(policy.stages[:won.index]):
        conv = policy.plan.conversion.get(stage.id)
        if conv is None or conv <= 0:
            break
        value = fig.value / conv
        how = f"{count(fig.value, below.id)} / {rate(conv)}"
        fig = Figure(value, f"{count(value, stage.id)}/{policy.meta.period} ({how})")
        out[stage.id] = fig
        below = stage
    return out


def _stage_row(policy: Policy, stage: Stage, expected: Mapping[str, Figure],
               required: Mapping[str, Figure]) -> StageRow:
    def pick(section: str) -> float | None:
        return getattr(policy.plan, section).get(stage.id) if policy.plan else None

    return StageRow(stage.id, stage.owner, pick("conversion"), pick("volumes"),
                    pick("commitments"), expected.get(stage.id), required.get(stage.id))


def handoff_sources(policy: Policy) -> dict[str, tuple[str, ...]]:
    """Team -> the `from` stages of every handoff into a stage it owns, once each, in order."""
    owners = {s.id: s.owner for s in policy.stages}
    found: dict[str, dict[str, None]] = {}
    for h in policy.handoffs:
        if h.to_stage in owners:
            found.setdefault(owners[h.to_stage], {})[h.from_stage] = None
    return {team: tuple(stages) for team, stages in found.items()}


def _team_row(policy: Policy, team: Team, sources: tuple[str, ...],
              expected: Mapping[str, Figure], required: Mapping[str, Figure]) -> TeamRow:
    period = policy.meta.period
    return TeamRow(team.id, team.kind, sources, load(sources, expected, period),
                   load(sources, required, period), capacity(team))


def load(sources: Iterable[str], volumes: Mapping[str, Figure], period: str) -> Figure | None:
    """The sum of the volumes at `sources`; one source keeps its own explanation."""
    known = [(s, volumes[s]) for s in sources if s in volumes]
    if not known:
        return None
    if len(known) == 1:
        return known[0][1]
    total = sum(f.value for _, f in known)
    parts = " + ".join(count(f.value, s) for s, f in known)
    return Figure(total, f"{num(total)} leads/{period} ({parts})")


def capacity(team: Team) -> Figure | None:
    """What the team's reps can work per period: `24 (4 reps x 2 h x 60 / 20 min)`."""
    value = team.capacity_per_period()
    if value is None:
        return None
    c = team.capacity
    if c.leads_per_rep is not None:
        how = f"{team.reps} reps x {num(c.leads_per_rep)} leads"
    else:
        how = f"{team.reps} reps x {num(c.hours_per_rep)} h x 60 / {num(c.minutes_per_lead)} min"
    return Figure(value, f"{num(value)} ({how})")


# --- serialisation ------------------------------------------------------------------------------

def _figure(fig: Figure | None) -> dict | None:
    return None if fig is None else {"value": round(fig.value, 6), "explain": fig.explain}


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def to_dict(table: PlanTable) -> dict:
    """The table as plain data, for `alignctl plan --format json`."""
    return {
        "period": table.period, "currency": table.currency, "won_stage": table.won_stage,
        "revenue_target": _figure(table.target), "deals_needed": _figure(table.deals),
        "stages": [_stage_dict(r) for r in table.stages],
        "teams": [_team_dict(r) for r in table.teams],
    }


def _stage_dict(row: StageRow) -> dict:
    return {"stage": row.stage, "owner": row.owner, "conversion": row.conversion,
            "stated": row.stated, "commitment": row.commitment,
            "expected": _figure(row.expected), "required": _figure(row.required),
            "headroom": _ratio(row.headroom)}


def _team_dict(row: TeamRow) -> dict:
    return {"team": row.team, "kind": row.kind, "receives_from": list(row.sources),
            "load": _figure(row.load), "required_load": _figure(row.required_load),
            "capacity": _figure(row.capacity), "utilisation": _ratio(row.utilisation)}
