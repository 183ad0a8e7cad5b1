"""`alignctl diff`: the semantic diff (compiler.diff), git inputs, the formats and the golden comment.

Properties: diff(a, a) is empty; swapping BASE and HEAD flips stricter/looser; removing a stage,
an enum value, a field or a reason is always breaking.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alignctl.api import check_policy
from alignctl.commands.diff import command as diff_command
from alignctl.commands.diff import md
from alignctl.compiler import diff as sd
from alignctl.policy.diagnostics import Span, make

from .conftest import EXAMPLES, ROOT

ACME = ROOT / "examples" / "acme-saas" / "alignment.yaml"
NORTHWIND = ROOT / "examples" / "northwind-smb" / "alignment.yaml"
GOLDEN = Path(__file__).parent / "golden" / "diff"


def raw(path: Path) -> dict:
    """A policy file as plain data, keys as written (YAML 1.1 would read `on:` as true)."""
    from alignctl.policy.diagnostics import Sink
    from alignctl.policy.yamlpos import PosIndex, load_text

    return load_text(str(path), path.read_text(), PosIndex(), Sink())[0]


RAW = raw(ACME)
PROPS = settings(max_examples=25, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow])


def policy_of(data: dict):
    """The IR of a raw policy dict (written to a temporary file and checked)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "alignment.yaml")
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        result = check_policy(path)
    assert result.policy is not None, result.diagnostics
    return result.policy


def edited(**changes) -> dict:
    data = copy.deepcopy(RAW)
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = data
        for step in parents:
            node = node[int(step)] if step.isdigit() else node[step]
        node[int(last) if last.isdigit() else last] = value
    return data


def run(*args: str, cwd: Path | None = None):
    old = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        return CliRunner().invoke(diff_command, list(args))
    finally:
        os.chdir(old)


BASE = policy_of(RAW)


# --- named changes ------------------------------------------------------------------------------

def only(changes, **where) -> sd.Change:
    found = [c for c in changes if all(getattr(c, k) == v for k, v in where.items())]
    assert len(found) == 1, changes
    return found[0]


def test_stage_threshold_is_named_and_stricter() -> None:
    entry = RAW["stages"][1]["entry"].replace("engagement >= 40", "engagement >= 50")
    c = only(sd.diff(BASE, policy_of(edited(stages__1__entry=entry))), area="stage")
    assert (c.kind, c.id, c.direction) == ("behavior", "mql", "stricter")
    assert c.summary == "MQL entry: engagement threshold 40 -> 50 (stricter)"
    assert c.line == BASE.stage("mql").loc.of("entry").line


def test_a_crm_binding_change_is_breaking() -> None:
    changes = sd.diff(BASE, policy_of(edited(fields__employees__crm={"hubspot": "headcount",
                                                                       "salesforce": False})))
    assert [(c.kind, c.id, c.summary.split(": ", 1)[1]) for c in changes if c.area == "field"] == [
        ("breaking", "employees", "hubspot field a field of its own -> `headcount` "
                                  "(its data must be moved)"),
        ("breaking", "employees", "salesforce field bound automatically -> a field of its own "
                                  "(its data must be moved)")]
    changes = sd.diff(BASE, policy_of(edited(targets__crm__convert_at="opportunity")))
    c = only(changes, area="target")
    assert c.kind == "breaking" and "`sql` -> `opportunity`" in c.summary


def test_grade_set_narrowed_is_stricter_by_the_solver() -> None:
    entry = RAW["stages"][1]["entry"].replace('["A", "B"]', '["A"]')
    c = only(sd.diff(BASE, policy_of(edited(stages__1__entry=entry))), area="stage")
    assert c.direction == "stricter"
    assert "`grade in`: no longer \"B\"" in c.summary


def test_equivalent_rewrite_is_docs() -> None:
    entry = RAW["stages"][1]["entry"].replace("engagement >= 40", "40 <= engagement")
    c = only(sd.diff(BASE, policy_of(edited(stages__1__entry=entry))), area="stage")
    assert (c.kind, c.direction) == ("docs", None)
    assert "same meaning" in c.summary


def test_added_conjunct_is_stricter() -> None:
    entry = RAW["stages"][1]["entry"] + ' and industry != "other"'
    c = only(sd.diff(BASE, policy_of(edited(stages__1__entry=entry))), area="stage")
    assert c.direction == "stricter"
    assert 'now also requires `industry != "other"`' in c.summary


