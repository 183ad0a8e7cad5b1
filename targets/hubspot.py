"""HubSpot: property groups and properties as batch-create bodies for contacts (and deals, for
the fields after conversion), the lead status options, the lifecycle stage mapping, and the lead
scoring checklist (HubSpot's scoring tool has no configuration API).

Fields bound to a default property (`jobtitle`, `hs_lead_status`, a deal's `amount`) are not
created; the checklist and `fields.json` name them by HubSpot's names.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

from alignctl.compiler import ir
from alignctl.compiler.bindings import table
from alignctl.policy.english import duration_in_words, event_to_english, policy_labels, to_english
from alignctl.policy.expr import children
from alignctl.policy.expr_ast import Expr, StrMatch

from .crm import (
    LEAD,
    NO_GRADE,
    OPPORTUNITY,
    CrmField,
    CrmSpec,
    Statuses,
    dump_json,
    one_line,
    policy_stamp,
    readme_bindings,
    refs,
    statuses,
)
from .markdown import md

OBJECT_TYPE = "contacts"
TYPES: Mapping[str, tuple[str, str]] = {
    "string": ("string", "text"), "email": ("string", "text"), "text": ("string", "textarea"),
    "integer": ("number", "number"), "number": ("number", "number"),
    "currency": ("number", "number"), "percent": ("number", "number"),
    "boolean": ("bool", "booleancheckbox"), "date": ("date", "date"),
    "datetime": ("datetime", "date"), "enum": ("enumeration", "select"),
    "multi_enum": ("enumeration", "checkbox"),
}
CLASH_PREFIX = "align_"
# hs_lead_status: HubSpot's default values, kept when the stages are added (value, label).
LEAD_STATUS_DEFAULTS = (("NEW", "New"), ("OPEN", "Open"), ("IN_PROGRESS", "In Progress"),
                        ("OPEN_DEAL", "Open Deal"), ("UNQUALIFIED", "Unqualified"),
                        ("ATTEMPTED_TO_CONTACT", "Attempted to Contact"),
                        ("CONNECTED", "Connected"), ("BAD_TIMING", "Bad Timing"))
LIFECYCLE = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity",
             "customer", "evangelist", "other")
SYNONYMS = {
    "subscriber": "subscriber", "newsletter": "subscriber",
    "lead": "lead", "inquiry": "lead", "enquiry": "lead", "prospect": "lead",
    "mql": "marketingqualifiedlead", "marketingqualifiedlead": "marketingqualifiedlead",
    "sql": "salesqualifiedlead", "salesqualifiedlead": "salesqualifiedlead",
    "opportunity": "opportunity", "opp": "opportunity", "deal": "opportunity",
    "customer": "customer", "won": "customer", "closedwon": "customer", "client": "customer",
    "evangelist": "evangelist", "advocate": "evangelist", "promoter": "evangelist",
    "other": "other",
}
GROUPS = {"lifecycle_stage": "funnel", "owner_team": "funnel", "stage_entered_at": "funnel",
          "accept_due_at": "funnel", "accepted": "funnel", "accepted_at": "funnel",
          "first_touch_at": "funnel", "attempts": "funnel", "model_score": "scoring",
          "lead_score": "scoring", "fit_grade": "scoring", "disqualification": "disqualification",
          "recycle_on": "disqualification", "recycle_count": "disqualification",
          "disqualified_at": "disqualification"}
GROUP_LABELS = {"funnel": "Funnel and handoffs", "scoring": "Lead scoring",
                "disqualification": "Disqualification and recycling"}


# --- names --------------------------------------------------------------------------------------

def reused(spec: CrmSpec, f: CrmField) -> bool:
    """A field that is one of HubSpot's properties (bound): it is not created."""
    return f.bound("hubspot") is not None


def default_names() -> set[str]:
    return {name for props in table("hubspot").values() for name in props}


def api_names(spec: CrmSpec) -> dict[str, str]:
    prefix = spec.prefix.lower()
    defaults = default_names()
    names: dict[str, str] = {}
    for f in spec.fields:
        bound = f.bound("hubspot")
        if bound is not None:
            names[f.id] = bound.name
            continue
        name = prefix + f.id
        if name in defaults or name.startswith("hs_"):
            name = CLASH_PREFIX + name
        while name in names.values():
            name += "_1"
        names[f.id] = name
    return names


def group_of(spec: CrmSpec, f: CrmField) -> str:
    prefix = spec.prefix.lower()
    if f.generated:
        return f"{prefix}alignment_{GROUPS[f.role]}"
    return f"{prefix}alignment_{f.owner}_data" if f.owner else f"{prefix}alignment_lead_data"


