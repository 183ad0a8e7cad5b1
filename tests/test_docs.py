"""The docs target: hostile policy strings come out inert in Markdown, Mermaid and HTML."""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from markupsafe import escape

from alignctl.api import check_policy
from alignctl.compiler import ir
from alignctl.targets import base
from alignctl.targets.docs import DocsTarget, mermaid_escape
from alignctl.targets.markdown import md as md_escape

from .conftest import EXAMPLES

HOSTILE = ("<script>alert(1)</script> ]]> &amp; \"dq\" 'sq' </td> [x](javascript:alert(1)) "
           "| a | b | Größe 東京 `tick` *bold* _it_ ~~s~~ $x$ {{ jinja }} # h")
LONG = "Lorem ipsum dolor " * 277 + "END-OF-LONG"          # > 5,000 characters
NAME = "<script>alert('n')</script> & Co | Größe 東京"
VOID = {"meta", "br", "link", "img", "input", "hr", "source", "wbr"}


def hostile_policy() -> dict:
    return {
        "policy": {"name": NAME, "version": "1.0.0-rc.1", "period": "week", "description": HOSTILE},
        "teams": {
            "marketing": {"kind": "marketing", "label": "Mkt " + HOSTILE, "lead": HOSTILE},
            "sales": {"kind": "sales", "label": "<b>Sales</b> | x", "reps": 2,
                      "capacity": {"leads_per_rep": 5}},
        },
        "fields": {
            "segment": {"type": "enum", "label": HOSTILE, "owner": "marketing", "source": "form",
                        "values": [{"smb": "<script>alert(2)</script>"}, {"ent": "a | b ]]>"}]},
            "employees": {"type": "integer", "label": "Größe 東京", "owner": "marketing",
                          "source": "form"},
            "budget": {"type": "boolean", "label": "</td><td>", "owner": "sales", "source": "sales"},
        },
        "events": {"page_view": {"label": "<img src=x onerror=alert(1)>",
                                 "properties": {"url": "string"}}},
        "terms": {
            "icp": {"name": HOSTILE, "definition": HOSTILE + " see [[mql]]. " + LONG,
                    "approved_by": ["marketing", "sales"], "aliases": ["<i>alias</i>", "a|b"]},
            "mql": {"name": "[x](javascript:alert(1))", "approved_by": ["marketing", "sales"],
                    "definition": "An [[icp]] lead & more </td> [[icp]]"},
        },
        "scoring": {"models": {
            "fit": {"kind": "fit", "grades": {"A": 10, "B": 5}, "rules": [
                {"id": "seg", "label": HOSTILE, "when": 'segment == "smb"', "points": 10},
                {"id": "big", "when": "employees >= 10 and employees <= 100", "points": 5}]},
            "engagement": {"kind": "engagement", "rules": [
                {"id": "pv", "on": "page_view", "where": 'url contains "</script>|"',
                 "points": 5, "max": 10}]},
        }},
        "stages": [
            {"id": "inquiry", "label": HOSTILE, "owner": "marketing", "definition": LONG,
             "max_age": "30d"},
            {"id": "mql", "label": '"]]> end', "owner": "marketing", "definition": "An [[icp]]",
             "entry": 'grade in ["A"] and count(page_view where url contains "<" within 30d) >= 2'},
            {"id": "sal", "label": "```mermaid`` <br/> #quot; \"x\"", "owner": "sales",
             "entry": "accepted", "definition": "`code` ]]> ``` fence"},
            {"id": "end", "label": "Größe 東京 | won", "owner": "sales", "entry": "budget",
             "terminal": "won", "definition": "1. starts like a list"},
        ],
        "handoffs": [{"from": "mql", "to": "sal", "route": "round_robin", "reject_reasons": ["bad"],
                      "sla": {"accept_within": "24h", "first_touch_within": "4h", "attempts": 3,
                              "over": "5d"}}],
        "disqualification": {"field": "disqualification_reason", "max_recycles": 2,
                             "reasons": {"bad": {"label": HOSTILE, "recycle": "never"}}},
        "plan": {"volumes": {"inquiry": 100}, "conversion": {"inquiry": 0.5, "mql": 0.5, "sal": 0.5},
                 "commitments": {"mql": 40}, "average_deal_size": 100,
                 "revenue_target": {"amount": 1000, "currency": "USD", "per": "week"}},
        "targets": {"docs": {"formats": ["markdown", "html"]}},
        "checks": {"severity": {"ALN601": "warning", "ALN603": "warning"}},  # drawn in red
    }


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> ir.Policy:
    path = tmp_path_factory.mktemp("hostile") / "alignment.yaml"
    path.write_text(yaml.safe_dump(hostile_policy(), allow_unicode=True), encoding="utf-8")
    result = check_policy(path)
    assert result.policy is not None and not result.errors, result.errors
    return result.policy


