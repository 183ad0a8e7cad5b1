"""`alignctl build`: validate, then generate each target's files atomically under --out."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import EXIT_FAIL, EXIT_USAGE, emit_diagnostics, policy_argument, require_valid

BUILTIN_TARGETS = ("crm", "scoring", "docs")


@click.command()
@policy_argument
@click.option("--target", "-t", "targets", multiple=True, required=True,
              help="crm, scoring, docs, all, or a plugin target's name (repeatable).")
@click.option("--out", "-o", default="build", show_default=True, type=click.Path(file_okay=False),
              help="Output directory; each target writes OUT/<target>/ and nothing else.")
def command(policy: str, targets: tuple[str, ...], out: str) -> None:
    """Validate POLICY, then generate artifacts for the chosen targets.

    \b
    Examples:
      alignctl build --target all
      alignctl build examples/acme-saas/alignment.yaml --target crm --out build
      alignctl build --target docs --target scoring -o generated

    Nothing is written when the policy has errors (exit 1). Output is byte-identical across runs.
    """
    from alignctl.targets import base
    from alignctl.targets.writer import UnsafePath, write_target

    names = _expand(targets, base.available())
    result = require_valid(policy)
    emit_diagnostics(result, "text", quiet_ok=True)
    for name in names:
        target = base.load(name)
        try:
            files = target.emit(result.policy)
            final = write_target(Path(out), name, files)
        except base.TargetError as exc:
            _report_target_error(result, exc)
            sys.exit(EXIT_FAIL)
        except UnsafePath as exc:
            click.echo(f"alignctl: target `{name}` failed: {exc}", err=True)
            sys.exit(EXIT_FAIL)
        except OSError as exc:
            click.echo(f"alignctl: cannot write {out}/{name}: {exc.strerror or exc}", err=True)
            sys.exit(EXIT_USAGE)
        click.echo(f"{name}: {len(files)} files in {final}")


def _expand(targets: tuple[str, ...], known: dict[str, str]) -> list[str]:
    names: list[str] = []
    for t in targets:
        for name in (BUILTIN_TARGETS if t == "all" else (t,)):
            if name not in known:
                raise click.BadParameter(
                    f"unknown target `{name}`; known: {', '.join(sorted(known))}, all",
                    param_hint="--target")
            if name not in names:
                names.append(name)
    return names


def _report_target_error(result, exc) -> None:
    """A target's refusal, printed like a validate diagnostic at the policy's `targets` entry."""
    from alignctl.policy.diagnostics import make
    from alignctl.render import render

    loc = result.policy.targets.loc
    diag = make("ALN101", str(exc), loc.of(exc.attr) if exc.attr else loc.span, help=exc.help)
    click.echo(render("text", [diag], result.sources), err=True, nl=False)
