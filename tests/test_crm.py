"""The crm target: vendor validity (Salesforce's Metadata API schema, HubSpot's create schema,
our fields.json schema), the fit formula's translation, escaping of hostile policy strings, and
the API-name prefix.

Every build here is done once per module; the Salesforce validator runs once over all of them.
"""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import yaml

from alignctl.api import check_policy
from alignctl.compiler.typecheck import Env, check
from alignctl.policy.expr import parse
from alignctl.policy.expr_ast import STRING, field_type
from alignctl.schemas import load_schema
from alignctl.targets import crm, salesforce, sf_formula
from alignctl.targets.sf_formula import Column, Inexpressible

from .conftest import EXAMPLES, vendor_file

NS = {"md": "http://soap.sforce.com/2006/04/metadata"}
SF_FIELDS = "salesforce/force-app/main/default/objects/Lead/fields"
LEAD_STATUS = "salesforce/force-app/main/default/standardValueSets/LeadStatus.standardValueSet-meta.xml"
HOSTILE = ("<script>alert(1)</script> ]]> & \"quotes\" 'single' </td> [x](javascript:y) "
           "Größe 東京 -- */ `tick` # | *star* $x$")
ROOT_LOOKALIKE = '<Package xmlns="http://soap.sforce.com/2006/04/metadata">'
LONG = "Lorem ipsum & <b>dolor</b> ]]> " * 170     # over 5,000 characters


# --- policies -------------------------------------------------------------------------------------

def policy_doc(*, name: str = "Test policy", prefix: str = "", label: str = "Segment",
               description: str | None = None, fit_rules: list | None = None) -> dict:
    """A small valid policy: two teams, four stages, one handoff, a fit model."""
    rules = fit_rules or [{"id": "seg", "when": 'segment in ["smb", "mid"]', "points": 20},
                          {"id": "big", "when": "size >= 10", "points": 15}]
    return {
        "policy": {"name": name, "version": "1.0.0-rc.1", "period": "month"},
        "teams": {"marketing": {"kind": "marketing", "lead": label},
                  "sales": {"kind": "sales", "reps": 4, "capacity": {"leads_per_rep": 100}}},
        "fields": {
            "email": {"type": "email", "label": label, "owner": "marketing", "source": label},
            "segment": {"type": "enum", "label": label, "owner": "marketing", "source": "form",
                        "values": [{"smb": label}, {"mid": "Größe 東京"}, {"ent": "]]>"}],
                        **({"description": description} if description else {})},
            "tools": {"type": "multi_enum", "owner": "marketing", "source": "form",
                      "values": [{"a": label}, "b"]},
            "notes": {"type": "text", "label": "x" * 300, "owner": "sales", "source": "sales",
                      "description": label},
            "size": {"type": "integer", "owner": "marketing", "source": "form"},
            "country": {"type": "string", "owner": "marketing", "source": "form"},
            "qualified": {"type": "boolean", "owner": "sales", "source": "sales"},
        },
        "terms": {"icp": {"name": label, "definition": label, "approved_by": ["marketing", "sales"]}},
        "scoring": {"models": {"fit": {"kind": "fit", "label": label, "rules": rules,
                                       "grades": {"A": 30, "B": 10}}}},
        "stages": [
            {"id": "inquiry", "label": label, "owner": "marketing", "definition": label,
             "max_age": "30d"},
            {"id": "mql", "label": f"MQL {label}", "owner": "marketing", "definition": "x",
             "entry": "fit >= 30", "max_age": "5d"},
            {"id": "sal", "owner": "sales", "definition": "y", "entry": "accepted",
             "max_age": "5d"},
            {"id": "won", "owner": "sales", "definition": "z", "entry": "qualified",
             "terminal": "won"}],
        "handoffs": [{"from": "mql", "to": "sal", "reject_reasons": ["bad_fit", "not_ready"],
                      "sla": {"accept_within": "24h", "first_touch_within": "4h", "attempts": 3,
                              "over": "5d"}}],
        "disqualification": {"field": "disqualification_reason", "max_recycles": 2, "reasons": {
            "bad_fit": {"label": label, "recycle": "never"},
            "not_ready": {"label": description or "Not ready",
                          "recycle": {"to": "inquiry", "after": "30d"}}}},
        "targets": {"crm": {"platforms": ["salesforce", "hubspot", "espocrm"], "prefix": prefix}},
    }


