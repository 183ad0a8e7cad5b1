"""The lead-history reader: canonical columns, platform names, activities, data quality."""

from __future__ import annotations

from pathlib import Path

import pytest

from alignctl.api import check_policy
from alignctl.history import HistoryError, load

ROOT = Path(__file__).resolve().parent.parent
POLICY = check_policy(ROOT / "examples/acme-saas/alignment.yaml").policy


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


def test_platform_names_resolve_and_missing_columns_are_null(tmp_path: Path) -> None:
    leads = write(tmp_path, "l.csv", "Id,Inquiry_Entered_At__c,mql_entered_at\n"
                                     "L1,2025-01-01T10:00:00Z,2025-01-02 00:00\n")
    h = load(POLICY, leads)
    assert h.source["lead_id"] == "Id"
    assert h.source["inquiry_entered_at"] == "Inquiry_Entered_At__c"
    row = h.con.execute("SELECT inquiry_entered_at, sal_entered_at, ok FROM leads").fetchall()
    assert str(row[0][0]) == "2025-01-01 10:00:00" and row[0][1] is None and row[0][2]
    assert h.missing("sla:sal") == ("sal_accepted_at",)
    assert h.missing("volumes") == ()


def test_activities_roll_up_to_attempts_and_first_touch(tmp_path: Path) -> None:
    leads = write(tmp_path, "l.csv", "lead_id,mql_entered_at,sal_entered_at\n"
                                     "L1,2025-01-02,2025-01-05\n")
    acts = write(tmp_path, "a.csv", "lead_id,type,occurred_at\nL1,call,2025-01-02 01:00\n"
                                    "L1,email,2025-01-03\nL1,email,2024-01-03\n"
                                    "L1,call,2025-01-06\n")
    h = load(POLICY, leads, activities=acts)
    got = h.con.execute("SELECT sal_attempts, sal_first_touch_at, sql_attempts FROM leads"
                        ).fetchall()[0]
    assert got[0] == 2 and str(got[1]) == "2025-01-02 01:00:00" and got[2] == 1
    assert h.source["sal_attempts"] == "activities"


def test_data_quality_kinds_are_counted_and_excluded(tmp_path: Path) -> None:
    leads = write(tmp_path, "l.csv",
                  "lead_id,inquiry_entered_at,mql_entered_at,lifecycle_stage,"
                  "disqualification_reason\n"
                  "L1,2025-01-01,2025-01-02,mql,\nL2,2025-01-03,2025-01-01,mql,nope\n"
                  "L1,2025-01-01,,,\nL3,yesterday,,weird,\n,2025-01-01,,,\n")
    h = load(POLICY, leads)
    kinds = {i.kind: (i.count, i.examples) for i in h.issues}
    assert kinds == {"duplicate_id": (1, ("L1",)), "out_of_order": (1, ("L2",)),
                     "unknown_stage": (1, ("L3",)), "unknown_reason": (1, ("L2",)),
                     "bad_timestamp": (1, ("L3",)), "missing_id": (1, ())}
    ok = h.con.execute("SELECT list(lead_id ORDER BY _row) FROM leads WHERE ok").fetchone()[0]
    assert ok == ["L1"]


def test_unusable_inputs_are_errors_not_tracebacks(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="no such file"):
        load(POLICY, tmp_path / "none.csv")
    with pytest.raises(HistoryError, match="no lead id column"):
        load(POLICY, write(tmp_path, "l.csv", "name\nx\n"))