def test_rule_points_capacity_sla_and_term() -> None:
    data = edited()
    data["scoring"]["models"]["engagement"]["rules"][0]["points"] = 15
    data["teams"]["sdr"]["reps"] = 7
    data["handoffs"][0]["sla"]["accept_within"] = "12h"
    data["terms"]["mql"]["definition"] += " Reviewed quarterly."
    data["terms"]["mql"]["approved_by"] = ["marketing"]
    summaries = {c.summary for c in sd.diff(BASE, policy_of(data))}
    assert summaries == {
        "Rule `pricing_page` (engagement): points 10 -> 15 (looser)",
        "SDR capacity: 6 -> 7 reps (120 -> 140 leads/week)",
        "Handoff MQL -> SAL: SLA accept within 24h -> 12h (stricter)",
        "Term `mql`: definition reworded; approved by marketing, sdr -> marketing",
    }


def test_negative_points_lowered_is_stricter() -> None:
    data = edited()
    data["scoring"]["models"]["fit"]["rules"][5]["points"] = -40
    c = only(sd.diff(BASE, policy_of(data)), area="scoring")
    assert c.direction == "stricter"


def test_renames_are_detected() -> None:
    data = edited()
    data["fields"] = {("headcount" if k == "employees" else k): v for k, v in data["fields"].items()}
    data["stages"][3]["id"] = "qualified"
    changes = sd.diff(BASE, policy_of(data))
    field = only(changes, area="field", id="employees")
    assert field.kind == "breaking" and "renamed? `employees` -> `headcount`" in field.summary
    stage = only(changes, area="stage", id="sql")
    assert stage.kind == "breaking" and "renamed? `sql` -> `qualified`" in stage.summary


def test_enum_value_removed_and_label_changed() -> None:
    data = edited()
    values = data["fields"]["industry"]["values"]
    data["fields"]["industry"]["values"] = [v for v in values if "media" not in v]
    data["fields"]["industry"]["values"][0] = {"saas": "Software"}
    changes = sd.diff(BASE, policy_of(data))
    assert only(changes, id="industry.media").summary == "Field `industry`: value `media` removed"
    assert only(changes, id="industry.saas").kind == "docs"


def test_removals_point_at_base_lines() -> None:
    data = edited()
    del data["disqualification"]["reasons"]["duplicate"]
    data["handoffs"][0]["reject_reasons"].remove("duplicate")
    c = only(sd.diff(BASE, policy_of(data)), area="reason")
    assert c.removed and c.line == BASE.disqualification.reasons["duplicate"].loc.span.line


def test_new_findings_match_by_code_and_message_not_line() -> None:
    at = [Span.point("a.yaml", n, 1) for n in (3, 30)]
    old = [make("ALN704", "no max", at[0]), make("ALN402", "never matches", at[0])]
    new = [make("ALN704", "no max", at[1]), make("ALN402", "never matches", at[1]),
           make("ALN402", "never matches", at[1]), make("ALN902", "not approved", at[1])]
    assert [(d.code, d.message) for d in sd.new_findings(old, new)] == \
        [("ALN402", "never matches"), ("ALN902", "not approved")]


# --- properties ---------------------------------------------------------------------------------

@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_diff_of_an_example_with_itself_is_empty(example: Path) -> None:
    a, b = check_policy(example).policy, check_policy(example).policy
    assert sd.diff(a, b) == []


def _mutations():
    rules = RAW["scoring"]["models"]["engagement"]["rules"]
    fit_rules = RAW["scoring"]["models"]["fit"]["rules"]
    return st.lists(st.one_of(
        st.integers(0, 100).map(lambda n: ("threshold", n)),
        st.tuples(st.just("points"), st.integers(0, len(rules) - 1), st.integers(-60, 60)),
        st.tuples(st.just("fit_points"), st.integers(0, len(fit_rules) - 1),
                  st.integers(-60, 60)),
        st.integers(1, 30).map(lambda n: ("reps", n)),
        st.integers(1, 96).map(lambda n: ("accept", n)),
        st.integers(1, 400).map(lambda n: ("max_age", n)),
        st.integers(1, 200).map(lambda n: ("half_life", n)),
        st.integers(1, 20).map(lambda n: ("attempts", n)),
        st.integers(1, 99).map(lambda n: ("conversion", n / 100)),
        st.integers(1, 200).map(lambda n: ("commitment", n)),
    ), min_size=1, max_size=4)


def mutate(data: dict, mutation: tuple) -> None:
    kind, *args = mutation
    stages, models = data["stages"], data["scoring"]["models"]
    if kind == "threshold":
        stages[1]["entry"] = f'grade in ["A", "B"] and engagement >= {args[0]}'
    elif kind in ("points", "fit_points"):
        rules = models["engagement" if kind == "points" else "fit"]["rules"]
        rules[args[0]]["points"] = args[1] or 1
    else:
        _mutate_number(data, kind, args[0])


