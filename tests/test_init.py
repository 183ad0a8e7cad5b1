"""`alignctl init`: a starter policy that passes `validate --strict` and its own tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from alignctl.api import check_policy
from alignctl.commands.init import FILES, template
from alignctl.commands.init import command as init_command
from alignctl.commands.test import command as case_runner

from .conftest import ROOT

TEMPLATES = ROOT / "alignctl" / "templates" / "init"


def init(*args: str):
    return CliRunner().invoke(init_command, list(args))


def test_writes_a_policy_that_passes_strict_validation(tmp_path: Path) -> None:
    result = init(str(tmp_path / "policy"))
    assert result.exit_code == 0, result.output
    policy = tmp_path / "policy" / "alignment.yaml"
    checked = check_policy(policy)
    assert checked.diagnostics == [] and checked.policy is not None
    assert [s.id for s in checked.policy.stages] == ["inquiry", "mql", "sal", "sql", "customer"]
    assert {m.kind for m in checked.policy.models.values()} == {"fit", "engagement"}
    assert checked.policy.plan is not None and checked.policy.disqualification is not None


def test_its_test_cases_pass(tmp_path: Path) -> None:
    init(str(tmp_path))
    result = CliRunner().invoke(case_runner, [str(tmp_path / "alignment.yaml")])
    assert result.exit_code == 0, result.output
    assert "4 passed, 0 failed" in result.stdout


def test_the_policy_is_commented(tmp_path: Path) -> None:
    text = template("alignment.yaml").decode()
    comments = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    assert len(comments) > 40


def test_defaults_to_the_current_directory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert init().exit_code == 0
    assert (tmp_path / "alignment.yaml").is_file()
    assert (tmp_path / "tests" / "starter.yaml").is_file()


@pytest.mark.parametrize("existing", sorted(FILES.values()))
def test_refuses_to_overwrite(tmp_path: Path, existing: str) -> None:
    target = tmp_path / existing
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("mine")
    result = init(str(tmp_path))
    assert result.exit_code == 1
    assert "already exist" in result.stderr and "nothing was written" in result.stderr
    assert target.read_text() == "mine"
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [target]


def test_unwritable_directory_is_a_usage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert init(str(blocker / "sub")).exit_code == 2


def test_templates_are_the_files_in_the_package() -> None:
    for src in FILES:
        assert template(src) == (TEMPLATES / src).read_bytes()


def test_commands_are_registered_in_the_cli(tmp_path: Path) -> None:
    from alignctl.cli import COMMANDS

    assert {"diff", "test", "explain", "init"} <= set(COMMANDS)
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-m", "alignctl", "init", str(tmp_path)], env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([sys.executable, "-m", "alignctl", "validate", "--strict",
                           str(tmp_path / "alignment.yaml")], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
