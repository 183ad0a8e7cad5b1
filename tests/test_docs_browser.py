"""The HTML page in a real browser: headless Chromium loads it, draws the funnel, shows the glossary.

Skipped only when no Chromium can be found and CI is unset; on CI a missing browser fails.
The screenshot is left in the test's tmp dir (`pytest --basetemp=DIR` to keep it somewhere known).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from alignctl.api import check_policy
from alignctl.compiler import ir
from alignctl.targets.docs import DocsTarget

from .conftest import EXAMPLES
from .test_docs import hostile_policy

CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome",
              "google-chrome-stable", "headless_shell")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars")


def chromium() -> str:
    found = next((p for p in map(shutil.which, CANDIDATES) if p), None)
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("CI is set but no Chromium was found (apt-get install -y chromium)")
    pytest.skip("no Chromium found (apt-get install -y chromium); CI would fail here")


def run(args: list[str], tmp: Path) -> subprocess.CompletedProcess:
    profile = tmp / "profile"
    profile.mkdir(exist_ok=True)
    cmd = [chromium(), *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)


def page_for(policy: ir.Policy, tmp: Path) -> Path:
    html_only = dataclasses.replace(policy, targets=dataclasses.replace(
        policy.targets, docs_formats=("html",)))
    path = tmp / "index.html"
    path.write_bytes(DocsTarget().emit(html_only)["html/index.html"])
    return path


class Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag

    def count(self, tag: str, cls: str | None = None) -> int:
        return sum(t == tag and (cls is None or cls in (a.get("class") or "").split())
                   for t, a in self.tags)

    def ids(self) -> set[str]:
        return {a["id"] for _, a in self.tags if a.get("id")}


def dump_dom(page: Path, tmp: Path) -> Dom:
    done = run(["--virtual-time-budget=5000", "--dump-dom", page.as_uri()], tmp)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "<svg" in done.stdout, done.stderr[-2000:]
    dom = Dom()
    dom.feed(done.stdout)
    return dom


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def screenshot(page: Path, tmp: Path) -> Path:
    shot = tmp / "page.png"
    done = run([f"--screenshot={shot}", "--window-size=1280,2400", page.as_uri()], tmp)
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    return shot


def check_rendered(policy: ir.Policy, tmp: Path) -> None:
    page = page_for(policy, tmp)
    dom = dump_dom(page, tmp)
    assert dom.count("svg", "funnel") == 1
    assert dom.count("polygon", "stage-shape") == len(policy.stages)
    assert dom.count("script") == 0
    assert {f"term-{t}" for t in policy.terms} <= dom.ids()
    assert {f"stage-{s.id}" for s in policy.stages} <= dom.ids()
    shot = screenshot(page, tmp)
    assert png_size(shot) == (1280, 2400)
    assert shot.stat().st_size > 30_000, "the screenshot looks blank"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_example_page_renders_in_chromium(example: Path, tmp_path: Path) -> None:
    result = check_policy(example)
    assert result.policy is not None and not result.errors
    check_rendered(result.policy, tmp_path)


def test_hostile_page_renders_without_running_anything(tmp_path: Path) -> None:
    source = tmp_path / "alignment.yaml"
    source.write_text(yaml.safe_dump(hostile_policy(), allow_unicode=True), encoding="utf-8")
    result = check_policy(source)
    assert result.policy is not None and not result.errors
    check_rendered(result.policy, tmp_path)
