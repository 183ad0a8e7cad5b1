"""Salesforce: an SFDX project with the fields, the Lead Status values, validation rules and the
fit score as a formula field.

Every XML file is built with ElementTree in the Metadata API's element order (the WSDL's sequences,
`fullName` first), so it validates against `metadata-api-v43.wsdl`.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field

from alignctl.compiler import ir

from . import sf_formula
from .crm import CrmField, CrmSpec, Statuses, clip, dump_json, one_line, policy_stamp, statuses
from .markdown import md

NS = "http://soap.sforce.com/2006/04/metadata"
API_VERSION = "43.0"
NAME_LIMIT = 40         # API names, suffix included
LABEL_LIMIT = 40
VALUE_LABEL_LIMIT = 255
DESCRIPTION_LIMIT = 1000
HELP_LIMIT = 510
MESSAGE_LIMIT = 255
BASE = "force-app/main/default"

# The CustomField elements we write, in the order of the WSDL's sequence (fullName comes from the
# Metadata base type, so it is first).
FIELD_ORDER = ("fullName", "defaultValue", "description", "externalId", "formula",
               "formulaTreatBlanksAs", "inlineHelpText", "label", "length", "precision",
               "required", "scale", "type", "unique", "valueSet", "visibleLines")
VALUE_ORDER = ("fullName", "default", "label", "converted")
RULE_ORDER = ("fullName", "active", "description", "errorConditionFormula", "errorDisplayField",
              "errorMessage")

TYPES: Mapping[str, dict] = {
    "string": {"type": "Text", "length": 255, "externalId": False, "unique": False},
    "text": {"type": "LongTextArea", "length": 32768, "visibleLines": 3},
    "email": {"type": "Email", "externalId": False, "unique": False},
    "integer": {"type": "Number", "precision": 18, "scale": 0, "externalId": False,
                "unique": False},
    "number": {"type": "Number", "precision": 18, "scale": 2, "externalId": False,
               "unique": False},
    "currency": {"type": "Currency", "precision": 18, "scale": 2},
    "percent": {"type": "Percent", "precision": 5, "scale": 2},
    "boolean": {"type": "Checkbox", "defaultValue": "false"},
    "date": {"type": "Date"},
    "datetime": {"type": "DateTime"},
    "enum": {"type": "Picklist"},
    "multi_enum": {"type": "MultiselectPicklist", "visibleLines": 4},
}
FORMULA_KINDS = {"string": "text", "email": "text", "text": "longtext", "integer": "number",
                 "number": "number", "currency": "number", "percent": "percent",
                 "boolean": "checkbox", "date": "date", "datetime": "datetime",
                 "enum": "picklist", "multi_enum": "multipicklist"}
# Lead's standard fields that a policy field of the same id duplicates.
STANDARD = {"email": "Email", "country": "Country", "industry": "Industry", "title": "Title",
            "company": "Company", "phone": "Phone", "website": "Website",
            "lead_source": "LeadSource", "rating": "Rating", "city": "City", "state": "State"}
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


# --- names --------------------------------------------------------------------------------------

def label_like(ident: str) -> str:
    """`budget_confirmed` -> `Budget_Confirmed`."""
    return "_".join(p[:1].upper() + p[1:] for p in ident.split("_") if p)


def api_name(prefix: str, ident: str, suffix: str = "__c", *, hashed: bool = False) -> str:
    """Prefix + Label_Like id + suffix, at most NAME_LIMIT characters; shortened names end in
    four hex digits of the id so they stay distinct."""
    base, room = prefix + label_like(ident), NAME_LIMIT - len(suffix)
    if len(base) > room or hashed:
        digest = hashlib.sha1(ident.encode()).hexdigest()[:4]
        base = base[: room - 5].rstrip("_") + "_" + digest
    return base + suffix


def api_names(spec: CrmSpec) -> dict[str, str]:
    names: dict[str, str] = {}
    for f in spec.fields:
        name = api_name(spec.prefix, f.id)
        if name in names.values():
            name = api_name(spec.prefix, f.id, hashed=True)
        names[f.id] = name
    return names


# --- XML ----------------------------------------------------------------------------------------

def xml_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _element(parent: ET.Element | None, tag: str, value: object = None) -> ET.Element:
    qname = f"{{{NS}}}{tag}"
    el = ET.Element(qname) if parent is None else ET.SubElement(parent, qname)
    if value is not None:
        el.text = xml_text(value)
    return el


def _fill(parent: ET.Element, values: Mapping[str, object], order: tuple[str, ...]) -> None:
    """Children of `parent` from `values`, in the schema's `order`; lists repeat an element and
    callables build a nested one."""
    for tag in order:
        value = values.get(tag)
        if value is None:
            continue
        for v in value if isinstance(value, list) else [value]:
            if callable(v):
                v(_element(parent, tag))
            else:
                _element(parent, tag, v)


def provenance(policy: ir.Policy) -> str:
    """The comment every file carries; `--` cannot occur inside an XML comment."""
    text = (f'Generated by alignctl from the policy "{one_line(policy.meta.name)}" version '
            f"{one_line(policy.meta.version)}. Edit the policy, not this file.")
    text = xml_text(text)
    while "--" in text:
        text = text.replace("--", "- -")
    return f" {text} "


def xml_bytes(root: ET.Element, policy: ir.Policy) -> bytes:
    """The document with its declaration; the provenance comment is the root's first child."""
    root.insert(0, ET.Comment(provenance(policy)))
    ET.indent(root, space="    ")
    body = ET.tostring(root, encoding="unicode", default_namespace=NS)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


