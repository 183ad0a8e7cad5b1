"""Hover texts (Markdown): what an id means, read from the IR where the policy lowered, from the
raw document otherwise; and the catalogue entry of a diagnostic code."""

from __future__ import annotations

from typing import Any

from alignctl.policy.codes import CODES

from .analysis import Analysis
from .index import Occ, Sym

BUILTIN_DOCS = {
    "accepted": "**built-in** `accepted` (true/false): in a stage's entry, the stage's "
                "`<stage>_accepted` checkbox, set when Sales accepts the handoff into it.",
    "days_in_stage": "**built-in** `days_in_stage` (number): days since `<stage>_entered_at`.",
    "recycle_count": "**built-in** `recycle_count` (integer): how many times the lead was recycled.",
    "score": "**score** (number): the sum of every model's score.",
    "grade": "**grade**: the fit grade of the model that declares `grades` (below the last: D).",
}
FUNCTION_DOCS = {
    "count": "**count**(EVENT [where COND] [within DURATION]) -> integer: how many of the "
             "lead's events match. Over no events: 0.",
    "has": "**has**(EVENT [where COND] [within DURATION]) -> true/false: at least one matching "
           "event. Over no events: false.",
    "days_since": "**days_since**(EVENT | date_field) -> number: days since the latest event, or "
                  "since the date (negative: in the future).",
}
KEYWORD_DOCS = {
    "and": "`a and b`: both (three-valued: unknown and false is false)",
    "or": "`a or b`: either (unknown or true is true)",
    "not": "`not a`; `x not in [...]`",
    "in": '`x in ["a", "b"]`: one of the listed values',
    "contains": '`text contains "..."` (case-sensitive)',
    "startswith": '`text startswith "..."` (case-sensitive)',
    "endswith": '`text endswith "..."` (case-sensitive)',
    "matches": '`text matches "(?i)regex"`: a regular expression search',
    "where": "`count(event where COND)`: COND reads the event's properties",
    "within": "`has(event within 30d)`: only events of the last 30 days",
    "true": "the literal true", "false": "the literal false",
}


def _fmt(value: float) -> str:
    from alignctl.compiler.plan import num

    return num(value) if value not in (float("inf"), float("-inf")) else "unbounded"


def _labels(analysis: Analysis) -> dict[str, str]:
    from alignctl.policy.english import policy_labels

    try:
        return policy_labels(analysis.policy) if analysis.policy else {}
    except Exception:  # noqa: BLE001
        return {}


def _raw(analysis: Analysis, *path) -> Any:
    node = analysis.doc.data if analysis.doc else None
    for step in path:
        if isinstance(node, dict):
            node = node.get(step)
        else:
            return None
    return node


def _uses(analysis: Analysis, sym: Sym) -> str:
    if analysis.index is None:
        return ""
    refs = analysis.index.refs(sym)
    files = {o.span.file for o in refs}
    where = f" in {len(files)} files" if len(files) > 1 else ""
    return f"\n\nUsed {len(refs)} time{'s' if len(refs) != 1 else ''}{where}."


def hover_symbol(analysis: Analysis, occ: Occ, checks_url: str | None = None) -> str | None:
    """Markdown for the symbol under the cursor; None when there is nothing to say."""
    sym = occ.sym
    fn = globals().get(f"_{sym.kind}")
    if fn is None:
        return None
    try:
        text = fn(analysis, sym, checks_url) if sym.kind == "code" else fn(analysis, sym)
    except Exception:  # noqa: BLE001 - a hover is never worth a crash
        text = None
    if text is None:
        return f"**{sym.kind}** `{sym.label}` is not defined in this policy."
    return text


def _team(a: Analysis, sym: Sym) -> str | None:
    t = a.policy.teams.get(sym.name) if a.policy else None
    if t is None:
        raw = _raw(a, "teams", sym.name)
        return None if raw is None else f"**team** `{sym.name}` ({_raw(a, 'teams', sym.name, 'kind')})"
    lines = [f"**team** `{t.id}` — {t.label} ({t.kind})"]
    if t.lead:
        lines.append(f"- lead: {t.lead}")
    cap = t.capacity_per_period()
    if t.reps is not None:
        per = f", can work {_fmt(cap)} leads per {a.policy.meta.period}" if cap else ""
        lines.append(f"- {t.reps} reps{per}")
    stages = [s.id for s in a.policy.stages if s.owner == t.id]
    if stages:
        lines.append("- owns stages " + ", ".join(f"`{s}`" for s in stages))
    row = _plan_row(a, "team", t.id)
    if row is not None and row.load is not None:
        util = f" ({row.utilisation:.0%} of capacity)" if row.utilisation is not None else ""
        lines.append(f"- receives {row.load.explain}{util}")
    if t.description:
        lines.append("\n" + t.description)
    return "\n".join(lines) + _uses(a, sym)


