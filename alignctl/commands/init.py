"""`alignctl init [DIR]`: write a commented starter policy and its test cases."""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

import click

from . import EXIT_FAIL, EXIT_OK, EXIT_USAGE

# template path (under alignctl/templates/init) -> path written under DIR
FILES = {"alignment.yaml": "alignment.yaml", "tests/starter.yaml": "tests/starter.yaml"}


@click.command()
@click.argument("directory", default=".", required=False,
                type=click.Path(file_okay=False))
def command(directory: str) -> None:
    """Write a starter alignment.yaml (and tests/starter.yaml) into DIRECTORY.

    The policy passes `alignctl validate --strict`: a funnel inquiry -> MQL -> SAL -> SQL ->
    customer, marketing, SDR and AE teams with capacity, typical SLA times, recycle reasons, a
    fit and an engagement model, and a monthly plan, every section commented. Existing files are
    never overwritten.

    \b
    Examples:
      alignctl init
      alignctl init revenue-policy && cd revenue-policy && alignctl validate && alignctl test
    """
    root = Path(directory)
    targets = {src: root / dest for src, dest in FILES.items()}
    existing = [str(p) for p in targets.values() if p.exists()]
    if existing:
        click.echo(f"alignctl init: {', '.join(existing)} already exist"
                   f"{'s' if len(existing) == 1 else ''}; nothing was written", err=True)
        sys.exit(EXIT_FAIL)
    try:
        for src, dest in targets.items():
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(template(src))
    except OSError as exc:
        click.echo(f"alignctl init: cannot write `{exc.filename}`: {exc.strerror}", err=True)
        sys.exit(EXIT_USAGE)
    _next_steps(targets["alignment.yaml"])
    sys.exit(EXIT_OK)


def template(name: str) -> bytes:
    """A starter file's bytes, from the installed package."""
    base = resources.files("alignctl").joinpath("templates", "init")
    return base.joinpath(*name.split("/")).read_bytes()


def _next_steps(policy: Path) -> None:
    where = "" if policy.parent == Path(".") else f" {policy}"
    click.echo(f"wrote {policy} and {policy.parent / 'tests' / 'starter.yaml'}\n\nnext:\n"
               f"  alignctl validate{where}      check it (it passes as written)\n"
               f"  alignctl test{where}          run the starter test cases\n"
               f"  alignctl plan{where}          see the funnel arithmetic\n"
               "then edit the numbers with both teams, in a pull request.")
