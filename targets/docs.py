"""The `docs` target: the agreement as documents people read, in Markdown and as one HTML page.

The IR is turned into a view (plain data, raw strings) once; Jinja2 templates in
`templates/docs/` lay it out. Escaping happens in the templates only: autoescape for HTML, the
`md` and `mermaid` filters for Markdown. Conditions read in plain English (`policy.english`), and
volumes and capacity come from the plan (`compiler.plan`), with the arithmetic beside each figure.
The funnel drawing's geometry is computed in `docs_funnel`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignctl.compiler import ir
from alignctl.policy import english
from alignctl.policy.expr_ast import BoolOp

from .base import Target
from .docs_funnel import Drawing, draw_funnel
from .markdown import md

TEMPLATES = Path(__file__).parent / "templates" / "docs"
MARKDOWN_FILES = ("README.md", "glossary.md", "funnel.md", "scoring.md", "sla.md")
LINK = re.compile(r"\[\[([a-z][a-z0-9_]*)\]\]")
PALETTE = ("#6d28d9", "#1d4ed8", "#0f766e", "#be185d", "#c2410c", "#4338ca", "#15803d")
ROUTES = {"round_robin": "round robin, spread evenly over the reps",
          "by_score": "by score, highest score first (a queue)"}
KINDS = {"fit": "who the lead is: attributes, each rule counts once",
         "engagement": "what the lead does: every matching action counts"}


class DocsTarget(Target):
    """Glossary, funnel, scoring and SLA documents (Markdown and a self-contained HTML page)."""

    name = "docs"
    description = "Markdown and HTML docs: glossary, funnel, scoring, SLA and capacity"

    def emit(self, policy: ir.Policy) -> dict[str, bytes]:
        view = build_view(policy)
        files: dict[str, bytes] = {}
        formats = policy.targets.docs_formats or ("markdown", "html")
        if "markdown" in formats:
            env = _environment(html=False)
            for name in MARKDOWN_FILES:
                files[f"markdown/{name}"] = _render(env, f"{name}.j2", view)
        if "html" in formats:
            files["html/index.html"] = _render(_environment(html=True), "index.html.j2", view)
        return files


# ---------------------------------------------------------------------------------------------
# Rendering


def _environment(*, html: bool) -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=html,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True)
    env.filters.update(md=md, mermaid=mermaid_escape, mermaid_id=mermaid_id,
                       sentence=sentence,
                       num=figure, pct=percent, clip=clip)
    return env


def _render(env: Any, template: str, view: View) -> bytes:
    text = env.get_template(template).render(v=view)
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return ("\n".join(lines).strip("\n") + "\n").encode("utf-8")


def mermaid_escape(value: Any) -> str:
    """Text for a quoted Mermaid label: anything but letters, digits and plain spacing as an
    entity code (`#60;`), so no quote, bracket, backtick or markup can end the label."""
    text = " ".join(str(value).split())
    return "".join(ch if ch.isalnum() or ch in " .,-" else f"#{ord(ch)};" for ch in text)


MERMAID_RESERVED = frozenset({"end", "graph", "flowchart", "subgraph", "style", "class",
                              "classdef", "click", "linkstyle", "direction", "default", "call"})


def mermaid_id(ident: str) -> str:
    """A stage id as a Mermaid node id; Mermaid's keywords get a trailing underscore."""
    return f"{ident}_" if ident.lower() in MERMAID_RESERVED else ident


def sentence(value: Any) -> str:
    text = str(value)
    return text[:1].upper() + text[1:]


