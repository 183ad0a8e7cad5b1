"""`alignctl validate`: every check of the catalogue, with located diagnostics."""

from __future__ import annotations

import sys

import click

from . import EXIT_FAIL, EXIT_OK, emit_diagnostics, format_option, load_or_exit, policy_argument


@click.command()
@policy_argument
@format_option
@click.option("--strict", is_flag=True, help="Treat warnings as errors (exit 1).")
def command(policy: str, fmt: str, strict: bool) -> None:
    """Check POLICY (default ./alignment.yaml) for consistency.

    \b
    Examples:
      alignctl validate
      alignctl validate examples/acme-saas/alignment.yaml
      alignctl validate --format github --strict      # in GitHub Actions
      alignctl validate --format sarif > alignctl.sarif

    Exit status: 0 no errors, 1 errors (or warnings with --strict), 2 usage or I/O error.
    """
    result = load_or_exit(policy)
    emit_diagnostics(result, fmt)
    sys.exit(EXIT_OK if result.ok(strict=strict) else EXIT_FAIL)
