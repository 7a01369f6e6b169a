"""The `a2i` command: a Typer app that wires the command modules, nothing else.

Every module in a2i_cli/commands/ (not starting with "_") defines `register(app)`.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Annotated, Optional

import typer

from . import __version__, commands

app = typer.Typer(
    name="a2i",
    help="Learn to draw the scene you are in from what you hear (104 MFCC features -> image).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"a2i {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = None,
) -> None:
    """a2i: audio-to-image toolkit."""


for _mod in sorted(m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_")):
    importlib.import_module(f"{commands.__name__}.{_mod}").register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
