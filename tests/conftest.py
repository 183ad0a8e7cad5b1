from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(ROOT.glob("examples/*/alignment.yaml"))
VENDOR = ROOT / "tests" / "vendor"      # copied from the workspace vendor folder: SOURCE.md


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite golden files from the current output")


@pytest.fixture
def update_golden(request) -> bool:
    return request.config.getoption("--update-golden")


def vendor_file(rel: str) -> Path:
    """A vendor schema from tests/vendor/ (in the project, so every clone validates)."""
    path = VENDOR / rel
    if not path.is_file():
        pytest.fail(f"{path} is missing: the vendor schemas ship with the tests (tests/vendor)")
    return path
