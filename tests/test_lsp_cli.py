"""`alignctl lsp` as a CLI command: its help, and a clear error without the `lsp` extra."""

from __future__ import annotations

import sys

from click.testing import CliRunner

from alignctl.cli import main


def test_help_names_the_extra_and_the_docs():
    result = CliRunner().invoke(main, ["lsp", "--help"])
    assert result.exit_code == 0
    assert "alignctl[lsp]" in result.output and "docs/lsp.md" in result.output


def test_without_pygls_it_is_a_usage_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "alignctl.lsp.server", None)
    result = CliRunner().invoke(main, ["lsp"])
    assert result.exit_code == 2
    assert "pip install 'alignctl[lsp]'" in result.output
    assert "Traceback" not in result.output
