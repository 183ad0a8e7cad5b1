"""One module per command; each exposes `command`. Shared helpers live here."""

from __future__ import annotations

import os
import sys

import click

DEFAULT_POLICY = "alignment.yaml"
EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2

policy_argument = click.argument("policy", default=DEFAULT_POLICY, required=False,
                                 type=click.Path(dir_okay=False))
format_option = click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "sarif", "github"]), default="text",
    show_default=True, help="How to print diagnostics (text goes to stderr, the rest to stdout).")


def use_color(stream) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


def load_or_exit(policy: str, *, run_checks: bool = True):
    """check_policy, turning an unreadable root file into a usage error (exit 2)."""
    from alignctl.api import check_policy

    try:
        return check_policy(policy, run_checks=run_checks)
    except OSError as exc:
        click.echo(f"alignctl: cannot read policy `{policy}`: {exc.strerror or exc}", err=True)
        if not os.path.exists(policy):
            click.echo("hint: pass the policy's path, or run `alignctl init` to write one",
                       err=True)
        sys.exit(EXIT_USAGE)


def emit_diagnostics(result, fmt: str, *, quiet_ok: bool = False) -> None:
    """Print the result's diagnostics in `fmt` (text to stderr, machine formats to stdout)."""
    from alignctl.render import render

    if fmt == "text":
        if quiet_ok and not result.diagnostics:
            return
        click.echo(render("text", result.diagnostics, result.sources,
                          color=use_color(sys.stderr)), err=True, nl=False)
    else:
        click.echo(render(fmt, result.diagnostics, result.sources), nl=False)


def require_valid(policy: str, fmt: str = "text"):
    """Load and check POLICY; on errors print them and exit 1. Returns the Result."""
    result = load_or_exit(policy)
    if result.errors or result.policy is None:
        emit_diagnostics(result, fmt)
        sys.exit(EXIT_FAIL)
    return result
