"""`alignctl build`: validate first, atomic writes confined to --out, plugin targets."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from alignctl.cli import main
from alignctl.targets import base
from alignctl.targets.writer import UnsafePath, write_target

from .conftest import EXAMPLES

BROKEN = Path(__file__).parent / "cases" / "ALN202_enum.yaml"


def build(*args: str):
    return CliRunner().invoke(main, ["build", *args])


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_errors_write_nothing(tmp_path: Path) -> None:
    result = build(str(BROKEN), "--target", "all", "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "ALN202" in result.output
    assert not (tmp_path / "out").exists()


def test_build_all_is_byte_identical_across_runs(tmp_path: Path) -> None:
    for out in ("a", "b"):
        assert build(str(EXAMPLES[0]), "-t", "all", "-o", str(tmp_path / out)).exit_code == 0
    first, second = snapshot(tmp_path / "a"), snapshot(tmp_path / "b")
    assert first == second and len(first) > 50
    assert sorted({k.split("/")[0] for k in first}) == ["crm", "docs", "scoring"]
    assert all(b"\r\n" not in data for data in first.values())


def test_unknown_target_is_usage_error(tmp_path: Path) -> None:
    result = build(str(EXAMPLES[0]), "--target", "nope", "--out", str(tmp_path))
    assert result.exit_code == 2 and "unknown target `nope`" in result.output


@pytest.mark.parametrize("bad", ["../escape.txt", "/etc/passwd", "a/../../b", "a\\b", "", "a//b",
                                 "./a", "C:/x"])
def test_unsafe_paths_are_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(UnsafePath):
        write_target(tmp_path / "out", "t", {"ok.txt": b"1", bad: b"2"})
    assert not (tmp_path / "out" / "t").exists()
    assert not (tmp_path / "escape.txt").exists()


def test_failed_write_leaves_previous_build_untouched(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "out"
    write_target(out, "t", {"a.txt": b"old", "sub/b.txt": b"old"})
    before = snapshot(out / "t")

    def explode(self, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", explode)
    with pytest.raises(OSError):
        write_target(out, "t", {"a.txt": b"new"})
    monkeypatch.undo()
    assert snapshot(out / "t") == before
    assert [p.name for p in out.iterdir()] == ["t"], "temporary directories were left behind"


def test_rebuild_replaces_stale_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_target(out, "t", {"a.txt": b"1", "gone.txt": b"1"})
    write_target(out, "t", {"a.txt": b"2"})
    assert snapshot(out / "t") == {"a.txt": b"2"}


def test_a_symlinked_target_dir_is_replaced_not_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_bytes(b"keep")
    out = tmp_path / "out"
    out.mkdir()
    (out / "t").symlink_to(elsewhere, target_is_directory=True)
    write_target(out, "t", {"a.txt": b"1"})
    assert (elsewhere / "keep.txt").read_bytes() == b"keep"
    assert not (out / "t").is_symlink() and snapshot(out / "t") == {"a.txt": b"1"}


PLUGIN = '''
from alignctl.targets.base import Target


class StageList(Target):
    name = "stagelist"
    description = "one line per stage"

    def emit(self, policy):
        text = "".join(f"{s.id}\\n" for s in policy.stages)
        return {"stages.txt": text.encode()}
'''


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch):
    """An installed third-party target: a module and a dist-info with an entry point."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "alignctl_stagelist.py").write_text(textwrap.dedent(PLUGIN))
    dist = site / "alignctl_stagelist-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: alignctl-stagelist\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[alignctl.targets]\nstagelist = alignctl_stagelist:StageList\n")
    monkeypatch.syspath_prepend(str(site))
    yield
    sys.modules.pop("alignctl_stagelist", None)


def test_third_party_target_from_entry_point(plugin, tmp_path: Path) -> None:
    assert "stagelist" in base.available()
    result = build(str(EXAMPLES[0]), "--target", "stagelist", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    stages = (tmp_path / "out" / "stagelist" / "stages.txt").read_text().split()
    assert stages[0] == "inquiry" and stages[-1] == "customer"


def test_all_means_the_builtins_only(plugin, tmp_path: Path) -> None:
    assert build(str(EXAMPLES[0]), "-t", "all", "-o", str(tmp_path / "out")).exit_code == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["crm", "docs", "scoring"]
