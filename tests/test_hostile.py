"""Hostile input ends in diagnostics, never a traceback, a hang or executed code."""

from __future__ import annotations

import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from alignctl.api import check_policy
from alignctl.policy.diagnostics import Sink
from alignctl.policy.yamlpos import MAX_BYTES, PosIndex, load_text

BOMB = "\n".join(
    [f'a: &a [{", ".join(["lol"] * 9)}]']
    + [f'{c}: &{c} [{", ".join([f"*{p}"] * 9)}]' for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
) + "\n"


def codes(path: Path) -> list[tuple[str, int, int]]:
    return [(d.code, d.span.line, d.span.column) for d in check_policy(path).diagnostics]


def test_billion_laughs_ends_fast(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB)
    start = time.perf_counter()
    found = codes(path)
    elapsed = time.perf_counter() - start
    assert [c for c, _, _ in found] == ["ALN006"]
    assert elapsed < 5  # generous: the point is "no hang"; bench/ measures speed
    assert "bomb" in check_policy(path).diagnostics[0].message


def test_deep_nesting(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("[" * 100_000)
    assert [c for c, _, _ in codes(path)] == ["ALN006"]


def test_nesting_just_within_bound_is_not_a_depth_error(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("x: " + "[" * 60 + "]" * 60 + "\n")
    assert "ALN006" not in [c for c, _, _ in codes(path)]


def test_too_large(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"# " + b"x" * (MAX_BYTES + 10) + b"\n")
    found = check_policy(path).diagnostics
    assert [d.code for d in found] == ["ALN006"]
    assert "MB" in found[0].message


def test_fifty_megabytes(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as f:
        f.write(b"a: [" + b"1, " * (50 * 1024 * 1024 // 3) + b"1]\n")
    assert [d.code for d in check_policy(path).diagnostics] == ["ALN006"]


def test_not_utf8_points_at_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("policy:\n  name: Caf\xe9\n".encode("latin-1"))
    assert codes(path) == [("ALN006", 2, 12)]


def test_python_tags_are_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "tag.yaml"
    path.write_text(f'policy: !!python/object/apply:os.system ["touch {marker}"]\n'
                    f'x: !!python/name:os.system\n')
    found = codes(path)
    assert found and found[0][0] == "ALN001"
    assert not marker.exists()


def test_unknown_local_tag(tmp_path: Path) -> None:
    path = tmp_path / "tag.yaml"
    path.write_text("policy: !secret value\n")
    assert [c for c, _, _ in codes(path)] == ["ALN001"]


def test_two_documents(tmp_path: Path) -> None:
    path = tmp_path / "two.yaml"
    path.write_text("a: 1\n---\nb: 2\n")
    assert codes(path) == [("ALN001", 2, 1)]


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("")
    assert [c for c, _, _ in codes(path)] == ["ALN002"]


def test_top_level_list(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n")
    assert [c for c, _, _ in codes(path)] == ["ALN002"]


def test_dotdot_and_slash_in_ids(tmp_path: Path) -> None:
    path = tmp_path / "ids.yaml"
    path.write_text(
        "policy: { name: T, version: 1.0.0, period: week }\n"
        "teams:\n  marketing: { kind: marketing }\n  ../../etc: { kind: sales }\n"
        "stages:\n  - { id: '../x', owner: marketing }\n")
    assert codes(path) == [("ALN002", 4, 3), ("ALN002", 6, 11)]


def test_hostile_strings_in_values_are_just_text(tmp_path: Path) -> None:
    hostile = "'; drop table leads; -- <script>]]>&amp;\\u0000 [x](javascript:y) | `x`"
    path = tmp_path / "strings.yaml"
    path.write_text(
        "policy: { name: \"" + hostile.replace("\\", "\\\\").replace('"', '\\"') +
        "\", version: 1.0.0, period: week }\n"
        "teams:\n  marketing: { kind: marketing }\n  sales: { kind: sales }\n"
        "stages:\n  - { id: inquiry, owner: marketing, definition: x }\n")
    result = check_policy(path)
    assert result.policy is not None
    assert result.policy.meta.name == hostile


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_loader_never_raises_on_arbitrary_text(text: str) -> None:
    sink = Sink()
    load_text("x.yaml", text, PosIndex(), sink)
    for d in sink.items:
        assert d.code.startswith("ALN0")
        assert d.span.line >= 1 and d.span.column >= 1


YAMLISH = st.lists(st.sampled_from(
    ["a", ":", " ", "\n", "-", "[", "]", "{", "}", ",", "&x", "*x", "!!str", "!t", "'", '"', "#",
     "|", ">", "<<", "? ", "---", "...", "\t", "1", "on", "\\", "%YAML 1.1"]), max_size=60)


@settings(max_examples=400, deadline=None)
@given(YAMLISH)
def test_loader_never_raises_on_yaml_shaped_noise(parts: list[str]) -> None:
    sink = Sink()
    load_text("x.yaml", "".join(parts), PosIndex(), sink)
    assert all(d.code.startswith("ALN0") for d in sink.items)


@settings(max_examples=150, deadline=None)
@given(YAMLISH)
def test_whole_pipeline_never_raises(tmp_path_factory, parts: list[str]) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "alignment.yaml"
    path.write_text("policy: { name: T, version: 1.0.0, period: week }\n" + "".join(parts))
    check_policy(path)


def test_control_characters_never_reach_the_terminal(tmp_path: Path) -> None:
    from alignctl.render import render_text

    path = tmp_path / "esc.yaml"
    path.write_text('policy: { name: T, version: 1.0.0, period: week }\n"\\e[2Jx\\x9b": 1\n')
    result = check_policy(path)
    text = render_text(result.diagnostics, result.sources)
    assert "\x1b" not in text and "\x9b" not in text
    assert "\\x1b[2Jx\\x9b" in text
