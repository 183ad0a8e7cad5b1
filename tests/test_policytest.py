"""`alignctl test` and `alignctl explain`: policy unit tests through the reference evaluator."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from alignctl.api import check_policy
from alignctl.commands.explain import command as explain_command
from alignctl.commands.test import command as case_runner
from alignctl.policytest import default_case_files, read_cases, run_cases

from .conftest import EXAMPLES, ROOT

ACME = ROOT / "examples" / "acme-saas" / "alignment.yaml"
ACME_POLICY = check_policy(ACME).policy

CASE = """\
as_of: 2025-03-03T09:00:00Z
cases:
  - name: an A-grade lead who asked for a demo is an MQL
    lead: { industry: saas, employees: 300, country: US, job_title: VP Product }
    events:
      - { event: form_submit, ago: 0d, properties: { form: demo_request } }
      - { event: page_view, ago: 0d, properties: { url: /pricing } }
      - { event: page_view, ago: 30d, properties: { url: /pricing } }
    expect: { scores: { fit: 65, engagement: 55 }, total: 120, grade: A, stage: mql }
"""


def invoke(command, *args: str):
    return CliRunner().invoke(command, list(args))


def write(tmp_path: Path, text: str, name: str = "cases.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- the shipped cases --------------------------------------------------------------------------

@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_examples_ship_passing_cases(example: Path) -> None:
    files = default_case_files(example)
    assert files, f"no tests/*.yaml beside {example}"
    result = invoke(case_runner, str(example))
    assert result.exit_code == 0, result.output
    assert " passed, 0 failed" in result.stdout


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_example_cases_state_expectations(example: Path) -> None:
    policy = check_policy(example).policy
    loaded = read_cases(default_case_files(example), policy)
    assert not loaded.diagnostics and len(loaded.cases) >= 4
    assert all(c.expect for c in loaded.cases)
    assert all(o.passed for o in run_cases(policy, loaded.cases))


# --- running ------------------------------------------------------------------------------------

def test_a_case_passes_with_decay_to_the_cent(tmp_path: Path) -> None:
    result = invoke(case_runner, str(ACME), str(write(tmp_path, CASE)), "-v")
    assert result.exit_code == 0, result.output
    assert "an A-grade lead who asked for a demo is an MQL PASSED" in result.stdout
    assert "1 passed, 0 failed" in result.stdout


def test_a_failure_shows_expected_got_and_the_rules_that_fired(tmp_path: Path) -> None:
    text = CASE.replace("total: 120", "total: 121").replace("stage: mql", "stage: sal")
    path = write(tmp_path, text)
    result = invoke(case_runner, str(ACME), str(path))
    assert result.exit_code == 1
    out = result.stdout
    assert f"{os.path.relpath(path)}:3" in out
    assert "total: expected 121, got 120" in out
    assert "stage: expected sal, got mql" in out
    rule = next(r for r in ACME_POLICY.rules() if r.id == "pricing_page")
    assert re.search(r"engagement +pricing_page +\+15 +2 occurrences +\S*alignment\.yaml:"
                     rf"{rule.loc.span.line}", out)
    assert "mql: holds" in out          # the stage entries, for a stage mismatch
    assert "0 passed, 1 failed" in out


def test_numbers_compare_to_a_cent(tmp_path: Path) -> None:
    ok = CASE.replace("engagement: 55 }", "engagement: 55.009 }")
    assert invoke(case_runner, str(ACME), str(write(tmp_path, ok))).exit_code == 0
    off = CASE.replace("engagement: 55 }", "engagement: 55.02 }")
    assert invoke(case_runner, str(ACME), str(write(tmp_path, off))).exit_code == 1


def test_events_at_a_timestamp(tmp_path: Path) -> None:
    text = CASE.replace("ago: 30d", "at: 2025-02-01T09:00:00Z")
    loaded = read_cases([write(tmp_path, text)], ACME_POLICY)
    (case,) = loaded.cases
    assert case.events[2]["occurred_at"] == datetime(2025, 2, 1, 9)
    assert case.as_of == datetime(2025, 3, 3, 9)


# --- located errors in case files ---------------------------------------------------------------

BAD = """\
as_of: 2025-03-03T09:00:00Z
cases:
  - name: typos
    lead: { industy: saas, industry: sass }
    events:
      - { event: page_veiw, ago: 1d }
      - { event: page_view, ago: 1x, properties: { ulr: /x } }
      - { event: page_view, ago: 1d, at: 2025-01-01 }
    expect: { scores: { fitt: 3 }, grade: Z, stag: mql }
  - name: no expectations
