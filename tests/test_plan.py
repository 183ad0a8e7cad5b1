"""The funnel arithmetic (`compiler.plan`) on hand-computed cases, and `alignctl plan`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from alignctl.api import check_policy
from alignctl.commands.plan import command
from alignctl.compiler.plan import compute_plan, noun, num, to_dict

from .conftest import EXAMPLES

CASES = Path(__file__).parent / "cases"

TEAMS = """\
teams:
  marketing: { kind: marketing }
  sdr: { kind: sales, reps: 4, capacity: { hours_per_rep: 2, minutes_per_lead: 20 } }
  ae: { kind: sales, reps: 10, capacity: { leads_per_rep: 8 } }
fields:
  employees: { type: integer, owner: marketing, source: form }
  budget_confirmed: { type: boolean, owner: sdr, source: sales }
  contract_signed: { type: boolean, owner: ae, source: sales }
stages:
  - { id: inquiry, owner: marketing, definition: Anyone., max_age: 90d }
  - { id: mql, owner: marketing, definition: Worth a call., entry: 'employees >= 200' }
  - { id: sal, owner: sdr, definition: Accepted., entry: accepted }
  - { id: sql, owner: ae, definition: Qualified., entry: 'accepted and budget_confirmed' }
  - { id: customer, owner: ae, definition: Signed., entry: contract_signed, terminal: won }
handoffs:
  - { from: mql, to: sal, sla: { accept_within: 24h } }
  - { from: sal, to: sql, sla: { accept_within: 48h } }
"""


def write(tmp_path: Path, plan: str, period: str = "week", extra: str = "") -> Path:
    path = tmp_path / "alignment.yaml"
    head = f"policy: {{ name: Plan test, version: 1.0.0, period: {period} }}\n"
    path.write_text(head + TEAMS + extra + plan, "utf-8")
    return path


def table(tmp_path: Path, plan: str, **kw):
    result = check_policy(write(tmp_path, plan, **kw), run_checks=False)
    assert not result.errors, result.errors
    return compute_plan(result.policy)


ACME_LIKE = """\
plan:
  revenue_target: { amount: 1950000, currency: USD, per: quarter }
  average_deal_size: 25000
  volumes: { inquiry: 500 }
  conversion: { inquiry: 0.2, mql: 0.7, sal: 0.45, sql: 0.3 }
