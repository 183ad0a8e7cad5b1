from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(ROOT.glob("examples/*/alignment.yaml"))
VENDOR = ROOT.parent / "shared" / "vendor"


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite golden files from the current output")


@pytest.fixture
def update_golden(request) -> bool:
    return request.config.getoption("--update-golden")


def vendor_file(rel: str) -> Path:
    """A vendor schema from ../shared/vendor; required in CI, skipped in a bare checkout."""
    import os

    path = VENDOR / rel
    if not path.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: CI runs with ../shared beside the checkout")
        pytest.skip(f"{path} is not available outside the workspace")
    return path
