"""Shared CLI plumbing: one-line errors and exit codes, the progress bar, deprecated option spellings."""
from __future__ import annotations

import contextlib
import errno
import functools
import os
import time

import typer
from rich.console import Console
from rich.text import Text

from ..core.errors import UserError, short

# markup off: paths and CSV values are printed as they are ("[x]" is text, never a style tag)
console = Console(stderr=False, highlight=False, soft_wrap=True, markup=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


def say(prefix: str, style: str, message: str, to: Console | None = None) -> None:
    """One line: a styled prefix ("error:", "note:") and the message as plain text."""
    (to or err_console).print(Text(prefix, style=style) + Text(" " + message))


def fail(message: str, code: int = 2) -> typer.Exit:
    say("error:", "bold red", message)
    return typer.Exit(code)


PATH_FAULTS = {  # errno -> what it means for a path on the command line
    errno.EEXIST: " (a file or a broken link stands where a folder is needed; give another path)",
    errno.ENOTDIR: " (part of this path is a file, not a folder; give another path)",
    errno.EISDIR: " (a folder, where a file is needed; give a file name)",
    errno.EACCES: " (not allowed; give a path you can write to)",
    errno.EROFS: " (a read-only file system; give another path)",
}


def cli_errors(fn):
    """Decorator for command functions: UserError -> 'error: ...' on stderr and its exit code (2 by default).

    KeyboardInterrupt exits 130 with a note that the run can be resumed.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except UserError as e:
            raise fail(str(e), e.code)
        except KeyboardInterrupt:
            err_console.print("interrupted; what was written is kept (rerun to resume where supported)")
            raise typer.Exit(130)
        except MemoryError:
            raise fail("out of memory; try a smaller --batch-size", 3)
        except OSError as e:  # disk full, permission denied, ...
            if e.errno in (errno.ENOSPC, errno.EDQUOT):  # not transient: stop, and say how to go on
                where = f"{e.filename}: " if e.filename else ""
                raise fail(f"{where}no space left on device ({e.strerror}); what was written is kept: free space, "
                           "then rerun the same command to resume", 3)
            if e.filename and e.errno in PATH_FAULTS:  # the path given is wrong: the user's to fix, nothing started
                raise fail(f"{e.filename}: {e.strerror}{PATH_FAULTS[e.errno]}", 2)
            if e.filename:
                raise fail(f"{e.filename}: {e.strerror}", 3)
            raise fail(f"{e}", 3)
        except Exception as e:  # a bug: one line, the details on request
            if os.environ.get("A2I_DEBUG"):
                raise
            first = short(e)
            raise fail(f"internal error {type(e).__name__}: {first} (what was written is kept; please report it, "
                       "with the traceback A2I_DEBUG=1 prints)", 3)

    return wrapper


def deprecated(old: str, new: str, value):
    """The value of a hidden old spelling of an option, after one line telling the user the new one."""
    if value is not None:
        say("note:", "yellow", f"{old} is deprecated; use {new} (the old spelling still works for now)")
    return value


def pick(new, old, old_name: str, new_name: str, default=None):
    """The value of `new_name`, or of its deprecated spelling `old_name` when only that was given."""
    if old is not None and new not in (None, default):
        raise UserError(f"{old_name} is the old spelling of {new_name}; pass only {new_name}")
    if old is not None:
        return deprecated(old_name, new_name, old)
    return new


class Bar:
    """The Progress of core/progress.py drawn as a rich bar: count, rate and ETA, on stderr."""

    def __init__(self, progress, description: str):
        self.progress = progress
        self.task = progress.add_task(description, total=None, rate="")
        self.t0 = time.perf_counter()
        self.done = 0

    def start(self, total: int | None, description: str | None = None) -> None:
        self.t0, self.done = time.perf_counter(), 0
        fields = {"description": description} if description else {}
        self.progress.reset(self.task, total=total, rate="", **fields)

    def advance(self, n: int = 1) -> None:
        self.done += n
        dt = time.perf_counter() - self.t0
        rate = f"{self.done / dt:,.0f}/s" if dt > 0.5 else ""
        self.progress.update(self.task, advance=n, rate=rate)


@contextlib.contextmanager
def library_log(command: str):
    """What C/C++ libraries print (pyarrow's S3 retries, codec warnings) goes to a log file, not the terminal;
    a note names the file when something was written there (core/native_log.py)."""
    from ..core.native_log import native_output_to_log

    with native_output_to_log(command) as log:
        try:
            yield log
        finally:
            if log.note:
                say("note:", "dim", log.note)


@contextlib.contextmanager
def progress_bar(description: str = "working"):
    """A transient rich progress bar (it disappears when done or when an error stops the job)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,  # no bar (and no stray blank line) in logs and pipes
    ) as progress:
        yield Bar(progress, description)


def print_summary(summary: dict, baseline: dict | None = None) -> None:
    """The score table: mean, median, min, max per metric (and a baseline column when given)."""
    from rich.table import Table

    table = Table(title=f"{summary['pairs_scored']} pairs")
    for col in ("metric", "mean", "median", "min", "max"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    if baseline:
        table.add_column("mean-image baseline", justify="right")
    fmt = {"ssim": "{:.4f}", "hist": "{:.4f}", "mse": "{:.1f}", "psnr": "{:.2f}", "sharpness": "{:.2f}",
           "target_sharpness": "{:.2f}"}
    label = {"ssim": "SSIM", "hist": "histogram similarity", "mse": "MSE (0-255)", "psnr": "PSNR (dB)",
             "sharpness": "sharpness (gradient)", "target_sharpness": "targets' sharpness"}
    for m, st in summary["metrics"].items():
        cells = [fmt[m].format(st[k]) for k in ("mean", "median", "min", "max")]
        if baseline:
            cells.append(fmt[m].format(baseline[m]) if m in ("ssim", "hist", "mse", "psnr") else "")
        table.add_row(label[m], *cells)
    console.print(table)
    if summary.get("sharpness_vs_targets") == summary.get("sharpness_vs_targets"):
        console.print(f"sharpness of the generated images relative to their targets: {summary['sharpness_vs_targets']:.2f} "
                      "(1.00 = as sharp as the real images)")