def clip(value: Any, limit: int = 40) -> str:
    """At most `limit` characters, with an ellipsis (for labels inside the drawing)."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def figure(value: float | None) -> str:
    """Volumes as people say them: 500, 90.7, 6.6; 1,950,000."""
    if value is None:
        return "–"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{round(value):,}"
    return f"{value:,.1f}".removesuffix(".0")


def percent(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value * 100:,.1f}".removesuffix(".0") + " %"


# ---------------------------------------------------------------------------------------------
# The view: what the templates show, as plain data


@dataclass(frozen=True)
class Segment:
    """A piece of a definition: text, or a link to the glossary term `link`."""

    text: str
    link: str | None = None


@dataclass
class TeamView:
    id: str
    label: str
    kind: str
    lead: str | None
    description: str | None
    reps: int | None
    colour: str
    capacity: float | None = None
    capacity_how: str | None = None
    load: float | None = None
    load_how: str | None = None
    required_load: float | None = None
    sources: list[str] = field(default_factory=list)

    @property
    def utilisation(self) -> float | None:
        if self.load is None or not self.capacity:
            return None
        return self.load / self.capacity

    @property
    def status(self) -> str:
        u = self.utilisation
        if u is None:
            return "none"
        return "over" if u > 1 + 1e-9 else "tight" if u >= 0.9 else "ok"


@dataclass
class HandoffView:
    from_id: str
    to_id: str
    from_label: str
    to_label: str
    from_team: str
    to_team: str
    from_colour: str
    to_colour: str
    route: str
    accept_within: str | None
    first_touch_within: str | None
    attempts: int | None
    over: str | None
    reasons: list[str]


@dataclass
class StageView:
    id: str
    number: int
    label: str
    owner: TeamView
    journey: str | None
    definition: list[Segment]
    term: tuple[str, str] | None
    entry: list[str]
    entry_note: str
    max_age: str | None
    terminal: str | None
    handoff_in: HandoffView | None
    expected: float | None = None
    expected_how: str | None = None
    required: float | None = None
    required_how: str | None = None
    conversion: float | None = None
    commitment: float | None = None
    commitment_words: str | None = None
    noun: str = ""

    @property
    def headroom(self) -> float | None:
        """Expected over needed, minus one: +0.1 is 10 % more than the target needs."""
        if self.expected is None or not self.required:
            return None
        return self.expected / self.required - 1


@dataclass
class RuleView:
    id: str
    label: str
    when: str
    points: int
    limits: str


@dataclass
class ModelView:
    id: str
    label: str
    kind: str
    kind_words: str
    rules: list[RuleView]
    grades: list[tuple[str, str]]
    decay: str | None
    cap: int | None
    min: int | None


@dataclass
class TermView:
    id: str
    name: str
    definition: list[Segment]
    aliases: list[str]
    approved_by: list[TeamView]
    stages: list[tuple[str, str]]


@dataclass
class ReasonView:
    id: str
    label: str
    comes_back: str
    to: str | None


@dataclass
class View:
    name: str
    version: str
    period: str
    description: str | None
    teams: list[TeamView]
    stages: list[StageView]
    handoffs: list[HandoffView]
    models: list[ModelView]
    terms: list[TermView]
    reasons: list[ReasonView]
    max_recycles: int | None
    key: dict[str, Any]
    funnel: Drawing | None = None


UNKNOWN_TEAM = TeamView("", "?", "", None, None, None, "#64748b")


def build_view(policy: ir.Policy) -> View:
    """Everything the templates show, computed once from the IR."""
    teams = {t.id: _team(t, i) for i, t in enumerate(policy.teams.values())}
    labels = english.policy_labels(policy)
    handoffs = [_handoff(policy, h, teams) for h in policy.handoffs]
    stages = [_stage(policy, s, teams, handoffs, labels) for s in policy.stages]
    view = View(policy.meta.name, policy.meta.version, policy.meta.period,
                policy.meta.description, list(teams.values()), stages, handoffs,
                [_model(m, labels) for m in policy.models.values()],
                _terms(policy, teams), _reasons(policy), _max_recycles(policy), {})
    _apply_plan(policy, view)
    view.funnel = draw_funnel(view)
    return view


def team_label(team: ir.Team) -> str:
    return english.display_label(team.label, team.id)


def stage_label(stage: ir.Stage | None, fallback: str) -> str:
    return stage.label if stage is not None else fallback


def _team(team: ir.Team, index: int) -> TeamView:
    return TeamView(team.id, team_label(team), team.kind, team.lead, team.description,
                    team.reps, PALETTE[index % len(PALETTE)])


def _handoff(policy: ir.Policy, h: ir.Handoff, teams: dict[str, TeamView]) -> HandoffView:
    src, dst = policy.stage(h.from_stage), policy.stage(h.to_stage)
    sla, reasons = h.sla, policy.disqualification.reasons if policy.disqualification else {}

    def words(d: ir.Dur | None) -> str | None:
        return english.duration_in_words(d.text) if d else None

    def team(stage: ir.Stage | None) -> TeamView:
        return teams.get(stage.owner if stage else "", UNKNOWN_TEAM)

    return HandoffView(
        h.from_stage, h.to_stage, stage_label(src, h.from_stage), stage_label(dst, h.to_stage),
        team(src).label, team(dst).label, team(src).colour, team(dst).colour,
        ROUTES.get(h.route, h.route),
        words(sla and sla.accept_within), words(sla and sla.first_touch_within),
        sla.attempts if sla else None, words(sla and sla.over),
        [reasons[r].label if r in reasons else r for r, _ in h.reject_reasons])


def _stage(policy: ir.Policy, s: ir.Stage, teams: dict[str, TeamView],
           handoffs: list[HandoffView], labels: dict[str, str]) -> StageView:
    owner = teams[s.owner]
    stage_labels = {**labels, "accepted": f"accepted by the {owner.label} team"}
    entry = english.clauses(s.entry.expr, stage_labels) if s.entry else []
    return StageView(
        s.id, s.index + 1, s.label, owner, s.journey,
        segments(s.definition or "", policy), _stage_term(policy, s), entry,
        _entry_note(s), english.duration_in_words(s.max_age.text) if s.max_age else None,
        s.terminal, next((h for h in handoffs if h.to_id == s.id), None))


def _entry_note(s: ir.Stage) -> str:
    if s.entry is not None:
        expr = s.entry.expr
        several = isinstance(expr, BoolOp) and expr.op == "and"
        return "Enters when all of these hold:" if several else "Enters when:"
    if s.index == 0:
        return "Every new lead starts here."
    return "Reached only through the handoff into this stage."


def _stage_term(policy: ir.Policy, s: ir.Stage) -> tuple[str, str] | None:
    term = policy.terms.get(s.term or s.id)
    return (term.id, term.name) if term else None


def segments(text: str, policy: ir.Policy) -> list[Segment]:
    """`text` split at its `[[id]]` links; a link reads as the term's short name."""
    out, pos = [], 0
    for m in LINK.finditer(text):
        if m.start() > pos:
            out.append(Segment(text[pos:m.start()]))
        term = policy.terms.get(m.group(1))
        out.append(Segment(link_text(term), term.id) if term else Segment(m.group(0)))
        pos = m.end()
    if pos < len(text):
        out.append(Segment(text[pos:]))
    return out


