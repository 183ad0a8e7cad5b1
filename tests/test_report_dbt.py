"""The dbt alignment models (`alignment_funnel`, `alignment_conversion`, `alignment_sla`) give
the numbers `alignctl report` gives, on the demo history in DuckDB via dbt-duckdb."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb

from alignctl.api import check_policy
from alignctl.history import load
from alignctl.report import build

from .test_scoring_dbt import PROFILE, dbt, write_package

ROOT = Path(__file__).resolve().parent.parent
ACME = ROOT / "examples/acme-saas/alignment.yaml"
HISTORY = ROOT / "examples/data/history"
FLAGS = "_row, dup, out_of_order, bad_stage, bad_reason, bad_time, ok, reason_ok"


def test_dbt_models_match_the_report(tmp_path: Path) -> None:
    policy = check_policy(ACME).policy
    history = load(policy, HISTORY / "leads.csv", activities=HISTORY / "activities.csv")
    doc = build(policy, history, date(2025, 7, 7), date(2026, 1, 4))
    database = tmp_path / "warehouse.duckdb"
    history.con.execute(f"ATTACH '{database}' AS wh")
    history.con.execute(f"CREATE TABLE wh.crm_leads AS SELECT * EXCLUDE ({FLAGS}) FROM leads")
    history.con.execute("DETACH wh")

    project = tmp_path / "dbt"
    write_package(ACME, project)
    (project / "profiles.yml").write_text(PROFILE.format(path=json.dumps(str(database))))
    run = dbt(project, "run", "--select", "alignment", "--vars",
              json.dumps({"alignctl_alignment": True, "alignctl_from": "2025-07-07",
                          "alignctl_to": "2026-01-04"}))
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]

    con = duckdb.connect(str(database), read_only=True)
    funnel = {(r[0].isoformat(), r[1]): r[2] for r in con.execute(
        "SELECT period_start, stage, entered FROM alignment_funnel").fetchall()}
    assert funnel == {(v["period_start"], v["stage"]): v["entered"] for v in doc["volumes"]
                      if v["entered"]}
    conv = {(r[0], r[1]): r[2:] for r in con.execute(
        "SELECT from_stage, to_stage, entered, converted, maturing, maturity_days, rate, "
        "ci_low, ci_high FROM alignment_conversion").fetchall()}
    assert conv == {(c["from"], c["to"]): (c["entered"], c["converted"], c["maturing"],
                                           c["maturity_days"], c["rate"], c["ci_low"],
                                           c["ci_high"]) for c in doc["conversion"]}
    sla = {r[0]: r[1:] for r in con.execute(
        "SELECT handoff, accept_leads, accepted_in_time, touch_leads, first_touch_in_time, "
        "under_5m, under_1h, under_24h, later, never, no_response, attempts_met "
        "FROM alignment_sla").fetchall()}
    expect = {}
    for s in doc["sla"]:
        b = s["bands"]
        expect[s["handoff"]] = (s["accept"]["leads"], s["accept"]["in_time"],
                                s["first_touch"]["leads"], s["first_touch"]["in_time"],
                                b["under_5m"], b["under_1h"], b["under_24h"], b["later"],
                                b["never"], s["attempts"]["no_response"], s["attempts"]["met"])
    assert sla == expect
    con.close()
