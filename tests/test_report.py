"""`alignctl report` on the demo history, a platform-named export, Parquet, and exports missing
whole sections; each finding code produced by some history; figures checked independently."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from alignctl.api import check_policy
from alignctl.cli import main
from alignctl.history import load
from alignctl.policy.codes import REPORT_CODES
from alignctl.report import build, findings

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "examples/acme-saas/alignment.yaml"
HISTORY = ROOT / "examples/data/history"
LEADS, ACTS = HISTORY / "leads.csv", HISTORY / "activities.csv"
START = date(2025, 7, 7)
RESULT = check_policy(POLICY)


@pytest.fixture(scope="module")
def demo() -> dict:
    h = load(RESULT.policy, LEADS, activities=ACTS)
    doc = build(RESULT.policy, h, START)
    return {"doc": doc, "diags": findings(RESULT.policy, doc)}


def report(leads: Path, **kw) -> tuple[dict, list]:
    h = load(RESULT.policy, leads, activities=kw.pop("activities", None))
    doc = build(RESULT.policy, h, kw.pop("start", None), kw.pop("end", None))
    return doc, findings(RESULT.policy, doc)


def write_csv(path: Path, rows: list[dict]) -> Path:
    cols = list(dict.fromkeys(c for r in rows for c in r))
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, cols)
        w.writeheader()
        w.writerows(rows)
    return path


def line_of(span) -> str:
    return RESULT.sources[span.file].split("\n")[span.line - 1]


# --- the demo history ---------------------------------------------------------------------------

def test_demo_has_every_section_and_the_contract_keys(demo) -> None:
    doc = demo["doc"]
    assert doc["version"] == 1 and doc["window"]["from"] == "2025-07-07"
    assert doc["window"]["to"] == "2026-01-04" and doc["window"]["period"] == "week"
    assert sum(not p["partial"] for p in doc["window"]["periods"]) == 26
    assert set(doc["volumes"][0]) >= {"period_start", "stage", "entered", "expected",
                                      "required", "committed"}
    assert set(doc["conversion"][0]) >= {"from", "to", "entered", "converted", "rate",
                                         "ci_low", "ci_high", "planned", "median_days",
                                         "p90_days"}
    assert set(doc["sla"][0]) >= {"handoff", "leads", "accepted_in_time",
                                  "first_touch_in_time", "attempts_met", "bands"}
    assert set(doc["capacity"][0]) >= {"team", "period_start", "handed", "capacity",
                                       "utilisation"}
    assert set(doc["quality"][0]) >= {"by", "value", "leads", "converted", "rate", "lift"}
    assert {d["kind"] for d in doc["data_quality"]} == {"duplicate_id", "out_of_order",
                                                        "unknown_stage"}
    assert doc["not_measurable"] == []
    for r in doc["conversion"]:
        assert r["ci_low"] <= r["rate"] <= r["ci_high"]


def test_demo_findings_show_the_planted_deviations_at_their_policy_lines(demo) -> None:
    by = {}
    for d in demo["diags"]:
        by.setdefault(d.code, []).append(d)
    assert set(by) == {"ALN970", "ALN971", "ALN973", "ALN974", "ALN976", "ALN977"}
    (conv,) = by["ALN970"]
    assert "`mql` -> `sal`" in conv.message and "mql: 0.70" in line_of(conv.span)
    assert "commitments: { mql: 95 }" in line_of(by["ALN971"][0].span)
    accept = [d for d in by["ALN973"] if "accepted within 24h" in d.message]
    assert accept and "accept_within: 24h" in line_of(accept[0].span)
    assert "2025-09-01" in accept[0].notes[1]            # a busy week is among the worst
    assert "hours_per_rep" in line_of(by["ALN974"][0].span)
    assert by["ALN977"][0].span.file.endswith("leads.csv")


def _rows() -> list[dict]:
    with LEADS.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _clean(rows: list[dict]) -> list[dict]:
    """The history's `ok` rule, restated in Python: first row per id, known stage, in order."""
    stages = ["inquiry", "mql", "sal", "sql", "opportunity", "customer"]
    seen, out = set(), []
    for r in rows:
        first = r["lead_id"] not in seen
        seen.add(r["lead_id"])
        times = [r[f"{s}_entered_at"] for s in stages]
        ordered = all(b >= a for i, a in enumerate(times) if a for b in times[i + 1:] if b)
        if first and r["lifecycle_stage"] in stages and ordered:
            out.append(r)
    return out