def emit_doc(folder: Path, doc: dict) -> dict[str, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "alignment.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), "utf-8")
    return emit_path(path)


def emit_path(path: Path) -> dict[str, bytes]:
    result = check_policy(path)
    assert result.policy is not None and not result.errors, [d.message for d in result.errors]
    return crm.CrmTarget().emit(result.policy)


def standard_doc(*, opt_out: bool = True) -> dict:
    """The fields every CRM has: email, job_title, employees, country, industry, lead_source,
    annual_revenue (issue 10's done-when), plus what the funnel needs."""
    doc = policy_doc(fit_rules=[
        {"id": "size", "when": "employees >= 50", "points": 20},
        {"id": "saas", "when": 'industry in ["saas"]', "points": 20},
        {"id": "rich", "when": "annual_revenue >= 1000000", "points": 10},
        {"id": "vp", "when": 'job_title contains "VP"', "points": 5}])
    hubspot_false = {"crm": {"hubspot": False}} if opt_out else {}
    common = {"owner": "marketing", "source": "form"}
    doc["fields"] = {
        "email": {"type": "email", **common},
        "job_title": {"type": "string", "label": "Job title", **common},
        "employees": {"type": "integer", **common, **hubspot_false},
        "country": {"type": "string", **common},
        "industry": {"type": "enum", "values": ["saas", "retail", "other"], **common},
        "lead_source": {"type": "enum", "values": ["web", "event", "partner"], **common,
                        **hubspot_false},
        "annual_revenue": {"type": "currency", **common},
        "qualified": {"type": "boolean", "owner": "sales", "source": "sales"},
    }
    return doc


LONG_RULE = {"id": "many_countries", "points": 20,
             "when": "country in [" + ", ".join(f'"C{i:03d}"' for i in range(400)) + "]"}


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> dict[str, dict[str, bytes]]:
    tmp = tmp_path_factory.mktemp("crm")
    out = {p.parent.name: emit_path(p) for p in EXAMPLES}
    out["hostile"] = emit_doc(tmp / "hostile", policy_doc(
        name=f"Hostile {HOSTILE} {ROOT_LOOKALIKE}", label=HOSTILE, description=LONG,
        prefix="Align_", fit_rules=[
            {"id": "seg", "when": 'segment in ["smb", "mid"]', "points": 20},
            {"id": "big", "when": "size >= 10", "points": 15},
            {"id": "quote", "when": 'country == "\\"</td>]]>\\\\"', "points": -5}]))
    out["standard"] = emit_doc(tmp / "standard", standard_doc())
    out["long_formula"] = emit_doc(tmp / "long", policy_doc(
        fit_rules=[LONG_RULE, {"id": "big", "when": "size >= 10", "points": 15}]))
    return out


@pytest.fixture(scope="module")
def sf_validation(builds, tmp_path_factory) -> tuple[int, str, int]:
    """Write every build's salesforce/ and run the vendor validator once over all of them."""
    script = vendor_file("salesforce/validate_metadata.py")
    tmp = tmp_path_factory.mktemp("sfdx")
    dirs, count = [], 0
    for case, files in builds.items():
        for rel, data in files.items():
            if rel.startswith("salesforce/") and rel.endswith(".xml"):
                dest = tmp / case / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(data)
                count += 1
        if (tmp / case).is_dir():
            dirs.append(str(tmp / case))
    spec = importlib.util.spec_from_file_location("validate_metadata", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = module.main(dirs)
    return rc, buf.getvalue(), count


def xml_files(files: dict[str, bytes]) -> dict[str, bytes]:
    return {rel: data for rel, data in files.items() if rel.endswith(".xml")}


def jsons(files: dict[str, bytes]) -> dict[str, object]:
    return {rel: json.loads(data) for rel, data in files.items() if rel.endswith(".json")}


# --- structure and vendor validity ------------------------------------------------------------------

def test_acme_builds_every_platform(builds):
    files = builds["acme-saas"]
    assert {"fields.json", "salesforce/sfdx-project.json", "salesforce/manifest/package.xml",
            LEAD_STATUS, "salesforce/README.md", "hubspot/property-groups.json",
            "hubspot/properties.json", "hubspot/lifecycle-mapping.json",
            "hubspot/scoring-setup.md",
            "espocrm/custom/Espo/Custom/Resources/metadata/entityDefs/Lead.json",
            "espocrm/custom/Espo/Custom/Resources/i18n/en_US/Lead.json"} <= set(files)
    assert f"{SF_FIELDS}/Fit_Score__c.field-meta.xml" in files
    assert not any(rel.startswith("salesforce/") for rel in builds["northwind-smb"])


def test_generated_fields(builds):
    ids = [f["id"] for f in json.loads(builds["acme-saas"]["fields.json"])["fields"]]
    for fid in ("lifecycle_stage", "owner_team", "inquiry_entered_at", "customer_entered_at",
                "fit_score", "engagement_score", "lead_score", "fit_grade",
                "disqualification_reason", "recycle_on", "recycle_count", "sal_accept_due_at",
                "sal_accepted", "sql_accept_due_at", "sql_accepted", "employees"):
        assert fid in ids
    assert len(ids) == len(set(ids))


def test_fields_json_validates_and_records_usage(builds):
    schema = load_schema("fields")
    jsonschema.Draft202012Validator.check_schema(schema)
    for files in builds.values():
        jsonschema.validate(json.loads(files["fields.json"]), schema,
                            cls=jsonschema.Draft202012Validator)
    fields = {f["id"]: f for f in json.loads(builds["acme-saas"]["fields.json"])["fields"]}
    assert fields["budget_confirmed"]["used_by"]["stages"] == ["sql"]
    assert fields["employees"]["used_by"]["rules"] == ["company_size"]
    assert fields["contract_renewal_date"]["used_by"]["reasons"] == ["competitor_contract"]
    assert fields["sql_accepted"]["used_by"]["stages"] == ["sql"]
    assert fields["fit_grade"]["values"][-1] == {"id": "D", "label": "D"}
    assert fields["email"]["api_names"] == {"salesforce": "Email", "hubspot": "email",
                                            "espocrm": "emailAddress"}
    assert fields["email"]["bound"]["salesforce"] == {"how": "automatic", "object": "Lead",
                                                      "standard": True}
    assert fields["opportunity_amount"]["object"] == "opportunity"
    assert fields["opportunity_amount"]["api_names"]["salesforce"] == "Amount"
    assert fields["lifecycle_stage"]["api_names"] == {"salesforce": "Status",
                                                      "hubspot": "hs_lead_status",
                                                      "espocrm": "status"}
    assert fields["employees"]["api_names"]["hubspot"] == "employees"    # crm: {hubspot: false}
    # recycled leads re-enter every stage from inquiry: HubSpot's first-entry dates cannot hold it
    assert fields["mql_entered_at"]["api_names"]["hubspot"] == "mql_entered_at"
    assert "hubspot" not in fields["employees"]["bound"]


def test_every_salesforce_xml_validates(sf_validation):
    rc, report, count = sf_validation
    assert count > 80
    assert report.strip().endswith(f"{count} files, 0 problems"), report
    assert rc == 0


def test_xml_declaration_namespace_and_provenance(builds):
    for rel, data in xml_files(builds["acme-saas"]).items():
        assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n'), rel
        assert b'xmlns="http://soap.sforce.com/2006/04/metadata"' in data
        assert b"Acme Analytics revenue SLA" in data and b"1.4.0" in data


def test_hubspot_bodies_validate(builds):
    schema = json.loads(vendor_file("hubspot/property-create.schema.json").read_text("utf-8"))
    group_schema = {"type": "object", "required": ["inputs"], "properties": {"inputs": {
        "type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["name", "label", "displayOrder"],
            "additionalProperties": False,
            "properties": {"name": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
                           "label": {"type": "string", "minLength": 1},
                           "displayOrder": {"type": "integer"}}}}}}
    checked = 0
    for files in builds.values():
        props = json.loads(files["hubspot/properties.json"])
        groups = json.loads(files["hubspot/property-groups.json"])
        jsonschema.validate(props, schema, cls=jsonschema.Draft202012Validator)
        jsonschema.validate(groups, group_schema)
        assert {p["groupName"] for p in props["inputs"]} <= {g["name"] for g in groups["inputs"]}
        if "hubspot/deal-properties.json" in files:
            deals = json.loads(files["hubspot/deal-properties.json"])
            jsonschema.validate(deals, schema, cls=jsonschema.Draft202012Validator)
            jsonschema.validate(json.loads(files["hubspot/deal-property-groups.json"]),
                                group_schema)
        if "hubspot/lead-status.json" in files:
            options = {"type": "object", "required": ["options"], "additionalProperties": False,
                       "properties": {"options": {"type": "array", "minItems": 1,
                                                  "items": schema["$defs"]["OptionInput"]}}}
            status = json.loads(files["hubspot/lead-status.json"])
            jsonschema.validate(status, options, cls=jsonschema.Draft202012Validator)
            values = [o["value"] for o in status["options"]]
            assert values[:8] == ["NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED",
                                  "ATTEMPTED_TO_CONTACT", "CONNECTED", "BAD_TIMING"]
            assert len(values) == len(set(values))
        checked += 1
    assert checked == len(builds)
    assert "hubspot/deal-properties.json" in builds["acme-saas"]


def _statuses(data: bytes) -> tuple[list[str], list[str]]:
    root = ET.fromstring(data)
    values = root.findall("md:standardValue", NS)
    return ([v.findtext("md:fullName", namespaces=NS) for v in values],
            [v.findtext("md:fullName", namespaces=NS) for v in values
             if v.findtext("md:converted", namespaces=NS) == "true"])


STANDARD_NAMES = {
    "salesforce": {"email": "Email", "job_title": "Title", "employees": "NumberOfEmployees",
                   "country": "Country", "industry": "Industry", "lead_source": "LeadSource",
                   "annual_revenue": "AnnualRevenue"},
    "hubspot": {"email": "email", "job_title": "jobtitle", "country": "country",
                "industry": "industry", "annual_revenue": "annualrevenue"},
    "espocrm": {"email": "emailAddress", "job_title": "title", "country": "addressCountry",
                "industry": "industry", "lead_source": "source"},
}


def test_standard_fields_are_bound_not_duplicated(builds):
    """No custom field beside a standard one: each is the platform's field, named so in
    fields.json, the formula and the README; the rest has no standard counterpart."""
    files = builds["standard"]
    fields = {f["id"]: f for f in json.loads(files["fields.json"])["fields"]}
    for platform, expected in STANDARD_NAMES.items():
        for fid, name in expected.items():
            assert fields[fid]["api_names"][platform] == name, (platform, fid)
            assert fields[fid]["bound"][platform]["standard"] is True
            assert f"| `{fid}` | `{name}` " in files[f"{platform}/README.md"].decode()
    created = {p["name"] for p in json.loads(files["hubspot/properties.json"])["inputs"]}
    assert {"job_title", "annual_revenue", "email", "country", "industry"}.isdisjoint(created)
    assert {"employees", "lead_source"} <= created      # numemployees: ranges; source: calculated
    assert not any(re.search(r"/(Email|Job_Title|Employees|Country|Industry|Lead_Source|"
                             r"Annual_Revenue|Lifecycle_Stage|Fit_Grade)__c", rel) for rel in files)
    formula = ET.fromstring(files[f"{SF_FIELDS}/Fit_Score__c.field-meta.xml"]).findtext(
        "md:formula", namespaces=NS)
    assert "NumberOfEmployees >= 50" in formula and 'ISPICKVAL(Industry, "saas")' in formula
    assert "AnnualRevenue >= 1000000" in formula
    espo = json.loads(files["espocrm/custom/Espo/Custom/Resources/metadata/entityDefs/Lead.json"])
    assert set(espo["fields"]) - {"industry", "source", "status"} == {
        n for n in espo["fields"] if n.startswith("c")}


def test_near_names_warn_until_bound_or_kept(tmp_path):
    path = tmp_path / "alignment.yaml"
    path.write_text(yaml.safe_dump(standard_doc(opt_out=False), sort_keys=False), "utf-8")
    got = {(d.code, d.message.split("`")[1]) for d in check_policy(path).diagnostics}
    assert got == {("ALN111", "numemployees"), ("ALN111", "hs_analytics_source")}
    doc = standard_doc()
    doc["fields"]["job_title"]["crm"] = {"salesforce": "Titel"}
    path.write_text(yaml.safe_dump(doc, sort_keys=False), "utf-8")
    [d] = check_policy(path).errors
    assert d.code == "ALN110" and d.help == "did you mean `Title`?"


def test_generated_labels_read_as_a_person_names_them(builds):
    fields = {f["id"]: f["label"] for f in json.loads(builds["acme-saas"]["fields.json"])["fields"]}
    assert fields["sal_accepted"] == "SAL accepted"
    assert fields["sal_accept_due_at"] == "SAL acceptance due"
    assert fields["inquiry_entered_at"] == "Entered Inquiry at"
    assert "accepted accepted" not in json.dumps(fields).lower()


def test_exactly_the_converting_stage_is_converted(builds):
    values, converted = _statuses(builds["acme-saas"][LEAD_STATUS])
    assert converted == ["sql"]         # targets.crm.convert_at: later stages are the opportunity's
    assert values == ["inquiry", "mql", "sal", "sql", "disqualified", "recycled"]
    values, converted = _statuses(builds["hostile"][LEAD_STATUS])
    assert converted == ["won"] and values[-3:] == ["won", "disqualified", "recycled"]


def test_lead_process_and_status_mapping(builds):
    files = builds["acme-saas"]
    root = ET.fromstring(files["salesforce/force-app/main/default/objects/Lead/businessProcesses/"
                              "Lead_Process.businessProcess-meta.xml"])
    assert [v.findtext("md:fullName", namespaces=NS) for v in root.findall("md:values", NS)] == [
        "inquiry", "mql", "sal", "sql", "disqualified", "recycled"]
    rows = list(csv.DictReader(io.StringIO(files["salesforce/status-mapping.csv"].decode())))
    assert {r["old_value"]: r["new_value"] for r in rows}["Closed - Converted"] == "sql"
    package = files["salesforce/manifest/package.xml"].decode()
    assert "<members>Lead.Lead_Process</members>" in package
    assert "<version>68.0</version>" in package
    assert json.loads(files["salesforce/sfdx-project.json"])["sourceApiVersion"] == "68.0"
    readme = files["salesforce/README.md"].decode()
    assert "status-mapping.csv" in readme and "sf data upsert bulk" in readme


def test_hubspot_lifecycle_dates_are_the_stage_times_when_no_lead_comes_back(tmp_path):
    doc = policy_doc()
    del doc["disqualification"]
    for h in doc["handoffs"]:
        h.pop("reject_reasons", None)
    names = {f["id"]: f["api_names"]["hubspot"]
             for f in json.loads(emit_doc(tmp_path, doc)["fields.json"])["fields"]}
    assert names["inquiry_entered_at"] == "hs_lifecyclestage_lead_date"
    assert names["mql_entered_at"] == "hs_lifecyclestage_marketingqualifiedlead_date"
    assert names["won_entered_at"] == "hs_lifecyclestage_customer_date"
    assert names["sal_entered_at"] == "sal_entered_at"       # HubSpot has no such stage


def test_salesforce_api_version_is_configurable(tmp_path):
    doc = policy_doc()
    doc["targets"]["crm"]["salesforce"] = {"api_version": "62.0"}
    files = emit_doc(tmp_path, doc)
    assert "<version>62.0</version>" in files["salesforce/manifest/package.xml"].decode()
    assert json.loads(files["salesforce/sfdx-project.json"])["sourceApiVersion"] == "62.0"
    assert "API version 62.0 " in files["salesforce/README.md"].decode()


def test_fields_after_conversion_are_the_opportunitys(builds):
    files = builds["acme-saas"]
    opp = "salesforce/force-app/main/default/objects/Opportunity/fields"
    assert f"{opp}/Contract_Signed__c.field-meta.xml" in files
    assert not any("Opportunity_Amount__c" in rel or "Win_Probability__c" in rel for rel in files)
    deals = json.loads(files["hubspot/deal-properties.json"])["inputs"]
    assert {p["name"] for p in deals} >= {"contract_signed", "win_probability"}
    assert "amount" not in {p["name"] for p in deals}
    assert "espocrm/custom/Espo/Custom/Resources/metadata/entityDefs/Opportunity.json" in files


def test_disqualification_reason_is_required(builds):
    rel = ("salesforce/force-app/main/default/objects/Lead/validationRules/"
           "Require_Disqualification_Reason.validationRule-meta.xml")
    root = ET.fromstring(builds["acme-saas"][rel])
    assert root.findtext("md:errorConditionFormula", namespaces=NS) == (
        'AND(OR(ISPICKVAL(Status, "disqualified"), ISPICKVAL(Status, "recycled")), '
        "ISBLANK(TEXT(Disqualification_Reason__c)))")
    assert root.findtext("md:errorDisplayField", namespaces=NS) == "Disqualification_Reason__c"


def test_field_types(builds):
    def field(name: str) -> ET.Element:
        return ET.fromstring(builds["acme-saas"][f"{SF_FIELDS}/{name}.field-meta.xml"])

    assert field("Timeline__c").findtext("md:valueSet/md:restricted", namespaces=NS) == "true"
    assert field("Current_Tools__c").findtext("md:visibleLines", namespaces=NS) == "4"
    assert field("Budget_Confirmed__c").findtext("md:defaultValue", namespaces=NS) == "false"
    assert field("Recycle_Count__c").findtext("md:scale", namespaces=NS) == "0"
    assert field("Use_Case__c").findtext("md:type", namespaces=NS) == "LongTextArea"
    industry = ET.fromstring(builds["acme-saas"][
        "salesforce/force-app/main/default/standardValueSets/Industry.standardValueSet-meta.xml"])
    assert [v.findtext("md:fullName", namespaces=NS)
            for v in industry.findall("md:standardValue", NS)][:2] == ["saas", "fintech"]


def test_lifecycle_mapping(builds):
    mapping = json.loads(builds["acme-saas"]["hubspot/lifecycle-mapping.json"])
    assert {m["stage"]: m["lifecyclestage"] for m in mapping["mapped"]} == {
        "inquiry": "lead", "mql": "marketingqualifiedlead", "sql": "salesqualifiedlead",
        "opportunity": "opportunity", "customer": "customer"}
    assert [u["stage"] for u in mapping["unmapped"]] == ["sal"]


def test_espocrm_status_holds_the_stages(builds):
    defs = json.loads(builds["acme-saas"][
        "espocrm/custom/Espo/Custom/Resources/metadata/entityDefs/Lead.json"])
    assert defs["fields"]["status"]["options"] == [
        "New", "Assigned", "In Process", "inquiry", "mql", "sal", "Converted", "Recycled", "Dead"]
    assert defs["fields"]["industry"] == {"options": ["", "saas", "fintech", "ecommerce",
                                                      "media", "healthcare", "other"]}
    assert "emailAddress" not in defs["fields"] and "cEmail" not in defs["fields"]
    assert not {"cJobTitle", "cIndustry", "cLeadSource", "cCountry",
                "cOpportunityAmount"} & set(defs["fields"])


# --- the fit formula ----------------------------------------------------------------------------

TYPES = {"employees": ("integer", ()), "industry": ("enum", ("saas", "fintech", "retail")),
         "tools": ("multi_enum", ("a", "b")), "title": ("string", ()), "email": ("email", ()),
         "ok": ("boolean", ()), "renewal": ("date", ()), "win": ("percent", ()),
         "notes": ("text", ())}
KINDS = {"integer": "number", "enum": "picklist", "multi_enum": "multipicklist",
         "string": "text", "email": "text", "boolean": "checkbox", "date": "date",
         "percent": "percent", "text": "longtext"}
COLUMNS = {name: Column(salesforce.api_name("", name), KINDS[t]) for name, (t, _) in TYPES.items()}


def formula(text: str) -> sf_formula.Translation:
    env = Env(fields={n: field_type(t, v) for n, (t, v) in TYPES.items()},
              events={"page_view": {"url": STRING}})
    tree, _, problems = check(parse(text), env)
    assert not problems, problems
    return sf_formula.condition(tree, COLUMNS)


@pytest.mark.parametrize("text, expected", [
    ('industry in ["saas", "fintech"]',
     'OR(ISPICKVAL(Industry__c, "saas"), ISPICKVAL(Industry__c, "fintech"))'),
    ('industry not in ["saas"]',
     'AND(NOT(ISBLANK(TEXT(Industry__c))), NOT(ISPICKVAL(Industry__c, "saas")))'),
    ('industry != "retail"',
     'AND(NOT(ISBLANK(TEXT(Industry__c))), NOT(ISPICKVAL(Industry__c, "retail")))'),
    ("employees >= 200 and employees <= 5000",
     "AND(NOT(ISBLANK(Employees__c)), Employees__c >= 200, Employees__c <= 5000)"),
    ("not (employees > 10)", "AND(NOT(ISBLANK(Employees__c)), Employees__c <= 10)"),
    ('email endswith "@gmail.com" or email endswith "@yahoo.com"',
     'AND(NOT(ISBLANK(Email__c)), OR(RIGHT(Email__c, 10) = "@gmail.com", '
     'RIGHT(Email__c, 10) = "@yahoo.com"))'),
    ('title contains "VP" or title startswith "Head"',
     'AND(NOT(ISBLANK(Title__c)), OR(CONTAINS(Title__c, "VP"), BEGINS(Title__c, "Head")))'),
    ('title == "CEO"', 'AND(NOT(ISBLANK(Title__c)), Title__c = "CEO")'),
    ('title not in ["CEO", "CTO"]',
     'AND(NOT(ISBLANK(Title__c)), NOT(OR(Title__c = "CEO", Title__c = "CTO")))'),
    ('tools contains "a"', 'AND(NOT(ISBLANK(Tools__c)), INCLUDES(Tools__c, "a"))'),
    ("days_since(renewal) > -90",
     "AND(NOT(ISBLANK(Renewal__c)), (TODAY() - Renewal__c) > (-90))"),
    ("win >= 20", "AND(NOT(ISBLANK(Win__c)), (Win__c * 100) >= 20)"),
    ('title == "a\\"b\\\\c"', 'AND(NOT(ISBLANK(Title__c)), Title__c = "a\\"b\\\\c")'),
    ("ok", "Ok__c"),
])
def test_formula_translation(text, expected):
    assert formula(text).formula == expected


def test_negated_checkbox_carries_a_caveat():
    t = formula("not ok")
    assert t.formula == "NOT(Ok__c)"
    assert t.caveats and "never leaves blank" in t.caveats[0]


@pytest.mark.parametrize("text, reason", [
    ('title matches "(?i)vp"', "REGEX"),
    ('has(page_view where url contains "/pricing")', "events"),
    ("count(page_view within 30d) >= 2", "events"),
    ('notes contains "x"', "long text area"),
])
def test_inexpressible_conditions_say_why(text, reason):
    with pytest.raises(Inexpressible, match=reason):
        formula(text)


def test_score_formula_adds_rules():
    terms = [sf_formula.Term("a", 20, "X__c"), sf_formula.Term("b", -30, "Y__c")]
    assert sf_formula.score_formula(terms) == "/* a */ IF(X__c, 20, 0)\n+ /* b */ IF(Y__c, -30, 0)"
    assert sf_formula.score_formula(terms, comments=False) == "IF(X__c, 20, 0) + IF(Y__c, -30, 0)"
    assert sf_formula.score_formula([]) == "0"


def test_acme_formula_is_partial_and_says_so(builds):
    files = builds["acme-saas"]
    root = ET.fromstring(files[f"{SF_FIELDS}/Fit_Score__c.field-meta.xml"])
    text = root.findtext("md:formula", namespaces=NS)
    assert root.findtext("md:type", namespaces=NS) == "Number"
    assert "/* target_industry */" in text and "decision_maker" not in text
    assert len(text) <= sf_formula.MAX_LENGTH
    readme = files["salesforce/README.md"].decode()
    assert "**The formula is partial**" in readme
    assert "`decision_maker` is left out" in readme


def test_too_long_formula_is_omitted(builds):
    files = builds["long_formula"]
    root = ET.fromstring(files[f"{SF_FIELDS}/Fit_Score__c.field-meta.xml"])
    assert root.find("md:formula", NS) is None
    assert root.findtext("md:type", namespaces=NS) == "Number"
    assert "**not generated**" in files["salesforce/README.md"].decode()


def test_long_ids_make_short_distinct_api_names():
    a, b = "a" * 30 + "_entered_at", "a" * 30 + "_entered_on"
    names = {salesforce.api_name("Align_", x) for x in (a, b)}
    assert len(names) == 2 and all(len(n) <= 40 and n.endswith("__c") for n in names)
    assert salesforce.api_name("", "budget_confirmed") == "Budget_Confirmed__c"


# --- hostile strings and the prefix ---------------------------------------------------------------

def test_hostile_xml_is_escaped_and_round_trips(builds):
    files = builds["hostile"]
    labels = []
    for rel, data in xml_files(files).items():
        root = ET.fromstring(data)          # well-formed despite <, &, ]]>, quotes
        body = re.sub(rb"<!--.*?-->", b"", data, flags=re.S)
        assert b"<script>" not in body and b"</td>" not in body, rel
        labels += [e.text for e in root.iter(f"{{{NS['md']}}}label")]
        description = root.findtext("md:description", namespaces=NS)
        assert description is None or len(description) <= 1000
    assert HOSTILE in labels                # picklist value labels keep the whole string
    assert "Größe 東京" in labels
    segment = ET.fromstring(files[f"{SF_FIELDS}/Align_Segment__c.field-meta.xml"])
    assert len(segment.findtext("md:label", namespaces=NS)) <= 40
    assert segment.findtext("md:description", namespaces=NS).endswith("…")


def test_hostile_formula_literal_is_escaped(builds):
    root = ET.fromstring(builds["hostile"][f"{SF_FIELDS}/Align_Fit_Score__c.field-meta.xml"])
    assert 'Country = "\\"</td>]]>\\\\"' in root.findtext("md:formula", namespaces=NS)


def test_hostile_json_round_trips(builds):
    docs = jsons(builds["hostile"])
    fields = {f["id"]: f for f in docs["fields.json"]["fields"]}
    assert fields["segment"]["label"] == HOSTILE and fields["segment"]["description"] == LONG
    assert docs["fields.json"]["_policy"]["name"].startswith(f"Hostile {HOSTILE}")
    labels = {p["label"] for p in docs["hubspot/properties.json"]["inputs"]}
    assert HOSTILE in labels
    assert "Größe 東京".encode() in builds["hostile"]["fields.json"]


def test_hostile_markdown_is_escaped(builds):
    for rel in ("hubspot/scoring-setup.md", "salesforce/README.md", "hubspot/README.md",
                "espocrm/README.md"):
        text = builds["hostile"][rel].decode()
        assert "<script>" not in text and "</td>" not in text, rel
        assert "[x](javascript:y)" not in text, rel
        assert "*star*" not in text, rel
    setup = builds["hostile"]["hubspot/scoring-setup.md"].decode()
    assert "\\<script\\>alert(1)\\</script\\>" in setup
    assert "\\[x\\](javascript:y)" in setup         # no link without its brackets


def test_prefix_is_applied_everywhere(builds):
    files = builds["hostile"]
    docs = jsons(files)
    for f in docs["fields.json"]["fields"]:
        names = f["api_names"]
        for platform, prefix in (("salesforce", "Align_"), ("hubspot", "align_"),
                                 ("espocrm", "align")):
            assert names[platform].startswith(prefix) or platform in f["bound"], f["id"]
    assert all(p["name"].startswith("align_") and p["groupName"].startswith("align_")
               for p in docs["hubspot/properties.json"]["inputs"])
    package = ET.fromstring(files["salesforce/manifest/package.xml"])
    members = [m.text for m in package.iter(f"{{{NS['md']}}}members")
               if m.text != "LeadStatus" and "." in m.text]
    assert members and all(m.startswith("Lead.Align_") for m in members)
    entity = docs["espocrm/custom/Espo/Custom/Resources/metadata/entityDefs/Lead.json"]
    assert set(entity["fields"]) - {"status"} == {n for n in entity["fields"]
                                                  if n.startswith("align")}


def test_policy_field_may_not_take_a_generated_id(tmp_path):
    doc = policy_doc()
    doc["fields"]["lead_score"] = {"type": "number", "owner": "marketing", "source": "form"}
    path = tmp_path / "alignment.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), "utf-8")
    assert [d.code for d in check_policy(path).errors] == ["ALN103"]
