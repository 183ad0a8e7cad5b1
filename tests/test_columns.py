"""`alignctl.columns`: CRM export headers (policy ids or platform names) to policy columns."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from alignctl.api import check_policy
from alignctl.columns import ColumnError, Columns, known_names, read_mapping, resolve
from alignctl.commands.score import command as score

ROOT = Path(__file__).parent.parent
ACME = ROOT / "examples/acme-saas/alignment.yaml"
LEADS, EVENTS = ROOT / "examples/data/leads.csv", ROOT / "examples/data/events.csv"
AS_OF = "2025-01-01T00:00:00"


@pytest.fixture(scope="module")
def acme():
    return check_policy(ACME).policy


def test_a_policy_id_and_every_platform_name_are_known(acme) -> None:
    names = {n.text for n in known_names(acme)["budget_confirmed"]}
    assert {"budget_confirmed", "Budget_Confirmed__c"} <= names
    assert {n.text for n in known_names(acme)["lead_id"]} >= {"lead_id", "Id", "hs_object_id"}


def test_headers_match_in_any_case_and_mapping_wins(acme) -> None:
    got = resolve(acme, ["ID", "BUDGET_CONFIRMED__C", "Headcount"],
                  ["lead_id", "budget_confirmed", "employees"], mapping={"employees": "headcount"})
    assert got == {"lead_id": "ID", "budget_confirmed": "BUDGET_CONFIRMED__C",
                   "employees": "Headcount"}


def test_a_column_missing_from_the_input_is_left_out(acme) -> None:
    assert resolve(acme, ["lead_id"], ["lead_id", "employees"]) == {"lead_id": "lead_id"}


def test_two_columns_holding_one_policy_column_is_an_error(acme) -> None:
    with pytest.raises(ColumnError, match="both `budget_confirmed`.*`Budget_Confirmed__c`"):
        resolve(acme, ["budget_confirmed", "Budget_Confirmed__c"], ["budget_confirmed"])


def test_duplicate_headers_are_an_error(acme) -> None:
    with pytest.raises(ColumnError, match="2 columns named"):
        resolve(acme, ["employees", "Employees"], ["employees"])


def test_a_mapping_to_a_header_the_input_lacks_is_an_error(acme) -> None:
    with pytest.raises(ColumnError, match="no column `Headcount`"):
        resolve(acme, ["lead_id"], ["employees"], mapping={"employees": "Headcount"})


def test_the_stage_is_read_from_the_lead_status(acme) -> None:
    got = Columns(acme).find(["Id", "Status"], ["lead_id", "stage"])
    assert got == {"lead_id": "Id", "stage": "Status"}
    got = Columns(acme).find(["hs_object_id", "hs_lead_status"], ["lead_id", "stage"])
    assert got == {"lead_id": "hs_object_id", "stage": "hs_lead_status"}


def test_mapping_files(tmp_path) -> None:
    good = tmp_path / "map.yaml"
    good.write_text("employees: Headcount\n")
    assert read_mapping(str(good)) == {"employees": "Headcount"}
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a\n")
    with pytest.raises(ColumnError, match="must map"):
        read_mapping(str(bad))
    with pytest.raises(ColumnError, match="not YAML"):
        (tmp_path / "x.yaml").write_text("a: [\n")
        read_mapping(str(tmp_path / "x.yaml"))


def _renamed(tmp_path: Path, names: dict[str, str]) -> Path:
    rows = list(csv.reader(LEADS.open()))
    rows[0] = [names.get(h, h) for h in rows[0]]
    out = tmp_path / "export.csv"
    with out.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return out


def test_score_takes_an_export_with_platform_names(tmp_path, acme) -> None:
    sf = {"lead_id": "Id", "budget_confirmed": "BUDGET_CONFIRMED__C", "stage": "Status"}
    plain = CliRunner().invoke(score, [str(ACME), "--leads", str(LEADS), "--events", str(EVENTS),
                                       "--as-of", AS_OF])
    export = CliRunner().invoke(score, [str(ACME), "--leads", str(_renamed(tmp_path, sf)),
                                        "--events", str(EVENTS), "--as-of", AS_OF])
    assert plain.exit_code == 0 and export.exit_code == 0, export.output
    assert export.stdout == plain.stdout
    assert len(list(csv.DictReader(io.StringIO(export.stdout)))) == 200


SALESFORCE_EXPORT = {"lead_id": "Id", "email": "Email", "job_title": "Title",
                     "employees": "NumberOfEmployees", "country": "Country",
                     "industry": "Industry", "stage": "Status",
                     "budget_confirmed": "Budget_Confirmed__c", "opportunity_amount": "Amount",
                     "win_probability": "Probability"}


def test_score_takes_a_salesforce_export_of_bound_fields(tmp_path, acme) -> None:
    """Acme binds email, job_title, employees, country, industry to Lead's standard fields and
    the opportunity's amount and probability to Opportunity's: a Data Loader export with those
    headers scores exactly like the policy-id file."""
    plain = CliRunner().invoke(score, [str(ACME), "--leads", str(LEADS), "--events", str(EVENTS),
                                       "--as-of", AS_OF])
    export = CliRunner().invoke(score, [str(ACME), "--leads",
                                        str(_renamed(tmp_path, SALESFORCE_EXPORT)),
                                        "--events", str(EVENTS), "--as-of", AS_OF])
    assert plain.exit_code == 0 and export.exit_code == 0, export.output
    assert export.stdout == plain.stdout
    rows = list(csv.DictReader(io.StringIO(export.stdout)))
    assert len(rows) == 200 and {r["fit_score"] for r in rows} != {"0"}


def test_custom_names_of_bound_fields_are_not_accepted(tmp_path, acme) -> None:
    """`Email__c` is no field of the build any more (email is `Email`): it is not read as email."""
    got = Columns(acme).find(["Id", "Email__c", "NumberOfEmployees"],
                             ["lead_id", "email", "employees"])
    assert got == {"lead_id": "Id", "employees": "NumberOfEmployees"}


def test_score_says_which_columns_clash(tmp_path) -> None:
    rows = list(csv.reader(LEADS.open()))
    rows[0].append("Budget_Confirmed__c")
    for r in rows[1:]:
        r.append("")
    clash = tmp_path / "clash.csv"
    with clash.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    result = CliRunner().invoke(score, [str(ACME), "--leads", str(clash), "--events",
                                        str(EVENTS), "--as-of", AS_OF])
    assert result.exit_code == 2
    assert "both `budget_confirmed`" in result.output


def test_explain_and_test_take_platform_names_for_lead_attributes(tmp_path, acme) -> None:
    from alignctl.policytest import read_lead

    lead = tmp_path / "lead.yaml"
    lead.write_text("as_of: 2025-03-03T09:00:00Z\n"
                    "lead: { Id: L1, BUDGET_CONFIRMED__C: true, industry: saas }\n")
    loaded = read_lead(lead, acme, None)
    assert not loaded.diagnostics
    assert loaded.cases[0].lead == {"lead_id": "L1", "budget_confirmed": True, "industry": "saas"}
    clash = tmp_path / "clash.yaml"
    clash.write_text("lead: { budget_confirmed: true, Budget_Confirmed__c: false }\n")
    got = read_lead(clash, acme, None).diagnostics
    assert [d.code for d in got] == ["ALN102"] and "both" in got[0].message
