"""The intermediate representation: every concept of POLICY.md, resolved and located.

Lowered from the raw document by `compiler.lower`; read by the checks and by every target.
All objects are frozen; `loc` says where each one and each of its attributes was written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from alignctl.policy.diagnostics import Span
from alignctl.policy.expr_ast import Expr, Type, field_type

PERIOD_WEEKS = {"week": 1.0, "month": 52 / 12, "quarter": 13.0}


SALESFORCE_API_VERSION = "68.0"     # Winter '27, current; `targets.crm.salesforce.api_version`


@dataclass(frozen=True)
class Loc:
    """Where a node was written: its own span (the id key or list item) and its attributes'."""

    span: Span
    attrs: Mapping[str, Span] = field(default_factory=dict, hash=False, compare=False)

    def of(self, attr: str) -> Span:
        return self.attrs.get(attr, self.span)


@dataclass(frozen=True)
class Dur:
    text: str
    seconds: int

    @property
    def days(self) -> float:
        return self.seconds / 86400


@dataclass(frozen=True)
class Condition:
    """A type-checked expression, with a map from offsets inside it to file spans."""

    text: str
    expr: Expr
    span: Span
    locate: Callable[[int, int], Span] = field(hash=False, compare=False, repr=False)

    def span_of(self, node) -> Span:
        return self.locate(node.start, node.end)


@dataclass(frozen=True)
class Meta:
    name: str
    version: str
    period: str
    description: str | None
    loc: Loc


@dataclass(frozen=True)
class Capacity:
    hours_per_rep: float | None = None
    minutes_per_lead: float | None = None
    leads_per_rep: float | None = None


@dataclass(frozen=True)
class Team:
    id: str
    kind: str                      # marketing | sales
    label: str
    lead: str | None
    description: str | None
    reps: int | None
    capacity: Capacity | None
    loc: Loc

    def capacity_per_period(self) -> float | None:
        """Leads the team can work per policy period, or None when capacity is not stated."""
        c = self.capacity
        if c is None or self.reps is None:
            return None
        if c.leads_per_rep is not None:
            return self.reps * c.leads_per_rep
        if c.hours_per_rep and c.minutes_per_lead:
            return self.reps * c.hours_per_rep * 60 / c.minutes_per_lead
        return None


@dataclass(frozen=True)
class EnumValue:
    id: str
    label: str
    span: Span | None = field(default=None, compare=False, hash=False)


@dataclass(frozen=True)
class Field:
    id: str
    type: str
    values: tuple[EnumValue, ...]
    label: str
    description: str | None
    owner: str | None
    source: str | None
    required: bool
    loc: Loc
    # `crm:` per platform: the platform field it is (a name), or None for `false` (create one)
    crm: tuple[tuple[str, str | None], ...] = ()
    crm_loc: Loc | None = field(default=None, compare=False)

    @property
    def etype(self) -> Type:
        return field_type(self.type, tuple(v.id for v in self.values))


@dataclass(frozen=True)
class Property:
    id: str
    type: str
    values: tuple[EnumValue, ...]
    label: str
    loc: Loc

    @property
    def etype(self) -> Type:
        return field_type(self.type, tuple(v.id for v in self.values))


@dataclass(frozen=True)
class Event:
    id: str
    label: str
    description: str | None
    properties: Mapping[str, Property]
    loc: Loc


@dataclass(frozen=True)
class TermLink:
    term: str
    span: Span


@dataclass(frozen=True)
class Term:
    id: str
    name: str
    definition: str
    approved_by: tuple[str, ...]
    aliases: tuple[str, ...]
    links: tuple[TermLink, ...]
    loc: Loc


@dataclass(frozen=True)
class Rule:
    id: str
    model: str
    label: str | None
    description: str | None
    when: Condition | None      # fit rules
    on: str | None              # engagement rules: the event
    where: Condition | None     # engagement rules: condition on the event's properties
    points: int
    max: int | None
    once: bool
    loc: Loc


@dataclass(frozen=True)
class Model:
    id: str
    kind: str                   # fit | engagement
    label: str
    description: str | None
    half_life: Dur | None
    cap: int | None
    min: int | None
    grades: tuple[tuple[str, int], ...]   # as written; best first once ALN403 passes
    rules: tuple[Rule, ...]
    loc: Loc


@dataclass(frozen=True)
class Stage:
    id: str
    index: int
    label: str
    owner: str
    journey: str | None
    definition: str | None
    definition_links: tuple[TermLink, ...]
    term: str | None
    entry: Condition | None
    max_age: Dur | None
    terminal: str | None        # won | lost
    loc: Loc


@dataclass(frozen=True)
class SLA:
    accept_within: Dur | None
    first_touch_within: Dur | None
    attempts: int | None
    over: Dur | None
    loc: Loc


@dataclass(frozen=True)
class Handoff:
    from_stage: str
    to_stage: str
    route: str
    sla: SLA | None
    reject_reasons: tuple[tuple[str, Span], ...]
    loc: Loc


@dataclass(frozen=True)
class Recycle:
    never: bool
    to: str | None = None
    after: Dur | None = None
    before: str | None = None
    lead_time: Dur | None = None
    loc: Loc | None = None


@dataclass(frozen=True)
class Reason:
    id: str
    label: str
    description: str | None
    recycle: Recycle | None     # None: no rule stated
    loc: Loc


@dataclass(frozen=True)
class Disqualification:
    field: str
    max_recycles: int | None
    reasons: Mapping[str, Reason]
    loc: Loc


@dataclass(frozen=True)
class RevenueTarget:
    amount: float
    currency: str
    per: str


@dataclass(frozen=True)
class Plan:
    revenue_target: RevenueTarget | None
    average_deal_size: float | None
    volumes: Mapping[str, float]
    conversion: Mapping[str, float]
    commitments: Mapping[str, float]
    loc: Loc                    # attrs: "volumes.<stage>", "conversion.<stage>", ...


@dataclass(frozen=True)
class Targets:
    crm_platforms: tuple[str, ...]
    crm_object: str
    crm_prefix: str
    scoring_dialects: tuple[str, ...]
    docs_formats: tuple[str, ...]
    loc: Loc
    crm_convert_at: str | None = None       # the stage that converts the lead (lead convert)
    salesforce_api_version: str = SALESFORCE_API_VERSION


@dataclass(frozen=True)
class Policy:
    meta: Meta
    teams: Mapping[str, Team]
    fields: Mapping[str, Field]
    events: Mapping[str, Event]
    terms: Mapping[str, Term]
    models: Mapping[str, Model]
    stages: tuple[Stage, ...]
    handoffs: tuple[Handoff, ...]
    disqualification: Disqualification | None
    plan: Plan | None
    targets: Targets
    severity: Mapping[str, str]
    files: tuple[str, ...]
    severity_loc: Loc | None = None     # attrs: one span per overridden code

    @cached_property
    def stage_index(self) -> dict[str, Stage]:
        return {s.id: s for s in self.stages}

    def stage(self, stage_id: str) -> Stage | None:
        return self.stage_index.get(stage_id)

    @property
    def grades(self) -> tuple[tuple[str, int], ...]:
        return next((m.grades for m in self.models.values() if m.grades), ())

    def rules(self) -> list[Rule]:
        return [r for m in self.models.values() for r in m.rules]