# --- fields -------------------------------------------------------------------------------------

def _label(text: str, fallback: str, limit: int = LABEL_LIMIT) -> str:
    return clip(one_line(xml_text(text)), limit) or fallback


def _description(f: CrmField, policy: ir.Policy) -> str:
    parts = [f.description.strip()] if f.description and f.description.strip() else []
    team = policy.teams.get(f.owner) if f.owner else None
    if team is not None:
        parts.append(f"Owner: {team.label} ({team.id}).")
    if f.source:
        parts.append(f"Source: {one_line(f.source)}.")
    return clip("\n".join(parts), DESCRIPTION_LIMIT)


def _value_set(values: tuple[ir.EnumValue, ...]):
    def build(vs: ET.Element) -> None:
        _element(vs, "restricted", True)
        definition = _element(vs, "valueSetDefinition")
        _element(definition, "sorted", False)
        for v in values:
            _fill(_element(definition, "value"),
                  {"fullName": v.id, "default": False,
                   "label": _label(v.label, v.id, VALUE_LABEL_LIMIT)},
                  VALUE_ORDER)
    return build


def field_values(f: CrmField, name: str, policy: ir.Policy,
                 fit: FitFormula | None = None) -> dict[str, object]:
    """The CustomField elements for `f`, by tag; a fit score with a formula is a formula field."""
    values: dict[str, object] = {"fullName": name, "label": _label(f.label, f.id)}
    description = _description(f, policy)
    if fit is not None:
        description = clip(f"{fit.summary()}\n{description}", DESCRIPTION_LIMIT)
    if description:
        values["description"] = description
    if f.description and f.description.strip():
        values["inlineHelpText"] = clip(f.description.strip(), HELP_LIMIT)
    if fit is not None and fit.formula is not None:
        values.update(type="Number", formula=fit.formula, formulaTreatBlanksAs="BlankAsZero",
                      precision=18, scale=0)
        return values
    values.update(TYPES[f.type])
    if f.type != "boolean":
        values["required"] = f.required
    if f.type in ("enum", "multi_enum"):
        values["valueSet"] = _value_set(f.values)
    return values


def custom_field(values: Mapping[str, object], policy: ir.Policy) -> bytes:
    root = _element(None, "CustomField")
    _fill(root, values, FIELD_ORDER)
    return xml_bytes(root, policy)


# --- fit formulas -------------------------------------------------------------------------------