def test_volumes_and_accept_sla_match_an_independent_count(demo) -> None:
    rows = _clean(_rows())
    week = "2025-09-01"
    lo = datetime.fromisoformat(week)
    hi = lo + timedelta(days=7)
    inquiries = sum(lo <= datetime.fromisoformat(r["inquiry_entered_at"]) < hi for r in rows)
    got = next(v for v in demo["doc"]["volumes"] if v["stage"] == "inquiry"
               and v["period_start"] == week)
    assert got["entered"] == inquiries
    start, as_of = datetime(2025, 7, 7), datetime(2026, 1, 5)
    n = k = 0
    for r in rows:
        if not r["sal_accept_due_at"]:
            continue
        handed = datetime.fromisoformat(r["sal_accept_due_at"]) - timedelta(hours=24)
        if not start <= handed < as_of:
            continue
        decided = r["sal_accepted_at"] or (r["disqualified_at"] if not r["sal_entered_at"]
                                           and r["disqualified_at"] else "")
        if decided and datetime.fromisoformat(decided) < handed:
            decided = ""
        if decided or handed + timedelta(hours=24) <= as_of:
            n += 1
            k += bool(decided) and datetime.fromisoformat(decided) - handed <= timedelta(hours=24)
    accept = demo["doc"]["sla"][0]["accept"]
    assert (accept["leads"], accept["in_time"]) == (n, k)


def test_the_simulation_is_deterministic_and_committed() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("simulate", HISTORY.parent / "simulate.py")
    sim = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sim)
    files = sim.simulate()
    assert files == sim.simulate()
    for name, data in files.items():
        assert (HISTORY / name).read_bytes() == data, f"regenerate {name}: simulate.py"


# --- other shapes of export ---------------------------------------------------------------------

def _figures(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k != "inputs"}


def test_a_salesforce_named_export_gives_the_same_report(tmp_path: Path, demo) -> None:
    from alignctl.targets import crm

    names = crm.api_names(crm.derive(RESULT.policy), ("salesforce",))
    rows = _rows()
    renamed = [{("Id" if c == "lead_id" else names[c]["salesforce"] if c in names else c): v
                for c, v in r.items()} for r in rows]
    assert "Sal_Accepted_At__c" in renamed[0] and "Id" in renamed[0]
    doc, _ = report(write_csv(tmp_path / "sf.csv", renamed), activities=ACTS, start=START)
    assert doc["inputs"]["columns"]["sal_accepted_at"] == "Sal_Accepted_At__c"
    assert _figures(doc) == _figures(demo["doc"])


def test_parquet_gives_the_same_report(tmp_path: Path, demo) -> None:
    import duckdb

    pq = tmp_path / "leads.parquet"
    duckdb.sql(f"COPY (SELECT * FROM read_csv('{LEADS}', all_varchar=true)) TO '{pq}'")
    doc, _ = report(pq, activities=ACTS, start=START)
    assert _figures(doc) == _figures(demo["doc"])


def test_missing_sections_are_named_never_zero(tmp_path: Path) -> None:
    rows = [{"lead_id": f"L{i}", "inquiry_entered_at": f"2025-07-{7 + i % 20:02d} 10:00",
             "mql_entered_at": f"2025-07-{8 + i % 20:02d} 10:00" if i % 4 == 0 else ""}
            for i in range(200)]
    doc, diags = report(write_csv(tmp_path / "thin.csv", rows))
    missing = {m["section"]: m["needs"] for m in doc["not_measurable"]}
    assert missing["conversion mql -> sal"] == ["sal_entered_at"]
    assert missing["sla mql -> sal: accept"] == ["sal_accepted_at"]
    assert missing["sla mql -> sal: first touch"] == ["sal_first_touch_at"]
    assert missing["quality by fit grade"] == ["fit_grade"]
    assert "disqualification and recycling" in missing
    assert [(c["from"], c["to"]) for c in doc["conversion"]] == [("inquiry", "mql")]
    assert doc["conversion"][0]["converted"] == 50
    assert doc["recycling"] is None and doc["quality"] == []


def test_only_a_lead_id_reports_everything_not_measurable(tmp_path: Path) -> None:
    doc, diags = report(write_csv(tmp_path / "ids.csv", [{"Id": "a"}, {"Id": "b"}]))
    assert doc["window"]["from"] is None and doc["not_measurable"]
    assert doc["volumes"] == [] and diags == []


# --- every report code has a history that produces it ------------------------------------------

def _funnel(i: int, grade: str, stages: int, base: datetime) -> dict:
    names = ["inquiry", "mql", "sal", "sql", "opportunity", "customer"]
    row = {"lead_id": f"L{i:05d}", "fit_grade": grade, "lifecycle_stage": names[stages - 1]}
    for k, s in enumerate(names):
        row[f"{s}_entered_at"] = (base + timedelta(days=k)).isoformat(sep=" ") if k < stages \
            else ""
    return row


def test_grade_inversion_is_aln975(tmp_path: Path) -> None:
    base = datetime(2025, 1, 6)
    rows = [_funnel(i, "A", 2 if i % 20 == 0 else 1, base) for i in range(300)]
    rows += [_funnel(1000 + i, "B", 2 if i % 2 == 0 else 1, base) for i in range(300)]
    _, diags = report(write_csv(tmp_path / "g.csv", rows))
    (d,) = [d for d in diags if d.code == "ALN975"]
    assert "fit grade A converts to `mql`" in d.message and "grades:" in line_of(d.span)


