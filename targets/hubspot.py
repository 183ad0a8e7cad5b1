"""HubSpot: property groups and properties as batch-create bodies for contacts, the lifecycle stage
mapping, and the lead scoring checklist (HubSpot's scoring tool has no configuration API).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from alignctl.compiler import ir
from alignctl.policy.english import duration_in_words, event_to_english, policy_labels, to_english
from alignctl.policy.expr import children
from alignctl.policy.expr_ast import Expr, StrMatch

from .crm import NO_GRADE, CrmField, CrmSpec, dump_json, one_line, policy_stamp, refs
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
# Default contact properties (name -> HubSpot type): a policy field of the same name and a string
# type reuses the built-in one; any other clash gets the `align_` prefix. `hs_*` is HubSpot's.
BUILTIN = {
    "email": "string", "firstname": "string", "lastname": "string", "phone": "string",
    "mobilephone": "string", "fax": "string", "company": "string", "website": "string",
    "jobtitle": "string", "industry": "string", "address": "string", "city": "string",
    "state": "string", "zip": "string", "country": "string", "annualrevenue": "string",
    "message": "string", "salutation": "string", "twitterhandle": "string",
    "work_email": "string", "numemployees": "enumeration", "lifecyclestage": "enumeration",
    "hubspot_owner_id": "enumeration", "createdate": "datetime", "lastmodifieddate": "datetime",
    "closedate": "datetime", "associatedcompanyid": "number", "num_notes": "number",
    "recent_deal_amount": "number", "total_revenue": "number", "days_to_close": "number",
}
CLASH_PREFIX = "align_"
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
    """A policy field that maps onto HubSpot's built-in property of the same name."""
    return (not spec.prefix and not f.generated and BUILTIN.get(f.id) == "string"
            and TYPES[f.type][0] == "string")


def api_names(spec: CrmSpec) -> dict[str, str]:
    prefix = spec.prefix.lower()
    names: dict[str, str] = {}
    for f in spec.fields:
        name = prefix + f.id
        if not reused(spec, f) and (name in BUILTIN or name.startswith("hs_")):
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

def property_groups(spec: CrmSpec) -> dict:
    groups: dict[str, str] = {}
    for f in spec.fields:
        if not reused(spec, f):
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


def properties(spec: CrmSpec, names: Mapping[str, str]) -> dict:
    inputs = []
    for i, f in enumerate(x for x in spec.fields if not reused(spec, x)):
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


def lifecycle_mapping(spec: CrmSpec, names: Mapping[str, str]) -> dict:
    """Stages onto HubSpot's default `lifecyclestage` values, where the names match and the
    order is kept (HubSpot moves a contact's lifecycle stage forward only)."""
    mapped, unmapped, furthest = [], [], -1
    for s in spec.policy.stages:
        value = lifecycle_value(s)
        rank = LIFECYCLE.index(value) if value else -1
        if value is None or rank < furthest:
            why = ("no default lifecycle stage has this name" if value is None else
                   f"`{value}` would move the lifecycle stage backwards")
            unmapped.append({"stage": s.id, "label": s.label, "reason": why})
            continue
        furthest = rank
        mapped.append({"stage": s.id, "label": s.label, "lifecyclestage": value})
    stage_field = names.get("lifecycle_stage")
    return {"_policy": policy_stamp(spec.policy), "object_type": OBJECT_TYPE,
            "property": "lifecyclestage", "stage_property": stage_field,
            "mapped": mapped, "unmapped": unmapped}


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
        out += _model_section(i, m, words, names)
    out += _thresholds(p, words)
    out += ["## After the setup", "",
            "- [ ] Score a few test contacts and compare HubSpot's scores with the "
            + ", ".join(f"`{names[f.id]}`" for f in spec.by_role("model_score"))
            + " properties that the scoring runtime writes.", ""]
    return ("\n".join(out).rstrip("\n") + "\n").encode("utf-8")


def _model_section(i: int, m: ir.Model, words: Words, names: Mapping[str, str]) -> list[str]:
    kind = "Fit" if m.kind == "fit" else "Engagement"
    out = [f"## {i}. {kind} score: {md(m.label)} (`{m.id}`)", ""]
    if m.description:
        out += [md(m.description), ""]
    out.append(f"- [ ] Create a score of type **{kind}** on contacts, named {md(m.label)}.")
    if m.half_life is not None:
        out.append(f"- [ ] Decay: in the policy points halve every "
                   f"{duration_in_words(m.half_life.text)} (half-life `{m.half_life.text}`). "
                   "Turn on score decay and pick the HubSpot option closest to that.")
    if m.cap is not None:
        out.append(f"- [ ] Score limit (maximum): {m.cap} points.")
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
        out += ["", "- [ ] Score thresholds (grades, written to "
                f"`{names.get('fit_grade', 'fit_grade')}` by the scoring runtime): "
                + grades_text(m.grades) + "."]
    return out + [""]


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
    files["README.md"] = readme(spec, names)
    return files


def readme(spec: CrmSpec, names: Mapping[str, str]) -> bytes:
    p = spec.policy
    out = [f"# HubSpot setup for {md(p.meta.name)} {md(p.meta.version)}", "",
           "Generated by `alignctl build --target crm`; edit the policy, not these files.", "",
           "Create the groups one by one (HubSpot has no batch endpoint for groups), then the "
           "properties in one batch call:", "",
           "```sh",
           "jq -c '.inputs[]' property-groups.json | while read -r group; do",
           '  curl -sS -X POST "https://api.hubapi.com/crm/v3/properties/contacts/groups" \\',
           '    -H "Authorization: Bearer $HUBSPOT_TOKEN" -H "Content-Type: application/json" \\',
           '    -d "$group"',
           "done",
           'curl -sS -X POST "https://api.hubapi.com/crm/v3/properties/contacts/batch/create" \\',
           '  -H "Authorization: Bearer $HUBSPOT_TOKEN" -H "Content-Type: application/json" \\',
           "  -d @properties.json",
           "```", "",
           "Then follow `scoring-setup.md` in HubSpot's lead scoring tool, and use "
           "`lifecycle-mapping.json` to set the default `lifecyclestage` from the stages.", ""]
    kept = [f for f in spec.fields if reused(spec, f)]
    renamed = [f for f in spec.fields if names[f.id] != spec.prefix.lower() + f.id]
    if kept or renamed:
        out += ["## Names", ""]
        out += [f"- `{f.id}` is HubSpot's built-in property `{names[f.id]}`: it is not created."
                for f in kept]
        out += [f"- `{f.id}` is created as `{names[f.id]}`: HubSpot already has a property "
                "of that name." for f in renamed]
        out.append("")
    return ("\n".join(out).rstrip("\n") + "\n").encode("utf-8")