@dataclass
class FitFormula:
    """The formula for one fit model, with what it leaves out and why."""

    model: ir.Model
    field_id: str
    terms: list[sf_formula.Term] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    caveats: list[tuple[str, str]] = field(default_factory=list)
    formula: str | None = None
    length: int = 0

    @property
    def partial(self) -> bool:
        return bool(self.skipped)

    def summary(self) -> str:
        if self.formula is None:
            return (f"Written by the scoring runtime: a formula would be {self.length} "
                    f"characters, over the limit of {sf_formula.MAX_LENGTH}.")
        if self.partial:
            left_out = ", ".join(rid for rid, _ in self.skipped)
            return (f"Formula over {len(self.terms)} of {len(self.model.rules)} rules; left out "
                    f"(see the README): {left_out}.")
        return f"Formula over all {len(self.terms)} rules of the model."


def columns(spec: CrmSpec, names: Mapping[str, str]) -> dict[str, sf_formula.Column]:
    """What a formula can read: the policy's fields and the `recycle_count` built-in."""
    return {f.id: sf_formula.Column(names[f.id], FORMULA_KINDS[f.type])
            for f in spec.fields if f.role in ("field", "recycle_count")}


def fit_formula(model: ir.Model, spec: CrmSpec, names: Mapping[str, str]) -> FitFormula:
    result = FitFormula(model, f"{model.id}_score")
    cols = columns(spec, names)
    for rule in model.rules:
        if rule.when is None:
            result.skipped.append((rule.id, "the rule has no `when` condition"))
            continue
        try:
            t = sf_formula.condition(rule.when.expr, cols)
        except sf_formula.Inexpressible as exc:
            result.skipped.append((rule.id, str(exc)))
            continue
        result.terms.append(sf_formula.Term(rule.id, rule.points, t.formula))
        result.caveats.extend((rule.id, c) for c in t.caveats)
    for comments in (True, False):
        text = sf_formula.score_formula(result.terms, comments=comments)
        result.length = len(text)
        if len(text) <= sf_formula.MAX_LENGTH:
            result.formula = text
            break
    return result


def fit_formulas(spec: CrmSpec, names: Mapping[str, str]) -> dict[str, FitFormula]:
    """field id -> formula, for every fit model whose score field is generated."""
    out = {}
    for f in spec.by_role("model_score"):
        model = spec.policy.models[f.subject]
        if model.kind == "fit":
            out[f.id] = fit_formula(model, spec, names)
    return out


# --- lead status and validation rules -------------------------------------------------------------

def lead_status(st: Statuses, policy: ir.Policy) -> bytes:
    root = _element(None, "StandardValueSet")
    _element(root, "sorted", False)
    for i, (value, label) in enumerate(st.values):
        _fill(_element(root, "standardValue"),
              {"fullName": value, "default": i == 0, "label": _label(label, value),
               "converted": value == st.converted}, VALUE_ORDER)
    return xml_bytes(root, policy)


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    formula: str
    field: str | None
    message: str


def validation_rules(spec: CrmSpec, names: Mapping[str, str], st: Statuses) -> list[Rule]:
    d = spec.policy.disqualification
    if d is None or d.field not in names or spec.object != "Lead":
        return []
    reason = names[d.field]
    status = sf_formula.string
    dq, rc = status(st.disqualified), status(st.recycled)
    blank = f"ISBLANK(TEXT({reason}))"
    rules = [Rule(api_name(spec.prefix, "require_disqualification_reason", ""),
                  "A disqualified or recycled lead needs a disqualification reason.",
                  f"AND(OR(ISPICKVAL(Status, {dq}), ISPICKVAL(Status, {rc})), {blank})",
                  reason, "Choose a disqualification reason: a lead can only be disqualified "
                          "for one of the agreed reasons.")]
    recycle_on = names.get("recycle_on")
    if recycle_on and spec.get("recycle_on") and spec.get("recycle_on").generated:
        rules.append(Rule(api_name(spec.prefix, "require_recycle_date", ""),
                          "A recycled lead needs the date it comes back.",
                          f"AND(ISPICKVAL(Status, {rc}), ISBLANK({recycle_on}))",
                          recycle_on, "Set Recycle on: the date this lead comes back."))
    never = [r.id for r in d.reasons.values() if r.recycle is not None and r.recycle.never]
    if never:
        tests = ", ".join(f"ISPICKVAL({reason}, {status(r)})" for r in never)
        tests = f"OR({tests})" if len(never) > 1 else tests
        rules.append(Rule(api_name(spec.prefix, "recycle_only_recyclable_reasons", ""),
                          "Reasons with `recycle: never` cannot be used for a recycled lead.",
                          f"AND(ISPICKVAL(Status, {rc}), {tests})", reason,
                          "This reason is never recycled: set the status to disqualified."))
    count = names.get("recycle_count")
    if d.max_recycles is not None and count and spec.get("recycle_count").generated:
        rules.append(Rule(api_name(spec.prefix, "max_recycles", ""),
                          f"A lead is recycled at most {d.max_recycles} times.",
                          f"{count} > {d.max_recycles}", count,
                          f"A lead can be recycled at most {d.max_recycles} times."))
    return rules


