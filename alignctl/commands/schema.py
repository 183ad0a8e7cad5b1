"""`alignctl schema`: print a published JSON Schema."""

from __future__ import annotations

import json
import sys

import click

from . import EXIT_USAGE


@click.command()
@click.argument("kind", type=click.Choice(["policy", "scoring", "fields"]))
def command(kind: str) -> None:
    """Print a JSON Schema, e.g. for yaml-language-server in your editor.

    \b
    Examples:
      alignctl schema policy > alignctl.schema.json
      # then, as the first line of alignment.yaml:
      # yaml-language-server: $schema=./alignctl.schema.json
    """
    from alignctl.schemas import load_schema

    try:
        doc = load_schema(kind)
    except LookupError as exc:
        click.echo(f"alignctl: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