def _field(a: Analysis, sym: Sym) -> str | None:
    f = a.policy.fields.get(sym.name) if a.policy else None
    if f is None:
        raw = _raw(a, "fields", sym.name)
        if not isinstance(raw, dict):
            return None
        return f"**field** `{sym.name}`: {raw.get('type')}, owner `{raw.get('owner')}`" + \
            _uses(a, sym)
    lines = [f"**field** `{f.id}` — {f.label}", f"- type: {f.type}"]
    if f.owner:
        team = a.policy.teams.get(f.owner)
        lines.append(f"- owner: `{f.owner}`" + (f" ({team.label}, {team.kind})" if team else ""))
    lines.append(f"- source: {f.source or '(none stated)'}")
    if f.required:
        lines.append("- required")
    if f.values:
        lines.append("- values: " + ", ".join(
            f"`{v.id}`" + (f" ({v.label})" if v.label != v.id else "") for v in f.values))
    if f.description:
        lines.append("\n" + f.description)
    return "\n".join(lines) + _uses(a, sym)


def _value(a: Analysis, sym: Sym) -> str | None:
    owner = sym.parent
    values = ()
    if a.policy and "." in owner:
        event, prop = owner.split(".", 1)
        p = a.policy.events.get(event).properties.get(prop) if event in a.policy.events else None
        values = p.values if p else ()
    elif a.policy and owner in a.policy.fields:
        values = a.policy.fields[owner].values
    v = next((v for v in values if v.id == sym.name), None)
    if v is None:
        return None
    label = f" — {v.label}" if v.label != v.id else ""
    return f"**value** `{v.id}` of `{owner}`{label}" + _uses(a, sym)


def _event(a: Analysis, sym: Sym) -> str | None:
    e = a.policy.events.get(sym.name) if a.policy else None
    if e is None:
        return f"**event** `{sym.name}`" if sym.name in (_raw(a, "events") or {}) else None
    lines = [f"**event** `{e.id}` — {e.label}"]
    for p in e.properties.values():
        vals = f": {', '.join(v.id for v in p.values)}" if p.values else ""
        lines.append(f"- property `{p.id}` ({p.type}{vals})")
    if not e.properties:
        lines.append("- no properties")
    rules = [r for r in a.policy.rules() if r.on == e.id]
    if rules:
        lines.append("- scored by " + ", ".join(f"`{r.id}` ({r.points:+d})" for r in rules))
    if e.description:
        lines.append("\n" + e.description)
    return "\n".join(lines) + _uses(a, sym)


def _property(a: Analysis, sym: Sym) -> str | None:
    e = a.policy.events.get(sym.parent) if a.policy else None
    p = e.properties.get(sym.name) if e else None
    if p is None:
        return None
    vals = "\n- values: " + ", ".join(f"`{v.id}`" for v in p.values) if p.values else ""
    return f"**property** `{p.id}` of event `{e.id}` — {p.label}\n- type: {p.type}{vals}" + \
        _uses(a, sym)


def _term(a: Analysis, sym: Sym) -> str | None:
    t = a.policy.terms.get(sym.name) if a.policy else None
    if t is None:
        raw = _raw(a, "terms", sym.name)
        if not isinstance(raw, dict):
            return None
        return f"**term** `{sym.name}` — {raw.get('name')}\n\n> {raw.get('definition')}"
    lines = [f"**term** `{t.id}` — {t.name}", "", "> " + " ".join(t.definition.split()), ""]
    approvers = []
    for team_id in t.approved_by:
        team = a.policy.teams.get(team_id)
        approvers.append(f"`{team_id}`" + (f" ({team.kind})" if team else " (not a team)"))
    lines.append("Approved by " + (", ".join(approvers) if approvers else "nobody yet") + ".")
    if t.aliases:
        lines.append("Also called: " + ", ".join(t.aliases) + ".")
    return "\n".join(lines) + _uses(a, sym)


def _stage(a: Analysis, sym: Sym) -> str | None:
    s = a.policy.stage(sym.name) if a.policy else None
    if s is None:
        return None
    from alignctl.policy.english import to_english

    n = len(a.policy.stages)
    head = f"**stage** `{s.id}` — {s.label} (stage {s.index + 1} of {n}), owned by `{s.owner}`"
    lines = [head]
    if s.terminal:
        lines.append(f"- terminal: {s.terminal}")
    if s.entry is not None:
        lines.append(f"- entry: {to_english(s.entry.expr, _labels(a))}")
    elif s.index > 0:
        lines.append("- entry: by handoff only")
    if s.max_age:
        lines.append(f"- max age: {s.max_age.text}")
    for h in a.policy.handoffs:
        if s.id in (h.from_stage, h.to_stage):
            sla = f", accept within {h.sla.accept_within.text}" if h.sla and h.sla.accept_within \
                else ""
            lines.append(f"- handoff `{h.from_stage}` -> `{h.to_stage}`{sla}")
    row = _plan_row(a, "stage", s.id)
    if row is not None:
        per = a.policy.meta.period
        if row.expected is not None:
            lines.append(f"- expected per {per}: {row.expected.explain}")
        if row.required is not None:
            lines.append(f"- required per {per}: {row.required.explain}")
        if row.headroom is not None:
            lines.append(f"- headroom: {row.headroom:+.0%}")
    if s.definition:
        lines.append("\n" + " ".join(s.definition.split()))
    return "\n".join(lines) + _uses(a, sym)


