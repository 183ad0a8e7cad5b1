"""The CLI: every format, every exit code, through click's runner and a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from alignctl.cli import main

from .conftest import EXAMPLES

CASES = Path(__file__).parent / "cases"
BROKEN = CASES / "ALN202_enum.yaml"
SARIF_REQUIRED = {"version", "runs"}


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, list(args), env=env)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_examples_validate_clean(example: Path) -> None:
    result = run("validate", str(example), "--strict")
    assert result.exit_code == 0, result.output


def test_text_format_has_caret_note_and_help() -> None:
    result = run("validate", str(BROKEN))
    assert result.exit_code == 1
    out = result.stderr if hasattr(result, "stderr") else result.output
    assert "error[ALN202]: `sass` is not a value of `industry`" in out
    assert "ALN202_enum.yaml:10:25" in out
    assert "^^^^^^" in out
    assert "help: did you mean `saas`?" in out
    assert "\x1b[" not in out  # not a TTY: no colour


def test_json_format() -> None:
    result = run("validate", str(BROKEN), "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["version"] == 1
    assert doc["summary"] == {"errors": 1, "warnings": 0}
    (d,) = doc["diagnostics"]
    assert set(d) == {"code", "severity", "message", "file", "line", "column", "end_line",
                      "end_column", "note", "help"}
    assert (d["code"], d["line"], d["column"], d["end_column"]) == ("ALN202", 10, 25, 31)


def test_json_order_is_stable() -> None:
    path = CASES / "ALN101_references.yaml"
    doc = json.loads(run("validate", str(path), "--format", "json").stdout)
    keys = [(d["file"], d["line"], d["column"], d["code"]) for d in doc["diagnostics"]]
    assert keys == sorted(keys)


def test_sarif_format() -> None:
    result = run("validate", str(BROKEN), "--format", "sarif")
    assert result.exit_code == 1
    log = json.loads(result.stdout)
    assert log["version"] == "2.1.0"
    run_ = log["runs"][0]
    rule_ids = [r["id"] for r in run_["tool"]["driver"]["rules"]]
    assert len(rule_ids) == len(set(rule_ids))
    (res,) = run_["results"]
    assert res["ruleId"] == "ALN202" and res["level"] == "error"
    assert rule_ids[res["ruleIndex"]] == "ALN202"
    region = res["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (10, 25)


def test_sarif_minimal_shape_validates() -> None:
    schema = {
        "type": "object", "required": ["version", "runs"],
        "properties": {"runs": {"type": "array", "items": {
            "type": "object", "required": ["tool", "results"],
            "properties": {"results": {"type": "array", "items": {
                "type": "object", "required": ["message", "ruleId", "locations"]}}}}}},
    }
    log = json.loads(run("validate", str(CASES / "ALN101_references.yaml"),
                         "--format", "sarif").stdout)
    jsonschema.validate(log, schema)


def test_github_format() -> None:
    result = run("validate", str(BROKEN), "--format", "github")
    assert result.exit_code == 1
    (line,) = result.stdout.splitlines()
    assert line.startswith("::error file=")
    assert ",line=10,col=25," in line and "title=ALN202::" in line
    assert "%0Ahelp: did you mean `saas`?" in line


def test_missing_file_is_usage_error(tmp_path: Path) -> None:
    result = run("validate", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert "cannot read policy" in result.output


def test_bad_option_is_usage_error() -> None:
    assert run("validate", "--format", "xml").exit_code == 2


def test_strict_makes_warnings_fail(tmp_path: Path) -> None:
    from alignctl.api import check_policy

    clean = EXAMPLES[0]
    assert check_policy(clean).ok(strict=True)
    path = tmp_path / "alignment.yaml"
    text = clean.read_text()
    path.write_text(text.replace("checks:\n", "checks:\n  # strict test\n", 1))
    assert run("validate", str(path), "--strict").exit_code == 0


def test_default_policy_path(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run("validate").exit_code == 2
    (tmp_path / "alignment.yaml").write_text(BROKEN.read_text())
    assert run("validate").exit_code == 1


def test_schema_policy_is_valid_json_schema() -> None:
    result = run("schema", "policy")
    assert result.exit_code == 0
    jsonschema.Draft202012Validator.check_schema(json.loads(result.stdout))


def test_help_shows_examples() -> None:
    result = run("validate", "--help")
    assert "Examples:" in result.output and "alignctl validate" in result.output


def test_real_process_no_color_and_exit_code(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "alignctl"
    proc = subprocess.run([str(exe), "validate", str(BROKEN)], capture_output=True, text=True,
                          env={"NO_COLOR": "1", "PATH": ""})
    assert proc.returncode == 1
    assert "error[ALN202]" in proc.stderr and "\x1b[" not in proc.stderr
    assert proc.stdout == ""


def test_color_on_tty_only_without_no_color(monkeypatch) -> None:
    from alignctl.commands import use_color

    class Tty:
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color(Tty())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(Tty())


def test_text_gutter_is_one_width_per_diagnostic() -> None:
    out = run("validate", str(CASES / "ALN601_over_capacity.yaml")).output
    lines = out.splitlines()
    assert " 6 |   sdr:" in lines[3] and lines[7].startswith("16 |")
    assert all(line.startswith(("   |", "   =")) for line in (lines[2], lines[4], lines[9]))


def test_build_refuses_an_unknown_dialect_with_a_located_error(tmp_path: Path) -> None:
    policy = tmp_path / "alignment.yaml"
    text = EXAMPLES[0].read_text().replace("dialects: [duckdb,", "dialects: [duckdbb,", 1)
    assert text != EXAMPLES[0].read_text()
    policy.write_text(text)
    result = run("build", str(policy), "--target", "scoring", "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "error[ALN101]: unknown SQL dialect `duckdbb`" in result.output
    assert "did you mean `duckdb`?" in result.output
    assert not (tmp_path / "out" / "scoring").exists()


def test_github_action_matches_the_actions_schema() -> None:
    """action.yml against the GitHub Actions metadata schema check-jsonschema ships."""
    root = Path(__file__).resolve().parent.parent
    exe = Path(sys.executable).parent / "check-jsonschema"
    proc = subprocess.run([str(exe), "--builtin-schema", "vendor.github-actions",
                           str(root / "action.yml")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