def _mutate_number(data: dict, kind: str, n) -> None:
    sla = data["handoffs"][0]["sla"]
    {"reps": lambda: data["teams"]["sdr"].__setitem__("reps", n),
     "accept": lambda: sla.__setitem__("accept_within", f"{n}h"),
     "attempts": lambda: sla.__setitem__("attempts", n),
     "max_age": lambda: data["stages"][3].__setitem__("max_age", f"{n}d"),
     "half_life": lambda: data["scoring"]["models"]["engagement"]["decay"]
     .__setitem__("half_life", f"{n}d"),
     "conversion": lambda: data["plan"]["conversion"].__setitem__("mql", n),
     "commitment": lambda: data["plan"]["commitments"].__setitem__("mql", n)}[kind]()


def variation(mutations) -> dict:
    data = copy.deepcopy(RAW)
    for m in mutations:
        mutate(data, m)
    return data


def keyed(changes, flip: bool = False) -> Counter:
    return Counter((c.kind, c.area, c.id, sd.FLIP[c.direction] if flip else c.direction)
                   for c in changes)


@PROPS
@given(_mutations())
def test_diff_of_a_variation_with_itself_is_empty(mutations) -> None:
    data = variation(mutations)
    assert sd.diff(policy_of(data), policy_of(data)) == []


@PROPS
@given(_mutations())
def test_swapping_base_and_head_flips_the_direction(mutations) -> None:
    head = policy_of(variation(mutations))
    forward, backward = sd.diff(BASE, head), sd.diff(head, BASE)
    assert keyed(forward) == keyed(backward, flip=True)


def _removals():
    enums = [(fid, i) for fid, f in RAW["fields"].items() if f["type"].endswith("enum")
             for i in range(len(f["values"]))]
    return st.one_of(
        st.integers(0, len(RAW["stages"]) - 1).map(lambda i: ("stage", i)),
        st.sampled_from(sorted(RAW["fields"])).map(lambda f: ("field", f)),
        st.sampled_from(enums).map(lambda e: ("value", e)),
        st.sampled_from(sorted(RAW["disqualification"]["reasons"])).map(lambda r: ("reason", r)),
    )


def remove(data: dict, what: tuple) -> str:
    """Remove one thing data depends on; the change id the diff must report as breaking."""
    kind, arg = what
    if kind == "stage":
        return data["stages"].pop(arg)["id"]
    if kind == "field":
        del data["fields"][arg]
        return arg
    if kind == "reason":
        del data["disqualification"]["reasons"][arg]
        return arg
    fid, i = arg
    value = data["fields"][fid]["values"].pop(i)
    return f"{fid}.{next(iter(value)) if isinstance(value, dict) else value}"


@PROPS
@given(_removals())
def test_removing_what_data_depends_on_is_breaking(what) -> None:
    data = copy.deepcopy(RAW)
    ident = remove(data, what)
    changes = sd.diff(BASE, policy_of(data))
    assert any(c.kind == "breaking" and c.id == ident for c in changes), changes
    assert sd.worst(changes) == "breaking"


def rename(data: dict, what: tuple, new: str) -> str:
    """Rename one thing data depends on (references left as they were); the old id."""
    kind, arg = what
    if kind == "stage":
        old, data["stages"][arg]["id"] = data["stages"][arg]["id"], new
        return old
    if kind in ("field", "reason"):
        section = data["fields"] if kind == "field" else data["disqualification"]["reasons"]
        items = list(section.items())
        section.clear()
        section.update({(new if k == arg else k): v for k, v in items})
        return arg
    fid, i = arg
    values = data["fields"][fid]["values"]
    value = values[i]
    values[i] = {new: next(iter(value.values()))} if isinstance(value, dict) else new
    return f"{fid}.{next(iter(value)) if isinstance(value, dict) else value}"


@PROPS
@given(_removals(), st.from_regex(r"\Azz[a-z0-9_]{1,12}\Z"))
def test_renaming_what_data_depends_on_is_breaking(what, new: str) -> None:
    data = copy.deepcopy(RAW)
    ident = rename(data, what, new)
    changes = sd.diff(BASE, policy_of(data))
    assert any(c.kind == "breaking" and c.id == ident for c in changes), changes


# --- formats and exit codes ---------------------------------------------------------------------

@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    base, head = tmp_path / "base.yaml", tmp_path / "alignment.yaml"
    shutil.copy(ACME, base)
    text = ACME.read_text().replace("engagement >= 40 and count", "engagement >= 50 and count")
    head.write_text(text.replace("      - media: Media and publishing\n", ""))
    return base, head


