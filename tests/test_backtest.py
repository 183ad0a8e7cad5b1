"""`alignctl backtest` on the acme history: decile tables, AUC, stage and rule quality."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from alignctl.api import check_policy
from alignctl.commands.backtest import command as backtest_command

from .conftest import ROOT

ACME = ROOT / "examples" / "acme-saas" / "alignment.yaml"
DATA = ROOT / "examples" / "data" / "replay"
LEADS, EVENTS = DATA / "leads.csv", DATA / "events.csv"


def backtest(*args: str):
    return CliRunner().invoke(backtest_command, [str(ACME), "--leads", str(LEADS), "--events",
                                                 str(EVENTS), *map(str, args)])


@pytest.fixture(scope="module")
def doc() -> dict:
    result = backtest("--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_decile_tables_and_auc(doc) -> None:
    assert doc["version"] == 1 and doc["periods"] == 26
    known, won = doc["outcomes"]["known"], doc["outcomes"]["won"]
    assert 0 < won < known
    models = {m["model"]: m for m in doc["models"]}
    assert set(models) == {"fit", "engagement", "lead_score"}
    for m in models.values():
        d = m["deciles"]
        assert [x["decile"] for x in d] == list(range(1, 11))
        assert sum(x["leads"] for x in d) == known and sum(x["won"] for x in d) == won
        assert all(a["min_score"] >= b["max_score"] for a, b in zip(d, d[1:], strict=False))
        assert 0.5 < m["auc"] <= 1.0
    top, bottom = models["lead_score"]["deciles"][0], models["lead_score"]["deciles"][-1]
    assert top["lift"] > 2 > bottom["lift"]


def test_auc_matches_pairwise_count() -> None:
    """The SQL AUC equals counting won/lost pairs directly (ties count half)."""
    from alignctl import quality
    from alignctl.replay import Inputs, open_side

    side = open_side(check_policy(ACME).policy, Inputs(LEADS, EVENTS))
    assert quality.summarise(side) is None
    rows = side.sql("SELECT peak_engagement, won FROM outcomes WHERE known")
    pos = [v for v, w in rows if w]
    neg = sorted(v for v, w in rows if not w)
    import bisect

    wins = sum(bisect.bisect_left(neg, p) + 0.5 * (bisect.bisect_right(neg, p)
                                                   - bisect.bisect_left(neg, p)) for p in pos)
    assert quality.auc(side, "peak_engagement") == pytest.approx(wins / (len(pos) * len(neg)))


def test_stages_and_rules(doc) -> None:
    stages = {s["stage"]: s for s in doc["stages"]}
    assert set(stages) == {"mql", "sal", "sql", "opportunity"}
    for s in stages.values():
        assert s["qualified_won"] <= min(s["qualified"], s["won"])
        assert s["precision"] == pytest.approx(s["qualified_won"] / s["qualified"], abs=1e-4)
    rules = {r["rule"]: r for r in doc["rules"]}
    assert rules["free_email"]["lift"] < 1 < rules["demo_request"]["lift"]
    assert all(0 <= r["hit_rate"] <= 1 for r in rules.values())


def test_text_markdown_and_html() -> None:
    text = backtest().stdout
    assert "lead_score: AUC 0." in text and "Decile" in text
    md = backtest("--format", "markdown").stdout
    assert "#### Rules" in md and "| Decile |" in md
    html = backtest("--format", "html").stdout
    assert html.startswith("<!doctype html>") and html.count("<svg") == 3
    assert "http" not in html                                     # self-contained


def test_out_file(tmp_path: Path) -> None:
    out = tmp_path / "bt.json"
    assert backtest("--format", "json", "--out", out).exit_code == 0
    assert json.loads(out.read_text())["version"] == 1


def test_without_outcomes_says_what_is_missing(tmp_path: Path) -> None:
    leads = tmp_path / "leads.csv"
    with LEADS.open(newline="") as src, leads.open("w", newline="") as dst:
        rows = csv.DictReader(src)
        keep = [c for c in rows.fieldnames if c != "customer_entered_at"]
        w = csv.DictWriter(dst, keep, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    result = CliRunner().invoke(backtest_command, [str(ACME), "--leads", str(leads),
                                                   "--events", str(EVENTS), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "needs column customer_entered_at" in json.loads(result.stdout)["not_measurable"]


def test_bad_input_is_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(backtest_command, [str(ACME), "--leads", str(tmp_path / "x.csv")])
    assert result.exit_code == 2 and "no such file" in result.output