def test_observed_rates_below_target_are_aln972(tmp_path: Path) -> None:
    base = datetime(2025, 1, 6)
    rows = [_funnel(i, "A", 3 if i % 10 == 0 else 2, base) for i in range(400)]
    doc, diags = report(write_csv(tmp_path / "t.csv", rows))
    (d,) = [d for d in diags if d.code == "ALN972"]
    assert doc["plan_observed"]["rates"]["mql"] == 0.1
    assert "revenue_target" in line_of(d.span)


CODE_CASES = {"ALN970": "demo", "ALN971": "demo", "ALN972": test_observed_rates_below_target_are_aln972,
              "ALN973": "demo", "ALN974": "demo", "ALN975": test_grade_inversion_is_aln975,
              "ALN976": "demo", "ALN977": "demo"}


def test_every_report_code_has_a_history(demo) -> None:
    assert set(CODE_CASES) == set(REPORT_CODES)
    produced = {d.code for d in demo["diags"]}
    assert {c for c, how in CODE_CASES.items() if how == "demo"} <= produced


# --- the command --------------------------------------------------------------------------------

ARGS = [str(POLICY), "--leads", str(LEADS), "--activities", str(ACTS), "--from", "2025-07-07"]


def test_cli_formats(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["report", *ARGS, "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["version"] == 1 and doc["summary"]["warnings"] == len(doc["findings"]) > 0
    assert {f["code"] for f in doc["findings"]} >= {"ALN970", "ALN973"}
    gh = runner.invoke(main, ["report", *ARGS, "--format", "github"]).stdout
    assert "::warning file=" in gh and "title=ALN970" in gh
    sarif = json.loads(runner.invoke(main, ["report", *ARGS, "--format", "sarif"]).stdout)
    assert sarif["runs"][0]["results"]
    text = runner.invoke(main, ["report", *ARGS]).stdout
    assert "Conversion" in text and "Findings" in text and "\\x0a" not in text
    short = runner.invoke(main, ["report", *ARGS, "--format", "summary"]).stdout
    assert "mql -> sal: 65.0 % (plan 70.0 %)" in short and "ALN970" in short
    md = runner.invoke(main, ["report", *ARGS, "--format", "markdown"]).stdout
    assert md.startswith("## ") and "| mql -> sal |" in md.replace("\\>", ">")
    out = tmp_path / "r.html"
    res = runner.invoke(main, ["report", *ARGS, "--out", str(out)])
    assert res.exit_code == 0 and out.read_text("utf-8").startswith("<!DOCTYPE html>")
    assert list(tmp_path.iterdir()) == [out]              # no temporary file left behind


def test_cli_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["report", str(POLICY), "--leads", str(tmp_path / "none.csv")])
    assert res.exit_code == 2 and "no such file" in res.stderr
    res = runner.invoke(main, ["report", *ARGS[:-1], "July"])
    assert res.exit_code == 2 and "not an ISO date" in res.stderr
    strict = tmp_path / "alignment.yaml"
    text = POLICY.read_text("utf-8").replace("    ALN704: error", "    ALN704: error\n"
                                             "    ALN970: error")
    strict.write_text(text, "utf-8")
    res = runner.invoke(main, ["report", str(strict), *ARGS[1:], "--format", "json"])
    assert res.exit_code == 1, res.output
    assert any(f["code"] == "ALN970" and f["severity"] == "error"
               for f in json.loads(res.stdout)["findings"])


def test_policy_report_columns_map_other_names(tmp_path: Path) -> None:
    policy = tmp_path / "alignment.yaml"
    shutil.copy(POLICY, policy)
    with policy.open("a", encoding="utf-8") as fh:
        fh.write("\nreport:\n  columns: { lead_id: Lead Number, inquiry_entered_at: Created }\n")
    leads = write_csv(tmp_path / "l.csv", [{"Lead Number": "x1", "Created": "2025-07-08"}])
    res = CliRunner().invoke(main, ["report", str(policy), "--leads", str(leads),
                                    "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["inputs"]["columns"] == {"inquiry_entered_at": "Created",
                                        "lead_id": "Lead Number"}
    assert sum(v["entered"] for v in doc["volumes"]) == 1


def test_docs_show_the_summary_the_command_prints(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    docs = (ROOT / "docs/report.md").read_text("utf-8")
    res = CliRunner().invoke(main, ["report", "examples/acme-saas/alignment.yaml", "--leads",
                                    "examples/data/history/leads.csv", "--activities",
                                    "examples/data/history/activities.csv", "--from",
                                    "2025-07-07", "--format", "summary"])
    assert res.exit_code == 0
    assert res.stdout in docs, "docs/report.md's example is stale: paste the new summary"