"""


def test_case_file_errors_are_located(tmp_path: Path) -> None:
    loaded = read_cases([write(tmp_path, BAD)], ACME_POLICY)
    found = {(d.code, d.message, d.span.line) for d in loaded.diagnostics}
    assert found == {
        ("ALN101", "`industy` is not a field of the policy", 4),
        ("ALN202", "`sass` is not a value of `industry`", 4),
        ("ALN101", "unknown event `page_veiw`", 6),
        ("ALN002", "`ago` must be a duration such as 30m, 4h, 3d or 2w", 7),
        ("ALN101", "event `page_view` has no property `ulr`", 7),
        ("ALN002", "an event needs exactly one of `at` (a timestamp) or `ago` (a duration "
                   "before as_of, e.g. 3d)", 8),
        ("ALN101", "unknown model `fitt`", 9),
        ("ALN101", "unknown grade `Z`", 9),
        ("ALN002", "unknown key `stag` in `expect`", 9),
        ("ALN002", "a test case needs `expect` (scores, total, grade or stage)", 10),
    }
    helps = {d.message: d.help for d in loaded.diagnostics}
    assert helps["`industy` is not a field of the policy"] == "did you mean `industry`?"
    assert loaded.cases == []


def test_case_file_errors_fail_the_run_with_carets(tmp_path: Path) -> None:
    result = invoke(case_runner, str(ACME), str(write(tmp_path, BAD)))
    assert result.exit_code == 1
    assert "error[ALN202]: `sass` is not a value of `industry`" in result.stderr
    assert "^^^^" in result.stderr
    assert "0 passed, 0 failed, 10 errors in case files" in result.stdout


@pytest.mark.parametrize("text", ["[]", "cases: []", "cases: [{name: x, expect: {stage: mql}}]",
                                  "as_of: yesterday\ncases: [{name: x, expect: {stage: mql}}]",
                                  "cases: [\n"])
def test_malformed_files_are_errors_not_crashes(tmp_path: Path, text: str) -> None:
    loaded = read_cases([write(tmp_path, text)], ACME_POLICY)
    assert loaded.diagnostics and not loaded.cases


def test_no_cases_found_fails(tmp_path: Path) -> None:
    policy = tmp_path / "alignment.yaml"
    policy.write_text(ACME.read_text())
    result = invoke(case_runner, str(policy))
    assert result.exit_code == 1
    assert "no test cases" in result.stderr


def test_missing_case_file_is_a_usage_error(tmp_path: Path) -> None:
    assert invoke(case_runner, str(ACME), str(tmp_path / "nope.yaml")).exit_code == 2


# --- explain ------------------------------------------------------------------------------------

LEAD = """\
as_of: 2025-03-03T09:00:00Z
lead: { industry: saas, employees: 300, country: US, job_title: VP Product }
events:
  - { event: form_submit, ago: 0d, properties: { form: demo_request } }
  - { event: page_view, ago: 0d, properties: { url: /pricing } }
  - { event: page_view, ago: 30d, properties: { url: /pricing } }
"""


def test_explain_lists_rules_with_lines_grade_and_stage(tmp_path: Path) -> None:
    result = invoke(explain_command, str(ACME), "--lead", str(write(tmp_path, LEAD, "l.yaml")))
    assert result.exit_code == 0, result.output
    out = result.stdout
    for rule in ACME_POLICY.rules():
        if rule.id in ("target_industry", "company_size", "pricing_page", "demo_request"):
            assert f"alignment.yaml:{rule.loc.span.line}" in out
    assert "grade A: fit 65 >= 55" in out
    assert "stage  mql" in out
    mql = ACME_POLICY.stage("mql")
    assert re.search(r"> mql +entry holds", out)
    assert f"alignment.yaml:{mql.entry.span.line}" in out
    assert "score  120" in out


def test_explain_json_and_as_of_override(tmp_path: Path) -> None:
    lead = write(tmp_path, LEAD, "l.yaml")
    result = invoke(explain_command, str(ACME), "--lead", str(lead), "--format", "json",
                    "--as-of", "2025-04-02T09:00:00Z")
    doc = json.loads(result.stdout)
    assert doc["as_of"] == "2025-04-02T09:00:00Z"
    assert doc["scores"]["engagement"] == 55          # `ago` is relative to as_of
    assert {f["rule"] for f in doc["fired"]} >= {"pricing_page", "demo_request"}
    assert all(f["line"] for f in doc["fired"])


def test_explain_reads_json_leads(tmp_path: Path) -> None:
    lead = {"as_of": "2025-03-03T09:00:00Z", "lead": {"industry": "saas"}, "events": []}
    path = write(tmp_path, json.dumps(lead), "lead.json")
    result = invoke(explain_command, str(ACME), "--lead", str(path))
    assert result.exit_code == 0, result.output
    assert "target_industry" in result.stdout


def test_explain_rejects_a_case_file_and_bad_as_of(tmp_path: Path) -> None:
    result = invoke(explain_command, str(ACME), "--lead", str(write(tmp_path, CASE)))
    assert result.exit_code == 1 and "holds one lead" in result.stderr
    lead = str(write(tmp_path, LEAD, "l.yaml"))
    assert invoke(explain_command, str(ACME), "--lead", lead, "--as-of", "soon").exit_code == 2
    assert invoke(explain_command, str(ACME), "--lead", str(tmp_path / "x")).exit_code == 2


def test_a_case_file_given_as_the_policy_gets_a_hint() -> None:
    cases = ACME.parent / "tests" / "stages.yaml"
    result = invoke(case_runner, str(cases))
    assert result.exit_code == 2
    assert "pass the policy first" in result.stderr


def test_a_broken_policy_fails_before_any_case(tmp_path: Path) -> None:
    policy = write(tmp_path, "policy: {name: x}\n", "alignment.yaml")
    result = invoke(case_runner, str(policy), str(write(tmp_path, CASE)))
    assert result.exit_code == 1
    assert "error[ALN002]" in result.stderr
