"""The report's HTML page in headless Chromium: charts drawn as inline SVG, no script, nothing
fetched, and hostile values from the export shown as text."""

from __future__ import annotations

import csv
from pathlib import Path

from alignctl.api import check_policy
from alignctl.commands.report import render
from alignctl.history import load
from alignctl.report import build, findings

from .test_docs_browser import dump_dom, png_size, screenshot

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "examples/acme-saas/alignment.yaml"
HISTORY = ROOT / "examples/data/history"


def page(tmp: Path, leads: Path) -> Path:
    result = check_policy(POLICY)
    history = load(result.policy, leads, activities=HISTORY / "activities.csv")
    doc = build(result.policy, history)
    path = tmp / "report.html"
    path.write_text(render("html", doc, findings(result.policy, doc), result.sources), "utf-8")
    return path


def external(dom) -> list[str]:
    return [v for _, attrs in dom.tags for k, v in attrs.items()
            if k in ("href", "src", "xlink:href", "action") and v and not v.startswith("#")]


def test_demo_report_renders_its_charts(tmp_path: Path) -> None:
    path = page(tmp_path, HISTORY / "leads.csv")
    dom = dump_dom(path, tmp_path)
    assert dom.count("figure", "chart") == 5
    assert dom.count("svg") >= 5 and dom.count("script") == 0
    assert dom.count("div", "finding") >= 8
    assert external(dom) == []
    shot = screenshot(path, tmp_path)
    assert png_size(shot) == (1280, 2400)
    assert shot.stat().st_size > 60_000, "the screenshot looks blank"


def test_hostile_export_values_stay_text(tmp_path: Path) -> None:
    evil = '<img src=x onerror="document.title=1">'
    with (HISTORY / "leads.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    leads = tmp_path / "leads.csv"
    with leads.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, list(rows[0]))
        w.writeheader()
        w.writerows([{**rows[0], "lead_id": evil, "lifecycle_stage": "<b>nurture</b>"}, *rows])
    path = page(tmp_path, leads)
    html = path.read_text("utf-8")
    assert evil not in html and "&lt;img src=x" in html
    dom = dump_dom(path, tmp_path)
    assert dom.count("img") == 0 and dom.count("b") == 0
