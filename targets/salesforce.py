"""Salesforce: an SFDX project with the fields, the Lead Status values and Lead Process, the
standard picklists the policy binds, validation rules and the fit score as a formula field.

Fields bound to a standard field (`Email`, `NumberOfEmployees`, `Status`, `Opportunity.Amount`)
are not created; formulas and rules read them by their standard names. Every XML file is built
with ElementTree in the Metadata API's element order (the WSDL's sequences, `fullName` first), so
it validates against the Metadata API schema (`tests/vendor/salesforce/metadata-api-v43.wsdl`:
the elements used exist unchanged since 43.0, while the project declares the current API version).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field

from alignctl.compiler import ir

from . import sf_formula
from .crm import (
    LEAD,
    OPPORTUNITY,
    CrmField,
    CrmSpec,
    Statuses,
    clip,
    dump_json,
    one_line,
    policy_stamp,
    statuses,
)

NS = "http://soap.sforce.com/2006/04/metadata"
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
PROCESS_ORDER = ("fullName", "description", "isActive", "values")
# Salesforce's default Lead Status values, for the mapping file an admin completes.
DEFAULT_STATUSES = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted",
                    "Closed - Not Converted")
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
    """field id -> API name: a bound field's standard name, else the custom field's."""
    names: dict[str, str] = {}
    for f in spec.fields:
        bound = f.bound("salesforce")
        if bound is not None:
            names[f.id] = bound.name
            continue
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
            for f in spec.fields if f.role in ("field", "recycle_count") and f.object == LEAD}


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


def value_set(values: tuple[ir.EnumValue, ...], policy: ir.Policy) -> bytes:
    """A standard picklist (Industry, LeadSource, AccountRating) holding the policy's values."""
    root = _element(None, "StandardValueSet")
    _element(root, "sorted", False)
    for v in values:
        _fill(_element(root, "standardValue"),
              {"fullName": v.id, "default": False,
               "label": _label(v.label, v.id, VALUE_LABEL_LIMIT)}, VALUE_ORDER)
    return xml_bytes(root, policy)


def bound_value_sets(spec: CrmSpec) -> dict[str, CrmField]:
    """Standard picklists to deploy: value set name -> the enum field bound to it (the first,
    should two share one). LeadStatus is the stages' (`lead_status`)."""
    out: dict[str, CrmField] = {}
    for f, b in spec.bound_fields("salesforce"):
        vs = b.standard.value_set if b.standard else None
        if vs and vs != "LeadStatus" and f.type == "enum" and f.values:
            out.setdefault(vs, f)
    return out


def process_name(spec: CrmSpec) -> str:
    return api_name(spec.prefix, "lead_process", "")


def lead_process(spec: CrmSpec, st: Statuses) -> bytes:
    """The Lead Process (BusinessProcess): the statuses its record types offer."""
    root = _element(None, "BusinessProcess")
    values = [(lambda el, v=v, i=i: _fill(el, {"fullName": v, "default": i == 0},
                                           VALUE_ORDER))
              for i, (v, _) in enumerate(st.values)]
    _fill(root, {"fullName": process_name(spec),
                 "description": clip(f"The lead statuses of {one_line(spec.policy.meta.name)} "
                                     f"{one_line(spec.policy.meta.version)}: the stages up to "
                                     "conversion, then disqualified and recycled.",
                                     DESCRIPTION_LIMIT),
                 "isActive": True, "values": values}, PROCESS_ORDER)
    return xml_bytes(root, spec.policy)


def status_mapping(spec: CrmSpec, st: Statuses) -> bytes:
    """old_value,new_value,note: Salesforce's default statuses onto the new ones, a starting
    point the admin completes with the org's own values before updating leads."""
    sales = {t.id for t in spec.policy.teams.values() if t.kind == "sales"}
    stages = [s for s in spec.policy.stages if s.id in dict(st.values)]
    first = stages[0].id if stages else st.disqualified
    worked = next((s.id for s in stages if s.owner in sales), first)
    rows = [("Open - Not Contacted", first, "new leads start in the first stage"),
            ("Working - Contacted", worked, "the first stage a sales team holds"),
            ("Closed - Converted", st.converted or first, "the converted status"),
            ("Closed - Not Converted", st.disqualified, "set a disqualification reason too")]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(("old_value", "new_value", "note"))
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


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
    """The manifest, at the policy's API version."""
    root = _element(None, "Package")
    for type_name in sorted(members):
        if not members[type_name]:
            continue
        types = _element(root, "types")
        for m in sorted(members[type_name]):
            _element(types, "members", m)
        _element(types, "name", type_name)
    _element(root, "version", policy.targets.salesforce_api_version)
    return xml_bytes(root, policy)


def sfdx_project(policy: ir.Policy) -> bytes:
    return dump_json({
        "name": one_line(policy.meta.name),
        "namespace": "",
        "packageDirectories": [{"default": True, "path": "force-app"}],
        "plugins": {"alignctl": {"policy": policy_stamp(policy)}},
        "sfdcLoginUrl": "https://login.salesforce.com",
        "sourceApiVersion": policy.targets.salesforce_api_version,
    })


# --- the project --------------------------------------------------------------------------------

def emit(spec: CrmSpec) -> dict[str, bytes]:
    policy, obj = spec.policy, spec.object
    names = api_names(spec)
    formulas = fit_formulas(spec, names)
    files: dict[str, bytes] = {}
    members: dict[str, list[str]] = {"CustomField": []}
    for f in spec.created("salesforce", LEAD) + spec.created("salesforce", OPPORTUNITY):
        on = object_of(spec, f)
        values = field_values(f, names[f.id], policy, formulas.get(f.id))
        files[f"{BASE}/objects/{on}/fields/{names[f.id]}.field-meta.xml"] = \
            custom_field(values, policy)
        members["CustomField"].append(f"{on}.{names[f.id]}")
    st = statuses(policy)
    members["StandardValueSet"] = []
    for vs, f in bound_value_sets(spec).items():
        files[f"{BASE}/standardValueSets/{vs}.standardValueSet-meta.xml"] = \
            value_set(f.values, policy)
        members["StandardValueSet"].append(vs)
    if obj == "Lead":
        files[f"{BASE}/standardValueSets/LeadStatus.standardValueSet-meta.xml"] = \
            lead_status(st, policy)
        members["StandardValueSet"].append("LeadStatus")
        files[f"{BASE}/objects/Lead/businessProcesses/{process_name(spec)}"
              ".businessProcess-meta.xml"] = lead_process(spec, st)
        members["BusinessProcess"] = [f"Lead.{process_name(spec)}"]
        files["status-mapping.csv"] = status_mapping(spec, st)
    rules = validation_rules(spec, names, st)
    for r in rules:
        files[f"{BASE}/objects/{obj}/validationRules/{r.name}.validationRule-meta.xml"] = \
            validation_rule(r, policy)
    members["ValidationRule"] = [f"{obj}.{r.name}" for r in rules]
    files["manifest/package.xml"] = package(members, policy)
    files["sfdx-project.json"] = sfdx_project(policy)
    from .salesforce_readme import readme

    files["README.md"] = readme(spec, names, formulas, st, rules)
    return files


def object_of(spec: CrmSpec, f: CrmField) -> str:
    return "Opportunity" if f.object == OPPORTUNITY else spec.object