def _group_label(spec: CrmSpec, f: CrmField) -> str:
    if f.generated:
        return "Alignment: " + GROUP_LABELS[GROUPS[f.role]]
    team = spec.policy.teams.get(f.owner) if f.owner else None
    return f"Alignment: {one_line(team.label) if team else 'Lead'} data"


# --- bodies -------------------------------------------------------------------------------------

def property_groups(spec: CrmSpec, obj: str = LEAD) -> dict:
    groups: dict[str, str] = {}
    for f in spec.created("hubspot", obj):
        groups.setdefault(group_of(spec, f), _group_label(spec, f))
    return {"inputs": [{"name": name, "label": label, "displayOrder": i}
                       for i, (name, label) in enumerate(groups.items())]}


def _options(f: CrmField) -> list[dict]:
    if f.type == "boolean":
        pairs = [("true", "Yes"), ("false", "No")]
    else:
        pairs = [(v.id, one_line(v.label) or v.id) for v in f.values]
    return [{"label": label, "value": value, "displayOrder": i, "hidden": False}
            for i, (value, label) in enumerate(pairs)]


def _description(f: CrmField, policy: ir.Policy) -> str:
    parts = [f.description.strip()] if f.description and f.description.strip() else []
    team = policy.teams.get(f.owner) if f.owner else None
    if team is not None:
        parts.append(f"Owner: {team.label}.")
    if f.source:
        parts.append(f"Source: {one_line(f.source)}.")
    parts.append(f"Generated by alignctl from {one_line(policy.meta.name)} "
                 f"{one_line(policy.meta.version)}.")
    return " ".join(parts)


def properties(spec: CrmSpec, names: Mapping[str, str], obj: str = LEAD) -> dict:
    inputs = []
    for i, f in enumerate(spec.created("hubspot", obj)):
        hs_type, field_type = TYPES[f.type]
        prop = {"name": names[f.id], "label": one_line(f.label) or f.id, "type": hs_type,
                "fieldType": field_type, "groupName": group_of(spec, f),
                "description": _description(f, spec.policy), "displayOrder": i,
                "hidden": False, "formField": not f.generated and f.source == "form"}
        if hs_type in ("enumeration", "bool"):
            prop["options"] = _options(f)
        inputs.append(prop)
    return {"inputs": inputs}


# --- lifecycle mapping --------------------------------------------------------------------------