def validation_rule(rule: Rule, policy: ir.Policy) -> bytes:
    root = _element(None, "ValidationRule")
    _fill(root, {"fullName": rule.name, "active": True,
                 "description": clip(rule.description, DESCRIPTION_LIMIT),
                 "errorConditionFormula": rule.formula, "errorDisplayField": rule.field,
                 "errorMessage": clip(rule.message, MESSAGE_LIMIT)}, RULE_ORDER)
    return xml_bytes(root, policy)


def package(members: Mapping[str, list[str]], policy: ir.Policy) -> bytes:
    root = _element(None, "Package")
    for type_name in sorted(members):
        if not members[type_name]:
            continue
        types = _element(root, "types")
        for m in sorted(members[type_name]):
            _element(types, "members", m)
        _element(types, "name", type_name)
    _element(root, "version", API_VERSION)
    return xml_bytes(root, policy)


def sfdx_project(policy: ir.Policy) -> bytes:
    return dump_json({
        "name": one_line(policy.meta.name),
        "namespace": "",
        "packageDirectories": [{"default": True, "path": "force-app"}],
        "plugins": {"alignctl": {"policy": policy_stamp(policy)}},
        "sfdcLoginUrl": "https://login.salesforce.com",
        "sourceApiVersion": API_VERSION,
    })


# --- the project --------------------------------------------------------------------------------

def emit(spec: CrmSpec) -> dict[str, bytes]:
    policy, obj = spec.policy, spec.object
    names = api_names(spec)
    formulas = fit_formulas(spec, names)
    files: dict[str, bytes] = {}
    for f in spec.fields:
        values = field_values(f, names[f.id], policy, formulas.get(f.id))
        files[f"{BASE}/objects/{obj}/fields/{names[f.id]}.field-meta.xml"] = \
            custom_field(values, policy)
    members: dict[str, list[str]] = {"CustomField": [f"{obj}.{names[f.id]}" for f in spec.fields]}
    st = statuses(policy)
    if obj == "Lead":
        files[f"{BASE}/standardValueSets/LeadStatus.standardValueSet-meta.xml"] = \
            lead_status(st, policy)
        members["StandardValueSet"] = ["LeadStatus"]
    rules = validation_rules(spec, names, st)
    for r in rules:
        files[f"{BASE}/objects/{obj}/validationRules/{r.name}.validationRule-meta.xml"] = \
            validation_rule(r, policy)
    members["ValidationRule"] = [f"{obj}.{r.name}" for r in rules]
    files["manifest/package.xml"] = package(members, policy)
    files["sfdx-project.json"] = sfdx_project(policy)
    files["README.md"] = readme(spec, names, formulas, st, rules)
    return files


# --- README -------------------------------------------------------------------------------------

