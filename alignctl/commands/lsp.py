"""`alignctl lsp`: the language server, over stdin/stdout (docs/lsp.md)."""

from __future__ import annotations

import sys

import click

from . import EXIT_USAGE


@click.command()
@click.option("--stdio", is_flag=True, help="Talk over stdin/stdout (the default; accepted "
              "because many editors pass it).")
@click.option("--log-file", type=click.Path(dir_okay=False), default=None,
              help="Write the server's log to this file.")
def command(stdio: bool, log_file: str | None) -> None:
    """Run the language server for editors (VS Code, Neovim, Helix, ...).

    \b
    Diagnostics as you type, hover, go to definition, find references, rename,
    completion inside conditions and quick fixes. Needs the `lsp` extra:
      pip install 'alignctl[lsp]'
    \b
    Editor setup: see docs/lsp.md.
    """
    try:
        from alignctl.lsp.server import main
    except ImportError as exc:
        click.echo(f"error: alignctl lsp needs pygls and lsprotocol ({exc.name} is missing): "
                   "pip install 'alignctl[lsp]'", err=True)
        sys.exit(EXIT_USAGE)
    main(log_file)
