"""What C and C++ libraries print goes to a log file, not the user's terminal.

    with native_output_to_log("batch-generate") as log:
        ...          # pyarrow's S3 retry warnings, libpng/libspng warnings -> log.path
    # after: if anything was written, one line names the file (log.note)

pyarrow (`s3fs.cc:817: ... SlowDown ... retry = 1`), the AWS SDK and image codecs write to
file descriptor 2 directly; no Python setting silences all of them. Inside the block fd 2
is a log file under ~/.cache/a2i/logs (or $XDG_CACHE_HOME), while Python's own
`sys.stderr` (a2i's messages, the progress bar) still writes to the terminal. Worker
processes forked inside the block inherit the same arrangement. An empty log is removed.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Iterator

KEEP = 20  # newest non-empty logs kept


def log_dir() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "a2i" / "logs"


class NativeLog:
    def __init__(self, path: Path | None):
        self.path = path

    @property
    def note(self) -> str | None:
        """'library messages: PATH' when something was logged, else None."""
        if self.path is None:
            return None
        try:
            return f"messages of the libraries a2i uses (pyarrow, codecs) are in {self.path}" \
                if self.path.stat().st_size else None
        except OSError:
            return None


def _stderr_fd() -> int | None:
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by a test runner's buffer, or closed
        return None


@contextlib.contextmanager
def native_output_to_log(command: str) -> Iterator[NativeLog]:
    folder = log_dir()
    path = folder / f"{command}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    try:
        os.fstat(2)  # started with fd 2 closed (`2>&-`): nothing to keep off a terminal, and the log would be fd 2
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        saved = os.dup(2)
    except OSError:  # nowhere to log: the messages stay on the terminal
        yield NativeLog(None)
        return
    swapped = None
    if _stderr_fd() == 2:  # Python's stderr is fd 2: give it its own copy of the terminal first
        sys.stderr.flush()
        swapped = sys.stderr
        sys.stderr = os.fdopen(os.dup(saved), "w", buffering=1, encoding=swapped.encoding,
                               errors=swapped.errors or "backslashreplace")
    os.dup2(fd, 2)
    log = NativeLog(path)
    try:
        yield log
    finally:
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(saved, 2)
        os.close(saved)
        os.close(fd)
        if swapped is not None:
            mine, sys.stderr = sys.stderr, swapped
            mine.close()
        try:
            if path.stat().st_size == 0:
                path.unlink()
            else:
                _prune(folder)
        except OSError:
            pass


def _prune(folder: Path) -> None:
    logs = sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in logs[KEEP:]:
        old.unlink(missing_ok=True)
