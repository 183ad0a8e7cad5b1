"""Golden files: every built-in target on every example, compared byte for byte.

`pytest --update-golden` rewrites tests/golden/<target>/<example>/ from the current output; read
the diff before committing. Building twice must give identical bytes.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from alignctl.api import check_policy
from alignctl.targets import base

from .conftest import EXAMPLES

GOLDEN = Path(__file__).parent / "golden"
TARGETS = [n for n, spec in base.BUILTINS.items()
           if importlib.util.find_spec(spec.split(":")[0]) is not None]


def emit(target: str, example: Path) -> dict[str, bytes]:
    result = check_policy(example)
    assert result.policy is not None and not result.errors, result.errors
    return base.load(target).emit(result.policy)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
@pytest.mark.parametrize("target", TARGETS)
def test_golden(target: str, example: Path, update_golden: bool) -> None:
    files = emit(target, example)
    assert files == emit(target, example), "two builds differ"
    folder = GOLDEN / target / example.parent.name
    if update_golden:
        shutil.rmtree(folder, ignore_errors=True)
        for rel, data in files.items():
            dest = folder / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
    expected = {p.relative_to(folder).as_posix(): p.read_bytes()
                for p in folder.rglob("*") if p.is_file()}
    assert sorted(files) == sorted(expected), "the set of files changed (--update-golden?)"
    for rel, data in files.items():
        assert data == expected[rel], f"{rel} differs from its golden file (--update-golden?)"
