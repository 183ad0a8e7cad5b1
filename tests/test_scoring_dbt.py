"""The generated dbt package runs for real: `dbt build` with dbt-duckdb against a DuckDB file.

Skipped only when dbt is not installed and CI is unset (CI installs the test extras).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from alignctl.api import check_policy
from alignctl.targets.scoring import ScoringTarget

from .test_scoring_diff import assert_agree, expected, scoring_doc

ROOT = Path(__file__).parent.parent
ACME = ROOT / "examples/acme-saas/alignment.yaml"

if importlib.util.find_spec("dbt") is None or importlib.util.find_spec("dbt.adapters.duckdb") \
        is None:
    if os.environ.get("CI"):
        pytest.fail("dbt-duckdb is not installed (pip install -e '.[test]')", pytrace=False)
    pytest.skip("dbt-duckdb is not installed", allow_module_level=True)

PROFILE = """alignctl_scoring:
  target: test
  outputs:
    test:
      type: duckdb
      path: {path}
      threads: 2
"""


def write_package(policy: Path, into: Path) -> None:
    files = ScoringTarget().emit(check_policy(policy).policy)
    for rel, data in files.items():
        if rel.startswith("dbt/"):
            dest = into / rel.removeprefix("dbt/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)


def dbt(project: Path, *args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "dbt"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "dbt.cli.main"]
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    return subprocess.run([*cmd, *args, "--project-dir", str(project), "--profiles-dir",
                           str(project)], capture_output=True, text=True, env=env, timeout=300)


def test_dbt_build_runs_the_model_and_its_tests(tmp_path: Path) -> None:
    import duckdb

    sys.path.insert(0, str(ROOT / "bench"))
    from make_synthetic import AS_OF, generate

    database = tmp_path / "warehouse.duckdb"
    doc = scoring_doc(ACME)
    con = duckdb.connect(str(database))
    generate(con, doc, 400, 8000)
    leads = _dicts(con, "leads")
    events = _dicts(con, "events")
    con.execute("DROP TABLE scoring_params")
    con.close()

    project = tmp_path / "dbt"
    write_package(ACME, project)
    (project / "profiles.yml").write_text(PROFILE.format(path=json.dumps(str(database))))
    run = dbt(project, "build", "--vars", json.dumps({"as_of": AS_OF.isoformat(sep=" ")}))
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "PASS=" in run.stdout and "ERROR=0" in run.stdout

    con = duckdb.connect(str(database), read_only=True)
    got = {r[0]: tuple(r[1:]) for r in con.execute(
        "SELECT lead_id, fit_score, engagement_score, lead_score, fit_grade, stage "
        "FROM lead_scores").fetchall()}
    con.close()
    assert_agree(got, expected(doc, leads, events, AS_OF))


def _dicts(con, table: str) -> list[dict]:
    cursor = con.execute(f"SELECT * FROM {table}")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
