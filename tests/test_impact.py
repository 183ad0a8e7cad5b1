"""`diff --leads`: the Impact section agrees with two independent `alignctl score` runs."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from alignctl.commands.diff import command as diff_command
from alignctl.commands.score import command as score_command

from .conftest import ROOT

ACME = ROOT / "examples" / "acme-saas" / "alignment.yaml"
REVIEW = ROOT / "tests" / "golden" / "diff" / "acme-review"
DATA = ROOT / "examples" / "data" / "replay"
LEADS, EVENTS = DATA / "leads.csv", DATA / "events.csv"
AS_OF = "2026-01-04T23:59:59"             # the latest timestamp in the demo history


def diff(*args: str):
    return CliRunner().invoke(diff_command, [*map(str, args)], catch_exceptions=False)


def score(policy: Path, out: Path) -> list[dict]:
    result = CliRunner().invoke(score_command, [str(policy), "--leads", str(LEADS), "--events",
                                                str(EVENTS), "--as-of", AS_OF, "--out", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(newline="") as fh:
        return list(csv.DictReader(fh))


def by_lead(rows: list[dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for r in rows:
        out.setdefault(r["lead_id"], r)
    return out


def transitions(a: dict, b: dict, key: str) -> Counter:
    return Counter((a[i][key], b[i][key]) for i in a if i in b and a[i][key] != b[i][key])


def cells(rows: list[dict]) -> Counter:
    return Counter({(t["from"] or "", t["to"] or ""): t["count"] for t in rows})


@pytest.fixture(scope="module")
def scoring_pair(tmp_path_factory) -> tuple[Path, Path]:
    """A scoring change (stricter grades, more points for the pricing page) and a looser MQL
    entry, so leads change grade, score and stage."""
    d = tmp_path_factory.mktemp("scoring")
    text = ACME.read_text()
    head = text.replace("grades: { A: 55, B: 35, C: 15 }", "grades: { A: 60, B: 40, C: 15 }")
    head = head.replace("where: 'url contains \"/pricing\"', points: 10,",
                        "where: 'url contains \"/pricing\"', points: 15,")
    head = head.replace("engagement >= 40 and count", "engagement >= 10 and count")
    assert head != text and head.count("points: 15, max: 30") == 1
    (d / "base.yaml").write_text(text)
    (d / "head.yaml").write_text(head)
    return d / "base.yaml", d / "head.yaml"


@pytest.fixture(scope="module")
def scoring_impact(scoring_pair) -> dict:
    base, head = scoring_pair
    result = diff(base, head, "--format", "json", "--leads", LEADS, "--events", EVENTS,
                  "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["impact"]


def test_now_agrees_with_two_score_runs(scoring_pair, scoring_impact, tmp_path) -> None:
    base_rows = score(scoring_pair[0], tmp_path / "base.csv")
    head_rows = score(scoring_pair[1], tmp_path / "head.csv")
    now = scoring_impact["now"]
    assert now["stage_counts"]["base"] == dict(Counter(r["stage"] for r in base_rows))
    assert now["stage_counts"]["head"] == dict(Counter(r["stage"] for r in head_rows))
    a, b = by_lead(base_rows), by_lead(head_rows)
    assert cells(now["stages"]) == transitions(a, b, "stage")
    assert cells(now["grades"]) == transitions(a, b, "fit_grade")
    assert now["score_changed"] == sum(float(a[i]["lead_score"]) != float(b[i]["lead_score"])
                                       for i in a)
    assert now["grade_changed"] > 100 and now["stage_changed"] > 0   # the change does something
    for t in now["grades"]:
        assert all(a[i]["fit_grade"] == t["from"] and b[i]["fit_grade"] == t["to"]
                   for i in t["examples"])


def test_scoring_change_shows_deciles_and_auc(scoring_impact) -> None:
    sc = scoring_impact["scoring"]
    for side in ("base", "head"):
        assert 0.5 < sc[side]["auc"] <= 1
        assert [d["decile"] for d in sc[side]["deciles"]] == list(range(1, 11))


@pytest.fixture(scope="module")
def review(tmp_path_factory) -> dict:
    result = diff(REVIEW / "base.yaml", REVIEW / "alignment.yaml", "--format", "json",
                  "--leads", LEADS, "--events", EVENTS)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["impact"]


def test_review_example_counts_match_score_runs(review, tmp_path) -> None:
    """The golden review's HEAD fails ALN902 (which `score` refuses); its scoring is the same
    with the sign-off restored, so score that copy."""
    head = tmp_path / "alignment.yaml"
    text = (REVIEW / "alignment.yaml").read_text()
    head.write_text(text.replace("approved_by: [marketing]\n", "approved_by: [marketing, sdr]\n",
                                 1))
    assert review["as_of"] == AS_OF.replace("T", " ")
    base_rows = score(REVIEW / "base.yaml", tmp_path / "base.csv")
    head_rows = score(head, tmp_path / "head.csv")
    assert review["now"]["stage_counts"]["base"] == dict(Counter(r["stage"] for r in base_rows))
    assert review["now"]["stage_counts"]["head"] == dict(Counter(r["stage"] for r in head_rows))
    assert review["now"]["stage_changed"] == sum(transitions(by_lead(base_rows),
                                                             by_lead(head_rows), "stage").values())


def test_review_example_volume_quality_and_load(review) -> None:
    vol = {v["stage"]: v for v in review["volume"]}
    mql = vol["mql"]
    assert len(mql["base"]) == len(review["periods"]) == 26
    assert mql["head_avg"] < mql["base_avg"]                     # stricter: fewer MQLs
    assert all(h <= b for b, h in zip(mql["base"], mql["head"], strict=True))
    assert mql["committed"] == 95 and mql["required"] == pytest.approx(90.7)
    assert vol["customer"]["change_pct"] == 0.0
    sdr = next(t for t in review["load"] if t["team"] == "sdr")
    assert (sdr["base_capacity"], sdr["head_capacity"]) == (120, 140)
    assert sdr["head"] == mql["head"]
    q = next(q for q in review["quality"] if q["stage"] == "mql")
    assert q["head"]["qualified"] < q["base"]["qualified"]
    assert q["head"]["precision"] > q["base"]["precision"]       # the dropped leads rarely won
    assert q["head"]["recall"] < q["base"]["recall"]
    cross = next(t for t in review["now"]["thresholds"] if t["stage"] == "mql")
    assert cross["base_only"] > 0 and cross["head_only"] == 0


def test_markdown_and_text_show_the_impact(tmp_path) -> None:
    md = diff(REVIEW / "base.yaml", REVIEW / "alignment.yaml", "--format", "markdown",
              "--leads", LEADS, "--events", EVENTS).stdout
    assert "#### Impact on real leads" in md and "| mql | " in md
    assert "below the commitment (95)" in md and "**Quality**" in md
    assert md.index("#### Impact") < md.index("#### New findings")


@pytest.mark.parametrize(("limit", "code"), [("impact:10%", 1), ("impact:50%", 0)])
def test_fail_on_impact(limit, code) -> None:
    result = diff(REVIEW / "base.yaml", REVIEW / "alignment.yaml", "--leads", LEADS,
                  "--events", EVENTS, "--fail-on", limit)
    assert result.exit_code == code, result.output


def test_fail_on_impact_needs_leads() -> None:
    result = diff(REVIEW / "base.yaml", REVIEW / "alignment.yaml", "--fail-on", "impact:5%")
    assert result.exit_code == 2 and "needs --leads" in result.output
    result = diff(REVIEW / "base.yaml", REVIEW / "alignment.yaml", "--fail-on", "impact")
    assert result.exit_code == 2 and "impact:N%" in result.output


def test_docs_only_diff_reads_no_data(tmp_path) -> None:
    head = tmp_path / "alignment.yaml"
    head.write_text(ACME.read_text().replace("Anyone who has identified themselves",
                                             "Anybody who has identified themselves"))
    result = diff(ACME, head, "--format", "json", "--leads", tmp_path / "missing.csv")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["impact"] == {
        "skipped": "no behaviour change: the leads were not read"}


def test_unreadable_leads_is_a_one_line_usage_error(tmp_path) -> None:
    result = diff(REVIEW / "base.yaml", REVIEW / "alignment.yaml", "--leads",
                  tmp_path / "missing.csv")
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "no such file" in result.output


def test_leads_without_stage_timestamps_say_what_is_not_measurable(tmp_path) -> None:
    """Only what `score` reads: now is measured, the replay names the column it needs."""
    leads = tmp_path / "leads.csv"
    with LEADS.open(newline="") as src, leads.open("w", newline="") as dst:
        rows = csv.DictReader(src)
        keep = [c for c in rows.fieldnames if not c.endswith("_at")]
        w = csv.DictWriter(dst, keep, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    result = diff(REVIEW / "base.yaml", REVIEW / "alignment.yaml", "--format", "json",
                  "--leads", leads, "--events", EVENTS)
    assert result.exit_code == 0, result.output
    imp = json.loads(result.stdout)["impact"]
    assert imp["volume"] == [] and imp["now"]["leads"] > 0
    assert any("needs column inquiry_entered_at" in n for n in imp["notes"])


def test_review_docs_show_the_current_impact_section() -> None:
    """docs/review.md's rendered Impact section is what the diff prints today."""
    import os

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        out = diff("tests/golden/diff/acme-review/base.yaml",
                   "tests/golden/diff/acme-review/alignment.yaml", "--format", "markdown",
                   "--leads", "examples/data/replay/leads.csv",
                   "--events", "examples/data/replay/events.csv").stdout
    finally:
        os.chdir(cwd)
    block = out[out.index("#### Impact on real leads"):out.index("#### New findings")]
    docs = (ROOT / "docs" / "review.md").read_text()
    assert block.rstrip() in docs, "re-render the Impact section in docs/review.md"


def test_without_events_engagement_is_zero_and_said(tmp_path) -> None:
    result = diff(REVIEW / "base.yaml", REVIEW / "alignment.yaml", "--format", "json",
                  "--leads", LEADS, "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    imp = json.loads(result.stdout)["impact"]
    assert "no --events: every engagement score is 0" in imp["notes"]
    assert all(v["base_avg"] == v["head_avg"] for v in imp["volume"])   # nobody reaches 40 or 50