def entry_line(path: Path) -> int:
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if "engagement >= 50" in line)


def test_json_has_exactly_the_documented_shape(pair) -> None:
    base, head = pair
    result = run("base.yaml", "alignment.yaml", "--format", "json", cwd=base.parent)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc) == {"version", "base", "head", "changes", "new_findings", "summary"}
    # docs 1: the term `mql` still says "40 or more" (docs drift)
    assert doc["summary"] == {"breaking": 1, "behavior": 1, "docs": 1}
    for change in doc["changes"]:
        # CLI.md's keys, plus `file` and `side`: a bare line is ambiguous with includes and
        # for removals (which point into BASE)
        assert set(change) == {"kind", "area", "id", "summary", "direction", "line", "file",
                               "side"}
        assert change["side"] in ("base", "head") and change["file"].endswith(".yaml")
    assert doc["changes"][0]["kind"] == "breaking"
    assert doc["head"]["name"] == "Acme Analytics revenue SLA"


@pytest.mark.parametrize(("fail_on", "code"), [(None, 0), ("breaking", 1), ("behavior", 1),
                                                ("any", 1)])
def test_fail_on(pair, fail_on, code) -> None:
    base, head = pair
    args = [str(base), str(head)] + (["--fail-on", fail_on] if fail_on else [])
    assert run(*args).exit_code == code


def test_fail_on_breaking_passes_a_behaviour_only_change(tmp_path: Path) -> None:
    head = tmp_path / "alignment.yaml"
    head.write_text(ACME.read_text().replace("reps: 10", "reps: 11"))
    assert run(str(ACME), str(head), "--fail-on", "breaking").exit_code == 0
    assert run(str(ACME), str(head), "--fail-on", "behavior").exit_code == 1


def test_unreadable_input_is_exit_2(tmp_path: Path) -> None:
    result = run(str(tmp_path / "missing.yaml"), str(ACME))
    assert result.exit_code == 2
    assert "neither a file nor a git revision" in result.stderr


def test_a_side_that_does_not_load_is_exit_1(tmp_path: Path) -> None:
    broken = tmp_path / "alignment.yaml"
    broken.write_text("policy: [\n")
    result = run(str(ACME), str(broken), "--format", "markdown")
    assert result.exit_code == 1
    assert "needs both policies to load" in result.stdout


def test_text_format_names_every_change(pair) -> None:
    base, head = pair
    out = run("base.yaml", "alignment.yaml", cwd=base.parent).stdout
    assert f"alignment.yaml:{entry_line(head)}  MQL entry: engagement threshold 40 -> 50 (stricter)" in out
    assert "Definition of `mql` not updated; it says 40 or more (MQL entry now uses 50)" in out
    assert out.rstrip().endswith("1 breaking, 1 behaviour, 1 docs; 0 new findings")


def test_reworded_comments_are_docs_by_section(tmp_path: Path) -> None:
    text = ACME.read_text()
    head = tmp_path / "alignment.yaml"
    head.write_text(text.replace('clear "not now".', 'firm "not now".')
                    .replace("    lead: Dana Cruz                 # VP Marketing, the accountable "
                             "person on Marketing's side", "    lead: Dana Cruz"))
    doc = json.loads(run(str(ACME), str(head), "--format", "json").stdout)
    assert [(c["kind"], c["area"], c["id"]) for c in doc["changes"]] == [
        ("docs", "scoring", "comments.scoring"), ("docs", "team", "comments.teams")]


def test_comments_inside_quotes_are_not_comments() -> None:
    from alignctl.compiler.diff.comments import _comment_of

    assert _comment_of("  when: 'url contains \"#x\"'  # real") == "real"
    assert _comment_of("  label: C# developers") is None
    assert _comment_of("# top") == "top"


def test_markdown_escapes_policy_text() -> None:
    assert md("a|b *c* <x> @team `a|b`") == r"a\|b \*c\* \<x> &#64;team `a\|b`"
    assert md("x -> y") == "x → y"


def test_markdown_link_base(pair) -> None:
    base, head = pair
    out = run("base.yaml", "alignment.yaml", "--format", "markdown", "--link-base",
              "https://example.com/blob/abc/", cwd=base.parent).stdout
    assert "](https://example.com/blob/abc/" in out
    assert f"alignment.yaml#L{entry_line(head)})" in out


# --- golden markdown ----------------------------------------------------------------------------

GOLDEN_CASES = sorted(p for p in GOLDEN.iterdir() if p.is_dir()) if GOLDEN.exists() else []
FORMATS = {"markdown": "expected.md", "text": "expected.txt", "json": "expected.json"}