def link_text(term: ir.Term) -> str:
    """How `[[id]]` reads in a sentence: an alias that spells the id (`ICP`), else the name."""
    spelled = term.id.replace("_", " ")
    alias = next((a for a in term.aliases if a.casefold() == spelled), None)
    if alias:
        return alias
    if term.name[1:2].isupper():
        return term.name
    return term.name[:1].lower() + term.name[1:]


def _model(m: ir.Model, labels: dict[str, str]) -> ModelView:
    label = english.display_label(m.label, m.id)
    decay = (f"half-life {english.duration_in_words(m.half_life.text)}" if m.half_life else None)
    grades = [(g, english.number(p)) for g, p in m.grades]
    return ModelView(m.id, label if label.lower().endswith("score") else f"{label} score",
                     m.kind, KINDS.get(m.kind, m.kind), [_rule(r, labels) for r in m.rules],
                     grades, decay, m.cap, m.min)


def _rule(r: ir.Rule, labels: dict[str, str]) -> RuleView:
    if r.on is not None:
        when = english.event_to_english(r.on, r.where.expr if r.where else None, labels)
    else:
        when = english.to_english(r.when.expr, labels) if r.when else "always"
    limits = [f"at most {english.number(r.max)} in total"] if r.max is not None else []
    if r.once:
        limits.append("first time only")
    elif r.on is not None:
        limits.insert(0, "every time")
    return RuleView(r.id, r.label or english.default_label(r.id), when, r.points,
                    ", ".join(limits))


def _terms(policy: ir.Policy, teams: dict[str, TeamView]) -> list[TermView]:
    out = []
    for t in sorted(policy.terms.values(), key=lambda t: (t.name.casefold(), t.id)):
        used = [(s.id, s.label) for s in policy.stages if (s.term or s.id) == t.id]
        approved = [teams.get(a, UNKNOWN_TEAM) for a in t.approved_by]
        out.append(TermView(t.id, t.name, segments(t.definition, policy), list(t.aliases),
                            approved, used))
    return out