def _plan_row(a: Analysis, kind: str, ident: str):
    if a.policy is None or a.policy.plan is None:
        return None
    from alignctl.compiler.plan import compute_plan

    try:
        table = compute_plan(a.policy)
    except Exception:  # noqa: BLE001 - a plan that cannot be computed shows no figures
        return None
    return table.stage(ident) if kind == "stage" else table.team(ident)


def _model(a: Analysis, sym: Sym) -> str | None:
    m = a.policy.models.get(sym.name) if a.policy else None
    if m is None:
        return None
    from alignctl.compiler.bounds import bounds_of

    b = bounds_of(m)
    lines = [f"**model** `{m.id}` — {m.label} ({m.kind}, {len(m.rules)} rules)",
             f"- scores from {_fmt(b.lo)} to {_fmt(b.hi)}"]
    if b.hi_parts:
        lines.append("- most: " + " + ".join(f"`{r}` {_fmt(p)}" for r, p in b.hi_parts))
    if m.cap is not None:
        lines.append(f"- cap: {m.cap}")
    if m.half_life:
        lines.append(f"- decay: half-life {m.half_life.text}")
    if m.grades:
        lines.append("- grades: " + ", ".join(f"{g} >= {t}" for g, t in m.grades)
                     + " (conditions read it as `grade`; below the last: D)")
    return "\n".join(lines) + _uses(a, sym)


def _rule(a: Analysis, sym: Sym) -> str | None:
    m = a.policy.models.get(sym.parent) if a.policy else None
    r = next((r for r in m.rules if r.id == sym.name), None) if m else None
    if r is None:
        return None
    from alignctl.compiler.bounds import bounds_of
    from alignctl.policy.english import event_to_english, to_english

    labels = _labels(a)
    if r.when is not None:
        cond = "when " + to_english(r.when.expr, labels)
    elif r.on is not None:
        cond = "each time the lead " + event_to_english(
            r.on, r.where.expr if r.where else None, labels)
    else:
        cond = ""
    limits = []
    if r.once:
        limits.append("once")
    if r.max is not None:
        limits.append(f"at most {r.max} points")
    extra = f" ({', '.join(limits)})" if limits else ""
    b = bounds_of(m)
    lines = [f"**rule** `{r.id}` of model `{m.id}` ({m.kind})",
             f"- {r.points:+d} points {cond}{extra}",
             f"- model `{m.id}` scores at most {_fmt(b.hi)} and at least {_fmt(b.lo)}"
             + (f" (cap {m.cap})" if m.cap is not None else "")]
    if r.description:
        lines.append("\n" + r.description)
    return "\n".join(lines)


def _reason(a: Analysis, sym: Sym) -> str | None:
    d = a.policy.disqualification if a.policy else None
    r = d.reasons.get(sym.name) if d else None
    if r is None:
        return None
    rec = r.recycle
    if rec is None:
        how = "no recycle rule"
    elif rec.never:
        how = "never recycled"
    elif rec.before:
        lead = f" {rec.lead_time.text}" if rec.lead_time else ""
        how = f"recycled to `{rec.to}`{lead} before `{rec.before}`"
    else:
        how = f"recycled to `{rec.to}` after {rec.after.text if rec.after else '?'}"
    return f"**reason** `{r.id}` — {r.label}\n- {how}" + _uses(a, sym)


def _code(a: Analysis, sym: Sym, checks_url: str | None) -> str | None:
    return code_hover(sym.name, a, checks_url)


def code_hover(code: str, a: Analysis | None, checks_url: str | None) -> str | None:
    c = CODES.get(code)
    if c is None:
        return None
    override = a.policy.severity.get(code) if a is not None and a.policy else None
    sev = f"{c.severity} by default, {override} in this policy" if override else str(c.severity)
    link = f"\n\n[{code} in the check catalogue]({checks_url}#{code.lower()})" if checks_url \
        else ""
    return f"**{code}** ({c.area}, {sev}): {c.summary}.{link}"


def hover_word(word: str, in_expr: bool) -> str | None:
    """Markdown for a built-in name, function or keyword of the condition language."""
    if not in_expr:
        return None
    return BUILTIN_DOCS.get(word) or FUNCTION_DOCS.get(word) or (
        f"**{word}**: {KEYWORD_DOCS[word]}" if word in KEYWORD_DOCS else None)