@pytest.fixture(scope="module")
def files(hostile: ir.Policy) -> dict[str, str]:
    return {k: v.decode("utf-8") for k, v in DocsTarget().emit(hostile).items()}


# --- HTML ----------------------------------------------------------------------------------------


class Tags(HTMLParser):
    """Collects tags and attributes and checks that every element is closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.problems: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parsed(page: str) -> Tags:
    tags = Tags()
    tags.feed(page)
    tags.close()
    return tags


def test_html_is_well_formed_and_inert(files: dict[str, str]) -> None:
    page = files["html/index.html"]
    tags = parsed(page)
    assert tags.problems == [] and tags.stack == []
    assert "<script" not in page.lower()
    names = [t for t, _ in tags.tags]
    assert not set(names) & {"script", "img", "iframe", "object", "embed", "link", "base", "form"}
    assert names.count("style") == 1 and names.count("b") == page.count("<b>")
    for _, attrs in tags.tags:
        assert not [a for a in attrs if a.startswith("on")], attrs
        assert "src" not in attrs
        href = attrs.get("href")
        assert href is None or href.startswith("#"), href


def test_html_keeps_the_text_escaped_and_whole(files: dict[str, str]) -> None:
    page = files["html/index.html"]
    text = "".join(parsed(page).text)
    assert escape(HOSTILE) in page
    assert HOSTILE in text and LONG in text and "Größe 東京" in text
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page          # enum value label
    assert "&lt;/td&gt;&lt;td&gt;" in page                           # field label
    assert "[x](javascript:alert(1))" in text                         # a term name, as text


def test_html_anchors_and_links_resolve(files: dict[str, str], hostile: ir.Policy) -> None:
    page = files["html/index.html"]
    ids = {a["id"] for _, a in parsed(page).tags if "id" in a}
    assert {f"term-{t}" for t in hostile.terms} <= ids
    assert {f"stage-{s.id}" for s in hostile.stages} <= ids
    hrefs = {a["href"][1:] for _, a in parsed(page).tags if "href" in a}
    assert hrefs <= ids
    assert 'href="#term-mql"' in page and 'href="#term-icp"' in page


def test_html_is_self_contained(files: dict[str, str]) -> None:
    page = files["html/index.html"]
    assert not re.search(r"(?i)@import|url\((?!#)|https?://(?!www\.w3\.org/2000/svg)", page)
    assert page.count("<svg") == 1
    assert page.count('class="stage-shape"') == 4


# --- Markdown ------------------------------------------------------------------------------------

OUR_TAGS = re.compile(r'<a id="(term|stage|handoff)-[a-z0-9_-]+"></a>|<br/>')


def test_markdown_has_no_raw_html_but_ours(files: dict[str, str]) -> None:
    for name, text in files.items():
        if name.endswith(".md"):
            rest = OUR_TAGS.sub("", text)
            assert not re.search(r"(?<!\\)<", rest), (name, re.search(r".{20}(?<!\\)<.{20}", rest))
            assert "\\<script\\>" in text or name != "markdown/glossary.md"


def test_markdown_links_are_only_ours(files: dict[str, str]) -> None:
    for name, text in files.items():
        if name.endswith(".md"):
            for target in re.findall(r"(?<!\\)\]\(([^)]*)\)", text):
                assert re.fullmatch(r"([A-Za-z]+\.md)?(#[a-z0-9_-]+)?", target), (name, target)


def test_markdown_tables_keep_their_columns(files: dict[str, str]) -> None:
    for name, text in files.items():
        columns = None
        for line in text.split("\n"):
            if not line.startswith("|"):
                columns = None
                continue
            count = len(re.findall(r"(?<!\\)\|", line))
            columns = columns or count
            assert count == columns, (name, line[:120])


def test_markdown_headings_and_blocks_are_ours(files: dict[str, str]) -> None:
    glossary = files["markdown/glossary.md"]
    assert "## " + md_escape(HOSTILE) in glossary
    assert md_escape(LONG) in glossary
    for name, text in files.items():
        if name.endswith(".md"):
            lines = text.split("\n")
            assert sum(line.startswith("# ") for line in lines) == 1, name
            fences = [line for line in lines if line.startswith("```")]
            assert fences == (["```mermaid", "```"] if name.endswith("funnel.md") else []), name


def test_mermaid_labels_are_quoted_and_escaped(files: dict[str, str]) -> None:
    block = files["markdown/funnel.md"].split("```mermaid\n")[1].split("\n```")[0]
    for line in block.split("\n"):
        for label in re.findall(r'"([^"]*)"', line):
            assert re.fullmatch(r"[\w .,#;·/-]*(<br/>[\w .,#;·/-]*)?", label), label
        assert line.count('"') in (0, 2), line
    assert "end_[" in block and "\n    end[" not in block      # `end` is a Mermaid keyword
    assert "#60;script#62;" in block


def test_every_artifact_names_the_policy_and_version(files: dict[str, str]) -> None:
    for name, text in files.items():
        shown = escape(NAME) if name.endswith(".html") else md_escape(NAME)
        assert shown in text and "1.0.0-rc.1" in text.replace("\\", ""), name


def test_plain_english_reaches_the_docs(files: dict[str, str]) -> None:
    funnel = files["markdown/funnel.md"]
    assert "Accepted by the " + md_escape("<b>Sales</b> | x") + " team" in funnel
    scoring = files["markdown/scoring.md"]
    assert md_escape("Größe 東京 is between 10 and 100") in scoring


# --- escaping functions --------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("a|b", "a\\|b"), ("[x](y)", "\\[x\\](y)"), ("1.4.0", "1.4.0"), ("<b>", "\\<b\\>"), ("`c`", "\\`c\\`"),
    ("*_#~&$\\", "\\*\\_\\#\\~\\&\\$\\\\"), ("- item", "\\- item"), ("+ item", "\\+ item"),
    ("1. one", "1\\. one"), ("12) x", "12\\) x"), ("a\n\n# b", "a \\# b"), ("Größe", "Größe"),
])
def test_md_escape(text: str, expected: str) -> None:
    assert md_escape(text) == expected


def test_mermaid_escape() -> None:
    assert mermaid_escape('a "b" <c>') == "a #34;b#34; #60;c#62;"
    assert mermaid_escape("Größe 東京") == "Größe 東京"
    assert mermaid_escape("x\n`y`|[z]") == "x #96;y#96;#124;#91;z#93;"


# --- formats, determinism, examples --------------------------------------------------------------


def test_formats_choose_the_files(hostile: ir.Policy) -> None:
    only_md = dataclasses.replace(hostile, targets=dataclasses.replace(
        hostile.targets, docs_formats=("markdown",)))
    assert sorted(DocsTarget().emit(only_md)) == [
        "markdown/README.md", "markdown/funnel.md", "markdown/glossary.md",
        "markdown/scoring.md", "markdown/sla.md"]
    only_html = dataclasses.replace(hostile, targets=dataclasses.replace(
        hostile.targets, docs_formats=("html",)))
    assert sorted(DocsTarget().emit(only_html)) == ["html/index.html"]


def test_output_is_deterministic_text(hostile: ir.Policy) -> None:
    first, second = DocsTarget().emit(hostile), DocsTarget().emit(hostile)
    assert first == second
    for data in first.values():
        assert b"\r" not in data and data.endswith(b"\n") and not data.endswith(b"\n\n")


def test_the_registry_loads_the_docs_target() -> None:
    assert isinstance(base.load("docs"), DocsTarget)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_examples_render_every_format(example: Path) -> None:
    policy = check_policy(example).policy
    both = dataclasses.replace(policy, targets=dataclasses.replace(
        policy.targets, docs_formats=("markdown", "html")))
    out = DocsTarget().emit(both)
    page = out["html/index.html"].decode()
    assert parsed(page).problems == []
    assert page.count('class="stage-shape"') == len(policy.stages)
    assert " is between " in out["markdown/scoring.md"].decode()