def _reasons(policy: ir.Policy) -> list[ReasonView]:
    dq = policy.disqualification
    if dq is None:
        return []
    return [ReasonView(r.id, r.label, _comes_back(policy, r.recycle), _recycle_to(policy, r))
            for r in dq.reasons.values()]


def _recycle_to(policy: ir.Policy, r: ir.Reason) -> str | None:
    to = r.recycle.to if r.recycle and not r.recycle.never else None
    return stage_label(policy.stage(to), to) if to else None


def _comes_back(policy: ir.Policy, rec: ir.Recycle | None) -> str:
    if rec is None:
        return "no recycle rule stated"
    if rec.never:
        return "never: the lead stays disqualified"
    if rec.after is not None:
        return f"{english.duration_in_words(rec.after.text)} after it was disqualified"
    if rec.before is not None:
        f = policy.fields.get(rec.before)
        name = english.display_label(f.label, f.id) if f else rec.before
        lead = english.duration_in_words(rec.lead_time.text) if rec.lead_time else "0 days"
        return f"{lead} before {name}"
    return "when the lead qualifies again"


def _max_recycles(policy: ir.Policy) -> int | None:
    return policy.disqualification.max_recycles if policy.disqualification else None


# ---------------------------------------------------------------------------------------------
# The plan's figures


def compute_plan(policy: ir.Policy) -> Any:
    """The plan table from `compiler.plan`, or None when it cannot be computed."""
    try:
        from alignctl.compiler.plan import compute_plan as compute
    except ImportError:
        return None
    try:
        return compute(policy)
    except Exception:  # noqa: BLE001 - the documents are still worth having without numbers
        return None


def _noun(stage_id: str, fallback: str) -> str:
    """How people count leads at a stage, in the plural: `MQLs`, `inquiries`."""
    try:
        from alignctl.compiler.plan import noun
    except ImportError:
        return fallback
    return noun(stage_id)


def _count_words(value: float | None, stage_id: str) -> str | None:
    """`95 MQLs`, `1,600 inquiries`: the plan's way of counting leads at a stage."""
    if value is None:
        return None
    from alignctl.compiler.plan import count

    return count(value, stage_id)


def _how(fig: Any) -> str | None:
    return fig.explain if fig is not None else None


def _value(fig: Any) -> float | None:
    return fig.value if fig is not None else None


def _apply_plan(policy: ir.Policy, view: View) -> None:
    table = compute_plan(policy)
    if table is None:
        return
    for stage in view.stages:
        row = table.stage(stage.id)
        if row is not None:
            stage.expected, stage.expected_how = _value(row.expected), _how(row.expected)
            stage.required, stage.required_how = _value(row.required), _how(row.required)
            stage.conversion, stage.commitment = row.conversion, row.commitment
            stage.commitment_words = _count_words(row.commitment, stage.id)
            stage.noun = _noun(stage.id, stage.label)
    for team in view.teams:
        row = table.team(team.id)
        if row is not None:
            team.capacity, team.capacity_how = _value(row.capacity), _how(row.capacity)
            team.load, team.load_how = _value(row.load), _how(row.load)
            team.required_load, team.sources = _value(row.required_load), list(row.sources)
    view.key = _key_numbers(policy, table, view)


def _key_numbers(policy: ir.Policy, table: Any, view: View) -> dict[str, Any]:
    rt = policy.plan.revenue_target if policy.plan else None
    won = next((s for s in view.stages if s.id == table.won_stage), None)
    committed = [s for s in view.stages if s.commitment is not None]
    return {
        "revenue": (f"{english.number(rt.amount)} {rt.currency} per {rt.per}" if rt else None),
        "revenue_period": _how(table.target), "target": _value(table.target),
        "deals": _value(table.deals),
        "deals_how": _how(table.deals), "won": won,
        "deal_size": (english.number(policy.plan.average_deal_size)
                      if policy.plan and policy.plan.average_deal_size else None),
        "currency": table.currency, "top": view.stages[0] if view.stages else None,
        "committed": committed,
    }
