"""Shared CLI plumbing: turn library errors into one clear line and a non-zero exit."""
from __future__ import annotations

import functools

import typer
from rich.console import Console

from ..errors import UserError

console = Console(stderr=False, highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", markup=True)
    return typer.Exit(code)


def cli_errors(fn):
    """Decorator for command functions: UserError -> 'error: ...' on stderr, exit code 2.

    KeyboardInterrupt exits 130 with a note that the run can be resumed.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as e:
            raise fail(str(e), e.code)
        except KeyboardInterrupt:
            err_console.print("interrupted; what was written is kept (rerun to resume where supported)")
            raise typer.Exit(130)
        except MemoryError:
            raise fail("out of memory; try a smaller --batch-size", 3)
        except OSError as e:  # disk full, permission denied, ...
            if e.filename:
                raise fail(f"{e.filename}: {e.strerror}", 3)
            raise fail(f"{e}", 3)

    return wrapper


def progress_bar(transient: bool = True):
    """A rich progress bar with count, rate and ETA (on stderr, so stdout stays parseable).

    Transient: it disappears when done (or when an error stops the job), leaving the
    command's own summary lines."""
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=transient,
    )
