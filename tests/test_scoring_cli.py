"""`alignctl score`: DuckDB on CSV and Parquet files, and its errors."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from alignctl.commands.score import command
from alignctl.evaluator import score_leads

from .test_scoring_diff import scoring_doc

ROOT = Path(__file__).parent.parent
ACME = ROOT / "examples/acme-saas/alignment.yaml"
LEADS, EVENTS = ROOT / "examples/data/leads.csv", ROOT / "examples/data/events.csv"
AS_OF = "2025-01-01T00:00:00"


def run(*args: str):
    return CliRunner().invoke(command, [str(a) for a in args])


def read_csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_scores_the_bundled_data_like_the_evaluator() -> None:
    result = run(ACME, "--leads", LEADS, "--events", EVENTS, "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    got = {r["lead_id"]: r for r in read_csv(result.stdout)}
    doc = scoring_doc(ACME)
    leads, events = read_csv(LEADS.read_text()), read_csv(EVENTS.read_text())
    for e in events:                   # CSV text, as a user's export would be
        e.update({k: v or None for k, v in e.items()})
    for want in score_leads(doc, [{k: v or None for k, v in r.items()} for r in leads], events,
                            datetime.fromisoformat(AS_OF)):
        row = got[want.lead_id]
        assert abs(float(row["lead_score"]) - want.total) <= 0.01 + 1e-9
        assert abs(float(row["fit_score"]) - want.scores["fit"]) <= 0.01 + 1e-9
        assert (row["fit_grade"], row["stage"]) == (want.grade, want.stage)
    assert len(got) == len(leads) == 200


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_writes_csv_or_parquet(tmp_path: Path, suffix: str) -> None:
    import duckdb

    out = tmp_path / f"scores{suffix}"
    result = run(ACME, "--leads", LEADS, "--events", EVENTS, "--as-of", AS_OF, "--out", out)
    assert result.exit_code == 0, result.output
    rows = duckdb.sql(f"SELECT * FROM '{out}'").fetchall()
    cols = duckdb.sql(f"SELECT * FROM '{out}'").columns
    assert cols == ["lead_id", "fit_score", "engagement_score", "lead_score", "fit_grade", "stage"]
    assert len(rows) == 200


def test_reads_parquet_inputs_and_a_missing_stage_column(tmp_path: Path) -> None:
    import duckdb

    leads = tmp_path / "leads.parquet"
    events = tmp_path / "events.parquet"
    duckdb.sql(f"COPY (SELECT * EXCLUDE (stage) FROM read_csv('{LEADS}')) TO '{leads}'")
    duckdb.sql(f"COPY (SELECT * FROM read_csv('{EVENTS}')) TO '{events}'")
    result = run(ACME, "--leads", leads, "--events", events, "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert len(read_csv(result.stdout)) == 200


def test_missing_columns_are_named(tmp_path: Path) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_text("lead_id,employees\nL1,10\n")
    result = run(ACME, "--leads", leads, "--events", EVENTS, "--as-of", AS_OF)
    assert result.exit_code == 2
    assert "lacks columns industry, country" in result.stderr
    assert "it has: lead_id, employees" in result.stderr


@pytest.mark.parametrize("content", [b"\x00\x01\xff garbage", b""])
def test_unreadable_inputs_exit_2(tmp_path: Path, content: bytes) -> None:
    events = tmp_path / "events.parquet"
    events.write_bytes(content)
    result = run(ACME, "--leads", LEADS, "--events", events, "--as-of", AS_OF)
    assert result.exit_code == 2
    assert "alignctl: --events" in result.stderr and "Traceback" not in result.output


def test_missing_file_and_bad_arguments_exit_2(tmp_path: Path) -> None:
    assert "no such file" in run(ACME, "--leads", tmp_path / "nope.csv", "--events", EVENTS
                                 ).stderr
    bad_time = run(ACME, "--leads", LEADS, "--events", EVENTS, "--as-of", "yesterday")
    assert bad_time.exit_code == 2 and "not an ISO timestamp" in bad_time.stderr
    bad_out = run(ACME, "--leads", LEADS, "--events", EVENTS, "--out", tmp_path / "x.xlsx")
    assert bad_out.exit_code == 2 and "write .csv or .parquet" in bad_out.stderr


def test_bad_values_are_reported_not_raised(tmp_path: Path) -> None:
    leads = tmp_path / "leads.csv"
    text = LEADS.read_text().splitlines()
    header = text[0].split(",")
    row = text[1].split(",")
    row[header.index("employees")] = "many"
    leads.write_text("\n".join([text[0], ",".join(row)]) + "\n")
    result = run(ACME, "--leads", leads, "--events", EVENTS, "--as-of", AS_OF)
    assert result.exit_code == 2 and "cannot score these inputs" in result.stderr
    assert "many" in result.stderr


def test_an_invalid_policy_exits_1(tmp_path: Path) -> None:
    policy = tmp_path / "alignment.yaml"
    policy.write_text("policy: {name: x}\n")
    assert run(policy, "--leads", LEADS, "--events", EVENTS).exit_code == 1


def test_as_of_with_an_offset_is_converted_to_utc() -> None:
    a = run(ACME, "--leads", LEADS, "--events", EVENTS, "--as-of", "2025-01-01T02:00:00+02:00")
    b = run(ACME, "--leads", LEADS, "--events", EVENTS, "--as-of", AS_OF)
    assert a.exit_code == b.exit_code == 0 and a.stdout == b.stdout


def test_reads_the_crm_lifecycle_stage_column(tmp_path: Path) -> None:
    import duckdb

    leads = tmp_path / "leads.csv"
    duckdb.sql(f"COPY (SELECT * RENAME (stage AS lifecycle_stage) FROM read_csv('{LEADS}')) "
               f"TO '{leads}' (HEADER)")
    renamed = run(ACME, "--leads", leads, "--events", EVENTS, "--as-of", AS_OF)
    original = run(ACME, "--leads", LEADS, "--events", EVENTS, "--as-of", AS_OF)
    assert renamed.exit_code == 0, renamed.output
    assert renamed.stdout == original.stdout
