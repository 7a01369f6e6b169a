"""The `a2i` command: a Typer app that wires the command modules and prints usage errors as one line.

Every module in a2i_cli/commands/ (not starting with "_") defines `register(app)`.
"""
from __future__ import annotations

import importlib
import pkgutil
import sys
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from . import commands
from .commands._common import err_console, say
from .core.config import Backend, Engine


def vocabulary_hint(message: str) -> str:
    """A hint when an engine was given to --backend or a backend to --engine (one word, one meaning)."""
    for option, other, names in (("--backend", "--engine", Engine), ("--engine", "--backend", Backend)):
        if f"'{option}'" in message and any(f"'{n.value}' is not one of" in message for n in names if n.value != "auto"):
            return f"; {option} is {'where work runs' if option == '--backend' else 'how a model runs'}: " \
                   f"did you mean {other}?"
    return ""


class OneLineErrors(TyperGroup):
    """Usage errors (a bad choice, a missing argument, an unknown option) as one line and exit code 2."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            rv = super().main(args=args, prog_name=prog_name or "a2i", complete_var=complete_var,
                              standalone_mode=False, **extra)
        except typer.TyperException as e:  # click's usage errors (typer vendors click)
            code = e.exit_code
            if type(e).__name__ == "NoArgsIsHelpError":  # `a2i extract` alone: its help
                err_console.print(e.format_message(), markup=False, highlight=False)
            else:
                where = self._where(e, args)
                message = " ".join(e.format_message().replace("Value error, ", "").split())
                hint = vocabulary_hint(message)
                say("error:", "bold red", f"{where}: {message.rstrip('.') if hint else message}{hint} (see `{where} --help`)")
        except typer.Abort:
            err_console.print("interrupted")
            code = 130
        else:
            code = rv if isinstance(rv, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code

    def _where(self, e: typer.TyperException, args) -> str:
        """The command a usage error belongs to: its context's path, else (an option's missing value, which click
        reports without one) the subcommand named on the command line, so the hint points at its own --help."""
        ctx = getattr(e, "ctx", None)
        if ctx is not None:
            return ctx.command_path
        argv = sys.argv[1:] if args is None else list(args)
        name = next((a for a in argv if not a.startswith("-")), None)
        return f"a2i {name}" if name in self.commands else "a2i"


app = typer.Typer(
    name="a2i",
    cls=OneLineErrors,
    help="Learn to draw the scene you are in from what you hear (104 MFCC features -> image).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from . import __version__

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
    from .jobs.workers import keep_freed_memory

    keep_freed_memory()  # inline runs (small inputs) do their work in this process
    try:
        app()
    except SystemExit as e:
        code = e.code
    else:
        code = 0
    exit_now(code)


def exit_now(code) -> None:
    """End the process as sys.exit(code) would, without Python's finalisation: with torch loaded, clearing
    every module and collecting their objects takes 0.6-0.8 s (measured), longer than many a2i commands work.

    atexit functions still run (Ray's shutdown, multiprocessing's, logging's, temporary folders); standard
    output and error are flushed. A thread that is not a daemon and still runs gets the normal exit, which
    waits for it."""
    import atexit
    import os
    import threading

    if any(t.is_alive() and not t.daemon and t is not threading.main_thread() for t in threading.enumerate()):
        sys.exit(code)
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:  # None: started with that descriptor closed (`a2i ... 2>&-`)
                stream.flush()
        except (OSError, ValueError):  # a closed pipe (`a2i ... | head`): nothing more to say
            pass
    os._exit(code)


if __name__ == "__main__":
    main()