"""

# Fits every team: 1.89 customers a week expected for 1.5 needed (487,500 / 13 / 25,000).
CLEAN = ACME_LIKE.replace("inquiry: 500", "inquiry: 100").replace("1950000", "487500")


# --- numbers and words ----------------------------------------------------------------------

@pytest.mark.parametrize(("value", "text"), [
    (1600, "1,600"), (0.1 + 0.2, "0.3"), (22.05, "22.05"), (1234567.891, "1,234,567.89"),
    (6.0000000001, "6"), (-0.001, "0"), (90.702947845805, "90.7"),
])
def test_num(value: float, text: str) -> None:
    assert num(value) == text


@pytest.mark.parametrize(("stage", "n", "text"), [
    ("mql", 400, "MQLs"), ("mql", 1, "MQL"), ("inquiry", 2, "inquiries"),
    ("opportunity", 1, "opportunity"), ("sales_accepted_lead", 3, "sales accepted leads"),
    ("match", 2, "matches"),
])
def test_noun(stage: str, n: float, text: str) -> None:
    assert noun(stage, n) == text


# --- the arithmetic -------------------------------------------------------------------------

def test_expected_flows_down_the_funnel(tmp_path: Path) -> None:
    t = table(tmp_path, ACME_LIKE)
    got = {r.stage: round(r.expected.value, 4) for r in t.stages}
    assert got == {"inquiry": 500, "mql": 100, "sal": 70, "sql": 31.5, "customer": 9.45}
    assert t.stage("mql").expected.explain == "100 MQLs/week (500 inquiries x 0.2)"
    assert t.stage("inquiry").expected.explain == "500 inquiries/week (plan.volumes)"


def test_required_divides_back_up(tmp_path: Path) -> None:
    t = table(tmp_path, ACME_LIKE)
    assert t.target.value == pytest.approx(150000)
    assert t.target.explain == "150,000 USD/week (1,950,000 USD/quarter / 13 weeks per quarter)"
    assert t.deals.explain == "6 customers/week (150,000 USD / 25,000 USD per deal)"
    assert t.won_stage == "customer"
    required = {r.stage: r.required.value for r in t.stages}
    # 6 / 0.3 = 20; 20 / 0.45 = 44.44; / 0.7 = 63.49; / 0.2 = 317.46
    assert required == pytest.approx({"customer": 6, "sql": 20, "sal": 400 / 9,
                                      "mql": 400 / 9 / 0.7, "inquiry": 400 / 9 / 0.7 / 0.2})
    assert t.stage("sql").required.explain == "20 SQLs/week (6 customers / 0.3)"
    assert t.stage("customer").headroom == pytest.approx(9.45 / 6 - 1)


def test_team_load_and_capacity(tmp_path: Path) -> None:
    t = table(tmp_path, ACME_LIKE)
    sdr, ae, marketing = t.team("sdr"), t.team("ae"), t.team("marketing")
    assert sdr.sources == ("mql",) and sdr.load.value == 100 and sdr.capacity.value == 24
    assert sdr.capacity.explain == "24 (4 reps x 2 h x 60 / 20 min)"
    assert sdr.utilisation == pytest.approx(100 / 24)
    assert ae.load.explain == "70 SALs/week (100 MQLs x 0.7)"
    assert ae.capacity.explain == "80 (10 reps x 8 leads)"
    assert ae.required_load.value == pytest.approx(400 / 9)
    assert marketing.load is None and marketing.capacity is None and marketing.utilisation is None


@pytest.mark.parametrize(("period", "per", "amount", "value", "how"), [
    ("month", "quarter", 162000, 54000, "162,000 EUR/quarter / 3 months per quarter"),
    ("week", "month", 52000, 12000, "52,000 EUR/month / 4.33 weeks per month"),
    ("month", "week", 1200, 5200, "1,200 EUR/week x 4.33 weeks per month"),
    ("quarter", "month", 1000, 3000, "1,000 EUR/month x 3 months per quarter"),
    ("quarter", "week", 1000, 13000, "1,000 EUR/week x 13 weeks per quarter"),
    ("week", "week", 1000, 1000, "the revenue target"),
])
def test_period_conversion(tmp_path: Path, period: str, per: str, amount: float, value: float,
                           how: str) -> None:
    plan = f"plan:\n  revenue_target: {{ amount: {amount}, currency: EUR, per: {per} }}\n"
    t = table(tmp_path, plan, period=period)
    assert t.target.value == pytest.approx(value)
    assert t.target.explain == f"{num(value)} EUR/{period} ({how})"


def test_stated_volume_replaces_the_flow(tmp_path: Path) -> None:
    plan = ("plan:\n  volumes: { inquiry: 1000, sal: 30 }\n"
            "  conversion: { inquiry: 0.1, sal: 0.5 }\n")
    t = table(tmp_path, plan)
    assert t.stage("mql").expected.value == 100
    assert t.stage("sal").expected.explain == "30 SALs/week (plan.volumes)"
    assert t.stage("sql").expected.value == 15
    assert t.stage("customer").expected is None   # no conversion for sql


def test_required_stops_at_a_missing_rate(tmp_path: Path) -> None:
    plan = ("plan:\n  revenue_target: { amount: 10000, per: week }\n  average_deal_size: 1000\n"
            "  conversion: { sal: 0.5, sql: 0.5 }\n")
    t = table(tmp_path, plan)
    assert {r.stage: r.required and r.required.value for r in t.stages} == {
        "customer": 10, "sql": 20, "sal": 40, "mql": None, "inquiry": None}


def test_load_sums_every_handoff_into_the_team(tmp_path: Path) -> None:
    extra = "  - { from: inquiry, to: sal, sla: { accept_within: 24h } }\n"
    path = write(tmp_path, "plan:\n  volumes: { inquiry: 40 }\n  conversion: { inquiry: 0.5 }\n")
    path.write_text(path.read_text("utf-8").replace("handoffs:\n", "handoffs:\n" + extra))
    t = compute_plan(check_policy(path, run_checks=False).policy)
    sdr = t.team("sdr")
    assert sdr.sources == ("inquiry", "mql")
    assert sdr.load.value == 60
    assert sdr.load.explain == "60 leads/week (40 inquiries + 20 MQLs)"


def test_no_plan_section(tmp_path: Path) -> None:
    t = table(tmp_path, "")
    assert t.target is None and t.deals is None
    assert all(r.expected is None and r.required is None for r in t.stages)
    assert t.team("sdr").capacity.value == 24


def test_over_capacity_note(tmp_path: Path) -> None:
    plan = "plan:\n  volumes: { inquiry: 1600 }\n  conversion: { inquiry: 0.25, mql: 0.01 }\n"
    result = check_policy(write(tmp_path, plan))
    (d,) = [d for d in result.diagnostics if d.code == "ALN601"]
    assert d.notes[0] == ("sdr receives 400 MQLs/week (1,600 inquiries x 0.25); "
                          "it can work 24 (4 reps x 2 h x 60 / 20 min)")
    assert "add reps" in d.help


def test_to_dict_is_plain_data(tmp_path: Path) -> None:
    data = to_dict(table(tmp_path, ACME_LIKE))
    assert json.loads(json.dumps(data)) == data
    assert data["teams"][1]["utilisation"] == pytest.approx(100 / 24, abs=1e-6)


# --- the command ----------------------------------------------------------------------------

def run(*args: str):
    return CliRunner().invoke(command, list(args))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_plan_on_examples(example: Path) -> None:
    for fmt in ("text", "markdown", "json"):
        result = run(str(example), "--format", fmt)
        assert result.exit_code == 0, result.output


def test_text_format(tmp_path: Path) -> None:
    result = run(str(write(tmp_path, CLEAN)))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("Plan test 1.0.0: plan per week\n")
    assert "revenue target: 37,500 USD/week (487,500 USD/quarter / 13 weeks per quarter)" in out
    assert "deals needed: 1.5 customers/week (37,500 USD / 25,000 USD per deal)" in out
    assert "sdr load: 20 MQLs/week (100 inquiries x 0.2)" in out
    mql = next(line for line in out.splitlines() if line.startswith("  mql "))
    cells = [c.strip() for c in mql.split("  ") if c.strip()]
    assert cells == ["mql", "marketing", "0.7", "20", "15.87", "+26 %", "-"]
    assert result.stderr == ""


def test_plan_findings_show_with_the_table(tmp_path: Path) -> None:
    result = run(str(write(tmp_path, ACME_LIKE)))
    assert result.exit_code == 1                   # sdr gets 100 MQLs a week and can work 24
    assert "416.67 %" in result.stdout
    assert "error[ALN601]: team `sdr` is over capacity" in result.stderr
    doc = json.loads(run(str(write(tmp_path, ACME_LIKE)), "--format", "json").stdout)
    assert {f["code"] for f in doc["findings"]} == {"ALN601", "ALN603"}


def test_markdown_format(tmp_path: Path) -> None:
    result = run(str(write(tmp_path, CLEAN)), "--format", "markdown")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("# Plan test 1.0.0: plan per week")
    assert "| stage | owner | conversion | expected | required | headroom | commitment |" in out
    assert "| mql | marketing | 0.7 | 20 | 15.87 | +26 % | - |" in out
    assert "| sdr | sales | mql | 20 | 24 | 83.33 % | 15.87 |" in out
    assert "- sdr capacity: 24 (4 reps x 2 h x 60 / 20 min)" in out


def test_json_format_is_stable(tmp_path: Path) -> None:
    path = str(write(tmp_path, CLEAN))
    first, second = run(path, "--format", "json"), run(path, "--format", "json")
    assert first.exit_code == 0 and first.stdout == second.stdout
    doc = json.loads(first.stdout)
    assert first.stdout == json.dumps(doc, sort_keys=True, indent=2) + "\n"
    assert doc["version"] == 1 and doc["period"] == "week" and doc["findings"] == []
    assert doc["stages"][0]["expected"] == {"value": 100, "explain":
                                            "100 inquiries/week (plan.volumes)"}
    assert [t["team"] for t in doc["teams"]] == ["marketing", "sdr", "ae"]


def test_policy_errors_exit_1() -> None:
    result = run(str(CASES / "ALN202_enum.yaml"))
    assert result.exit_code == 1
    assert "error[ALN202]" in result.stderr
    assert result.stdout == ""


def test_policy_errors_as_json() -> None:
    result = run(str(CASES / "ALN202_enum.yaml"), "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["summary"]["errors"] == 1


def test_missing_file_exits_2(tmp_path: Path) -> None:
    assert run(str(tmp_path / "nope.yaml")).exit_code == 2


def test_help_shows_an_example() -> None:
    result = run("--help")
    assert result.exit_code == 0
    assert "alignctl plan examples/acme-saas/alignment.yaml" in result.stdout


def test_stage_nouns_read_as_a_person_counts_leads() -> None:
    from alignctl.compiler.plan import count

    assert count(12, "sales_ready") == "12 sales ready leads"        # not "sales readies"
    assert count(1, "sales_ready") == "1 sales ready lead"
    assert count(2, "qualified") == "2 qualified leads"
    assert count(3, "mql") == "3 MQLs" and count(1_600, "inquiry") == "1,600 inquiries"
