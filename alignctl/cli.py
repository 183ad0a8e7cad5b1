"""The `alignctl` command line. Exit codes: 0 success, 1 the policy failed, 2 usage or I/O error.

Each command lives in `alignctl/commands/<name>.py` and is imported only when it runs, and heavy
modules are imported inside the command that needs them, so `validate` starts fast.
"""

from __future__ import annotations

import importlib

import click

# name -> module under alignctl.commands exposing `command`
COMMANDS = {
    "validate": "validate",
    "schema": "schema",
    "build": "build",
    "plan": "plan",
    "score": "score",
    "diff": "diff",
    "test": "test",
    "explain": "explain",
    "init": "init",
    "lsp": "lsp",
    "report": "report",
    "backtest": "backtest",
}


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        module = COMMANDS.get(name)
        if module is None:
            return None
        return importlib.import_module(f"alignctl.commands.{module}").command


@click.group(cls=LazyGroup,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="alignctl")
def main() -> None:
    """alignctl: the Marketing-Sales service level agreement as code.

    \b
    Quick start:
      alignctl init                         write a starter alignment.yaml
      alignctl validate                     check it for consistency
      alignctl build --target all --out build
    """


if __name__ == "__main__":  # pragma: no cover
    main()