def readme(spec: CrmSpec, names: Mapping[str, str], formulas: Mapping[str, FitFormula],
           st: Statuses, rules: list[Rule]) -> bytes:
    p, obj = spec.policy, spec.object
    out = [f"# Salesforce metadata for {md(p.meta.name)} {md(p.meta.version)}", "",
           "Generated by `alignctl build --target crm`; edit the policy, not these files.",
           "API version 43.0, source format. Deploy to a sandbox first:", "",
           "```sh", "sf project deploy start --source-dir force-app --target-org <alias>",
           "# or, by the manifest:",
           "sf project deploy start --manifest manifest/package.xml --target-org <alias>",
           "```", ""]
    out += _readme_formulas(formulas, names)
    out += _readme_fields(spec, names, formulas)
    if obj == "Lead":
        out += _readme_statuses(st)
    else:
        out += ["## Status values", "",
                f"The object is `{md(obj)}`, not Lead: no Lead Status values and no validation "
                "rules on the status are generated.", ""]
    if rules:
        out += ["## Validation rules", ""]
        out += [f"- `{r.name}`: {md(r.description)}" for r in rules]
        out.append("")
    out += _readme_notes(spec)
    return ("\n".join(out).rstrip("\n") + "\n").encode("utf-8")


def _readme_formulas(formulas: Mapping[str, FitFormula], names: Mapping[str, str]) -> list[str]:
    out: list[str] = []
    for fid, ff in formulas.items():
        m = ff.model
        out += [f"## `{names[fid]}`: the {md(m.label)} score as a formula", ""]
        if ff.formula is None:
            out += [f"The formula would be {ff.length} characters, over Salesforce's limit of "
                    f"{sf_formula.MAX_LENGTH}, so it is **not generated**: `{names[fid]}` is a "
                    "plain Number field that the scoring runtime writes.", ""]
        elif ff.partial:
            out += [f"**The formula is partial**: it adds {len(ff.terms)} of the "
                    f"{len(m.rules)} rules of model `{m.id}`. The rules below cannot be stated "
                    "in Salesforce's formula language, so this field can be lower or higher "
                    "than the score the scoring runtime computes (`lead_score`, `fit_grade` use "
                    "the runtime's).", ""]
        else:
            out += [f"Every rule of model `{m.id}` is in the formula ({ff.length} characters). "
                    "A rule whose condition is unknown (a blank field) adds nothing, as in "
                    "every runtime.", ""]
        out += [f"- `{rid}` is left out: {md(reason)}" for rid, reason in ff.skipped]
        out += [f"- `{rid}`: {md(c)}" for rid, c in ff.caveats]
        if ff.skipped or ff.caveats:
            out.append("")
    return out


def _readme_fields(spec: CrmSpec, names: Mapping[str, str],
                   formulas: Mapping[str, FitFormula]) -> list[str]:
    out = [f"## Fields on {md(spec.object)}", "", "| API name | Label | Type | Owner | From |",
           "|---|---|---|---|---|"]
    for f in spec.fields:
        ff = formulas.get(f.id)
        kind = "Number (formula)" if ff and ff.formula else TYPES[f.type]["type"]
        origin = "policy field" if not f.generated else f"generated: {f.role.replace('_', ' ')}"
        out.append(f"| `{names[f.id]}` | {md(clip(one_line(f.label), LABEL_LIMIT))} | {kind} "
                   f"| {md(f.owner or '')} | {origin} |")
    return out + [""]


def _readme_statuses(st: Statuses) -> list[str]:
    out = ["## Lead Status values", "",
           "Deploying `LeadStatus` replaces the org's Lead Status values: map existing leads to "
           "the new values first. The converted value is the one Lead Convert sets.", ""]
    for value, label in st.values:
        flag = " (converted)" if value == st.converted else ""
        out.append(f"- `{value}`: {md(label)}{flag}")
    if st.converted_is_fallback:
        out += ["", "The policy has no `terminal: won` stage, so the last stage is marked "
                    "converted: Salesforce needs one converted status."]
    return out + [""]


def _readme_notes(spec: CrmSpec) -> list[str]:
    dup = [f for f in spec.fields if not f.generated and f.id in STANDARD]
    notes = [f"`{f.id}` becomes a custom field although {md(spec.object)} has the standard "
             f"field `{STANDARD[f.id]}`: map one onto the other in your integrations."
             for f in dup if spec.object == "Lead"]
    notes += [md(n) for n in spec.notes]
    return (["## Notes", ""] + [f"- {n}" for n in notes] + [""]) if notes else []