def _key(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


def lifecycle_value(stage: ir.Stage) -> str | None:
    if stage.terminal == "won":
        return "customer"
    return SYNONYMS.get(_key(stage.id)) or SYNONYMS.get(_key(stage.label))


def _lifecycle(policy: ir.Policy) -> tuple[list[dict], list[dict]]:
    mapped, unmapped, furthest = [], [], -1
    for s in policy.stages:
        value = lifecycle_value(s)
        rank = LIFECYCLE.index(value) if value else -1
        if value is None or rank < furthest:
            why = ("no default lifecycle stage has this name" if value is None else
                   f"`{value}` would move the lifecycle stage backwards")
            unmapped.append({"stage": s.id, "label": s.label, "reason": why})
            continue
        furthest = rank
        mapped.append({"stage": s.id, "label": s.label, "lifecyclestage": value})
    return mapped, unmapped


def lifecycle_values(policy: ir.Policy) -> dict[str, str]:
    """stage id -> `lifecyclestage` value, for the stages lifecycle-mapping.json maps."""
    return {m["stage"]: m["lifecyclestage"] for m in _lifecycle(policy)[0]}


def generated_binding(policy: ir.Policy, f: CrmField) -> str | None:
    """HubSpot's own property for a generated field: the date a contact first entered a
    lifecycle stage (`hs_lifecyclestage_<value>_date`, which HubSpot sets) is the entry time of
    the first stage mapped onto that value, unless recycled leads can enter the stage again
    (HubSpot keeps the first date, where the stage time must restart)."""
    if f.role != "stage_entered_at" or f.object != LEAD or _reentered(policy, f.subject):
        return None
    values = lifecycle_values(policy)
    value = values.get(f.subject or "")
    first = next((sid for sid, v in values.items() if v == value), None)
    return f"hs_lifecyclestage_{value}_date" if value and first == f.subject else None


def _reentered(policy: ir.Policy, stage_id: str | None) -> bool:
    """Whether a recycled lead can enter `stage_id` again: it is at or after a recycle target."""
    d = policy.disqualification
    targets = [policy.stage(r.recycle.to) for r in (d.reasons.values() if d else ())
               if r.recycle and r.recycle.to and policy.stage(r.recycle.to)]
    stage = policy.stage(stage_id or "")
    return stage is None or any(t.index <= stage.index for t in targets)


def lifecycle_mapping(spec: CrmSpec, names: Mapping[str, str]) -> dict:
    """Stages onto HubSpot's default `lifecyclestage` values, where the names match and the
    order is kept (HubSpot moves a contact's lifecycle stage forward only)."""
    mapped, unmapped = _lifecycle(spec.policy)
    stage_field = names.get("lifecycle_stage")
    st = statuses(spec.policy)
    return {"_policy": policy_stamp(spec.policy), "object_type": OBJECT_TYPE,
            "property": "lifecyclestage", "stage_property": stage_field,
            "mapped": mapped, "unmapped": unmapped,
            "statuses": [{"status": v, "value": hs}
                         for v, hs in lead_status_values(st).items()],
            "deal_stages": [{"stage": sid, "label": label} for sid, label in st.later]}


# --- lead status --------------------------------------------------------------------------------

def lead_status_values(st: Statuses) -> dict[str, str]:
    """Our status -> the `hs_lead_status` value: the stages as added values, disqualified and
    recycled onto HubSpot's own Unqualified and Bad Timing."""
    out = {v: v for v, _ in st.values}
    out[st.disqualified], out[st.recycled] = "UNQUALIFIED", "BAD_TIMING"
    return out


def lead_status_options(st: Statuses) -> dict:
    """The body of PATCH /crm/v3/properties/contacts/hs_lead_status: HubSpot's values kept
    (a PATCH replaces the options), the stages added after them."""
    labels = dict(st.values)
    ours = [(v, one_line(labels[v]) or v) for v in lead_status_values(st).values()
            if v not in dict(LEAD_STATUS_DEFAULTS)]
    pairs = list(LEAD_STATUS_DEFAULTS) + ours
    return {"options": [{"label": label, "value": value, "displayOrder": i, "hidden": False}
                        for i, (value, label) in enumerate(pairs)]}


# --- conditions in plain words -----------------------------------------------------------------

class Words:
    """Conditions in plain English (`alignctl.policy.english`), escaped for Markdown."""

    def __init__(self, policy: ir.Policy) -> None:
        self.labels = policy_labels(policy)

    def cond(self, e: Expr) -> str:
        return md(to_english(e, self.labels))

    def when(self, e: Expr) -> str:
        """As a clause after "when": verb phrases ("has been recycled ...") get a subject."""
        text = self.cond(e)
        return f"the contact {text}" if text[:1].islower() else text

    def event(self, rule: ir.Rule) -> str:
        return md(event_to_english(rule.on or "", rule.where.expr if rule.where else None,
                                   self.labels))


def grades_text(grades: tuple[tuple[str, int], ...]) -> str:
    parts = [f"{md(g)} from {points:,}" for g, points in grades]
    if NO_GRADE not in dict(grades):
        parts.append(f"{NO_GRADE} below that")
    return ", ".join(parts)


def hubspot_gap(rule: ir.Rule) -> str | None:
    """Why HubSpot's criteria cannot state a rule exactly, if they cannot."""
    cond = rule.when or rule.where
    if cond is None:
        return None
    if any(isinstance(x, StrMatch) and x.op == "matches" for x in _nodes(cond.expr)):
        return ("a regular expression (`matches`): HubSpot criteria have no regex; list the "
                "alternatives with “contains any of” and check the result")
    if rule.when is not None and any(r.kind == "builtin" for r in refs(cond.expr)):
        return ("it reads a value alignctl's fields keep (a built-in such as the recycle "
                "count): use the generated property")
    return None


def _nodes(e: Expr) -> Iterator[Expr]:
    stack = [e]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(children(node))


# --- scoring checklist --------------------------------------------------------------------------

def scoring_setup(spec: CrmSpec, names: Mapping[str, str]) -> bytes:
    p = spec.policy
    words = Words(p)
    out = [f"# HubSpot lead scoring: {md(p.meta.name)} {md(p.meta.version)}", "",
           "Generated by `alignctl build --target crm`; edit the policy, not this file.", "",
           "HubSpot's lead scoring tool has no public configuration API, so this is the checklist "
           "for setting it up by hand (Marketing, Lead scoring). Create the properties in "
           "`properties.json` first: the criteria below read them.", "",
           "A contact with no value for a property does not meet a criterion on it, as in the "
           "policy: a missing value never adds or removes points.", ""]
    for i, m in enumerate(p.models.values(), start=1):
        out += _model_section(i, m, words, names, p)
    out += _thresholds(p, words)
    out += ["## After the setup", "",
            "- [ ] Score a few test contacts and compare HubSpot's scores with the "
            + ", ".join(f"`{names[f.id]}`" for f in spec.by_role("model_score"))
            + " properties that the scoring runtime writes.", ""]
    return ("\n".join(out).rstrip("\n") + "\n").encode("utf-8")


def _model_section(i: int, m: ir.Model, words: Words, names: Mapping[str, str],
                   policy: ir.Policy) -> list[str]:
    kind = "Fit" if m.kind == "fit" else "Engagement"
    out = [f"## {i}. {kind} score: {md(m.label)} (`{m.id}`)", ""]
    if m.description:
        out += [md(m.description), ""]
    limit = score_limit(m, policy)
    out.append(f"- [ ] Create a score on Contacts of type **{kind}**, named {md(m.label)}.")
    out.append(f"- [ ] Score limit: {_num(limit)} points ("
               + ("the policy's `cap`" if m.cap is not None else "the most the rules can add")
               + ").")
    if m.half_life is not None:
        out.append("- [ ] " + decay_text(m.half_life))
    if m.min is not None:
        out.append(f"- [ ] Lowest score: {m.min} points (HubSpot has no floor setting: note it "
                   "for reports).")
    out += ["", "One group per rule, so each rule's limit is the group's limit:", ""]
    out += [_rule_line(r, words) for r in m.rules]
    inexpressible = [(r, why) for r in m.rules if (why := hubspot_gap(r))]
    if inexpressible:
        out += ["", "HubSpot's criteria cannot state these exactly:", ""]
        out += [f"- `{r.id}`: {md(why)}" for r, why in inexpressible]
    if m.grades:
        out += ["", "- [ ] Score thresholds: one tier per grade, with these score limits "
                f"(the scoring runtime writes the grade to `{names.get('fit_grade', 'fit_grade')}`"
                "; the tiers should agree with it):", ""]
        out += [f"  - {md(g)}: {text}" for g, text in tiers(m.grades, limit)]
    return out + [""]


def score_limit(m: ir.Model, policy: ir.Policy) -> float:
    """HubSpot's score limit: the policy's cap, else the most a lead can score."""
    from alignctl.compiler.bounds import model_bounds

    return m.cap if m.cap is not None else max(model_bounds(m, policy)[1], 0)


def tiers(grades: tuple[tuple[str, int], ...], limit: float) -> list[tuple[str, str]]:
    """Each grade's score range, best first: from its threshold to below the next better one;
    the last tier (`D` unless declared) takes everything below the lowest threshold."""
    out, upper = [], None
    for g, points in grades:
        top = f"{_num(limit)}" if upper is None else f"{_num(upper - 1)}"
        out.append((g, f"{_num(points)} to {top}" if upper is None or points < upper else
                    f"from {_num(points)}"))
        upper = points
    if NO_GRADE not in dict(grades) and grades:
        out.append((NO_GRADE, f"below {_num(grades[-1][1])}"))
    return out


# HubSpot's decay setting: a percentage taken off engagement points once each period.
DECAY_PERCENTS = (10, 25, 50, 75)
DECAY_MONTHS = (1, 3, 6, 12)
MONTH_DAYS = 365.25 / 12


def decay_setting(half_life_days: float) -> tuple[int, int, float]:
    """(percent, months, resulting half-life in days) closest to the policy's half-life."""
    best = None
    for pct in DECAY_PERCENTS:
        for months in DECAY_MONTHS:
            days = months * MONTH_DAYS * math.log(0.5) / math.log(1 - pct / 100)
            err = abs(math.log(days / half_life_days))
            if best is None or err < best[0]:
                best = (err, pct, months, days)
    return best[1], best[2], best[3]


def decay_text(half_life: ir.Dur) -> str:
    days = half_life.seconds / 86400
    pct, months, got = decay_setting(days)
    period = "month" if months == 1 else f"{months} months"
    ratio = got / days
    close = ("about the same" if abs(ratio - 1) < 0.05 else
             f"{ratio:.1f} times as long" if ratio > 1 else f"{1 / ratio:.1f} times shorter")
    return (f"Decay: {pct} % every {period}. The policy halves points every "
            f"{duration_in_words(half_life.text)} (half-life `{half_life.text}`), continuously; "
            f"HubSpot takes {pct} % off once per {period}, which halves them in about "
            f"{got:.0f} days ({close}). The decay options assumed here are "
            + ", ".join(f"{p} %" for p in DECAY_PERCENTS) + " every "
            + ", ".join(str(n) for n in DECAY_MONTHS)
            + " months: pick the nearest your portal offers.")


def _num(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


def _rule_line(r: ir.Rule, words: Words) -> str:
    points = f"**{r.points:+d}**"
    name = f"`{r.id}`" + (f" ({md(r.label)})" if r.label else "")
    if r.when is not None:
        return f"- [ ] Group {name}: {points} when {words.when(r.when.expr)}."
    if r.once:
        return f"- [ ] Group {name}: {points} once, the first time the contact " \
               f"{words.event(r)}."
    limit = f"; group limit {r.max} points" if r.max is not None else ""
    return f"- [ ] Group {name}: {points} each time the contact {words.event(r)}{limit}."


def _thresholds(p: ir.Policy, words: Words) -> list[str]:
    staged = [s for s in p.stages if s.entry is not None]
    if not staged:
        return []
    out = ["## Thresholds the funnel uses", "",
           "The stages enter on these conditions; HubSpot's thresholds and workflows should "
           "match them:", ""]
    out += [f"- **{md(s.label)}** (`{s.id}`): {words.cond(s.entry.expr)}" for s in staged]
    return out + [""]


def emit(spec: CrmSpec) -> dict[str, bytes]:
    names = api_names(spec)
    files = {
        "property-groups.json": dump_json(property_groups(spec)),
        "properties.json": dump_json(properties(spec, names)),
        "lifecycle-mapping.json": dump_json(lifecycle_mapping(spec, names)),
        "scoring-setup.md": scoring_setup(spec, names),
    }
    if spec.created("hubspot", OPPORTUNITY):
        files["deal-property-groups.json"] = dump_json(property_groups(spec, OPPORTUNITY))
        files["deal-properties.json"] = dump_json(properties(spec, names, OPPORTUNITY))
    if names.get("lifecycle_stage") == "hs_lead_status":
        files["lead-status.json"] = dump_json(lead_status_options(statuses(spec.policy)))
    files["README.md"] = readme(spec, names, files)
    return files


def _curl(method: str, path: str, body: str) -> list[str]:
    return [f'curl -sS -X {method} "https://api.hubapi.com{path}" \\',
            '  -H "Authorization: Bearer $HUBSPOT_TOKEN" -H "Content-Type: application/json" \\',
            f"  -d {body}"]


def _create(obj: str, prefix: str) -> list[str]:
    return [f"jq -c '.inputs[]' {prefix}property-groups.json | while read -r group; do",
            *("  " + line for line in _curl("POST", f"/crm/v3/properties/{obj}/groups",
                                             '"$group"')),
            "done",
            *_curl("POST", f"/crm/v3/properties/{obj}/batch/create", f"@{prefix}properties.json")]


def readme(spec: CrmSpec, names: Mapping[str, str], files: Mapping[str, bytes]) -> bytes:
    p = spec.policy
    out = [f"# HubSpot setup for {md(p.meta.name)} {md(p.meta.version)}", "",
           "Generated by `alignctl build --target crm`; edit the policy, not these files.", "",
           "Create the groups one by one (HubSpot has no batch endpoint for groups), then the "
           "properties in one batch call:", "", "```sh", *_create("contacts", "")]
    if "deal-properties.json" in files:
        out += ["# the deal properties (fields after conversion)", *_create("deals", "deal-")]
    if "lead-status.json" in files:
        out += ["# the stages as lead status values (HubSpot's own values are kept)",
                *_curl("PATCH", "/crm/v3/properties/contacts/hs_lead_status",
                       "@lead-status.json")]
    out += ["```", "",
            "Then follow `scoring-setup.md` in HubSpot's lead scoring tool, and use "
            "`lifecycle-mapping.json` to set the default `lifecyclestage` from the stages.", ""]
    if "lead-status.json" in files:
        st = statuses(p)
        out += ["## Stages and lead status", "",
                "The stage is the contact's `hs_lead_status`: HubSpot's values stay, the stages "
                "are added; disqualified is `UNQUALIFIED` and recycled `BAD_TIMING`. "
                "`lifecyclestage` follows the stages as `lifecycle-mapping.json` says."]
        if st.later:
            out += ["", f"The lead converts at `{st.convert_at}`: the later stages ("
                    + ", ".join(f"`{sid}`" for sid, _ in st.later)
                    + ") are deal stages; add them to the deal pipeline."]
        out.append("")
    out += readme_bindings(spec, "hubspot", names)
    renamed = [f for f in spec.fields if not reused(spec, f)
               and names[f.id] != spec.prefix.lower() + f.id]
    if renamed:
        out += ["## Names", ""]
        out += [f"- `{f.id}` is created as `{names[f.id]}`: HubSpot already has a property "
                "of that name." for f in renamed]
        out.append("")
    return ("\n".join(out).rstrip("\n") + "\n").encode("utf-8")