@pytest.mark.parametrize("case", GOLDEN_CASES, ids=lambda p: p.name)
@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_golden(case: Path, fmt: str, update_golden: bool) -> None:
    result = run("base.yaml", "alignment.yaml", "--format", fmt, cwd=case)
    assert result.exit_code == 0, result.output
    expected = case / FORMATS[fmt]
    if update_golden:
        expected.write_text(result.stdout)
    assert result.stdout == expected.read_text(), f"{expected} differs (--update-golden?)"
    assert run("base.yaml", "alignment.yaml", "--format", fmt, cwd=case).stdout == result.stdout


# --- git inputs ---------------------------------------------------------------------------------

def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    done = subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)
    return done.stdout.decode()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Two commits of the northwind example (policy plus included glossary) in `policy/`."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    git(tmp_path, "init", "-q")
    folder = tmp_path / "policy"
    folder.mkdir()
    for f in NORTHWIND.parent.glob("*.yaml"):
        shutil.copy(f, folder / f.name)
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "base")
    policy = folder / "alignment.yaml"
    policy.write_text(policy.read_text().replace("score >= 80", "score >= 90"))
    glossary = folder / "glossary.yaml"
    glossary.write_text(glossary.read_text().replace("approved_by: [marketing, sales]\n    "
                                                     "aliases: [MQL]",
                                                     "approved_by: [marketing]\n    "
                                                     "aliases: [MQL]"))
    git(tmp_path, "commit", "-qam", "head")
    return tmp_path


def test_git_revisions_read_includes_from_the_same_revision(repo: Path) -> None:
    result = run("git:HEAD~1:policy/alignment.yaml", "HEAD", "--format", "json", cwd=repo)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    summaries = [c["summary"] for c in doc["changes"]]
    assert "MQL entry: score threshold 80 -> 90 (stricter)" in summaries
    assert "Term `mql`: approved by marketing, sales -> marketing" in summaries
    (finding,) = doc["new_findings"]
    assert (finding["code"], finding["file"]) == ("ALN902", "policy/glossary.yaml")
    assert doc["base"]["commit"] == git(repo, "rev-parse", "HEAD~1").strip()


def test_git_base_against_the_working_tree(repo: Path) -> None:
    policy = repo / "policy" / "alignment.yaml"
    policy.write_text(policy.read_text().replace("reps: 4", "reps: 5"))
    before = git(repo, "status", "--porcelain")
    result = run("git:HEAD", "alignment.yaml", cwd=repo / "policy")
    assert result.exit_code == 0, result.output
    assert "Sales capacity: 4 -> 5 reps (320 -> 400 leads/month)" in result.stdout
    assert "alignment.yaml:" in result.stdout and "alignctl-git" not in result.stdout
    assert git(repo, "status", "--porcelain") == before


def test_git_path_relative_to_the_current_directory(repo: Path) -> None:
    result = run("git:HEAD~1:./alignment.yaml", "git:HEAD:./alignment.yaml", cwd=repo / "policy")
    assert result.exit_code == 0, result.output
    assert "score threshold 80 -> 90" in result.stdout


@pytest.mark.parametrize("spec", ["git:no-such-ref", "git:HEAD:policy/missing.yaml",
                                  "git:--help"])
def test_bad_git_input_is_exit_2(repo: Path, spec: str) -> None:
    result = run(spec, "policy/alignment.yaml", cwd=repo)
    assert result.exit_code == 2
    assert result.stderr.startswith("alignctl diff: ")


def test_git_outside_a_repository_is_exit_2(tmp_path: Path) -> None:
    shutil.copy(ACME, tmp_path / "alignment.yaml")
    result = run("git:HEAD", "alignment.yaml", cwd=tmp_path)
    assert result.exit_code == 2


def test_check_severity_changes_are_behaviour_with_direction(tmp_path) -> None:
    from alignctl.api import check_policy
    from alignctl.compiler.diff import diff

    text = EXAMPLES[0].read_text("utf-8")
    head = tmp_path / "alignment.yaml"
    head.write_text(text.replace("    ALN704: error ", "    ALN704: warning ", 1)
                    .replace("checks:\n  severity:\n", "checks:\n  severity:\n    ALN305: error\n", 1))
    changes = diff(check_policy(EXAMPLES[0]).policy, check_policy(head).policy)
    got = {(c.kind, c.area, c.id, c.direction) for c in changes if c.area == "policy"}
    assert got == {("behavior", "policy", "ALN704", "looser"),
                   ("behavior", "policy", "ALN305", "stricter")}
