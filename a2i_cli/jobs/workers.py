"""What runs in a worker process: how to build it (WorkerSpec), how many cores, and the error when one dies."""
from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, field

from ..core.errors import UserError


def local_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class WorkerSpec:
    """How to build a worker: `cls(**kwargs)` once per process/actor."""

    cls: type
    kwargs: dict = field(default_factory=dict)

    def build(self):
        return self.cls(**self.kwargs)


class WorkerDied(UserError):
    """A worker process died (killed, out of memory); what was written is kept."""


def one_thread() -> None:
    """One process per core: torch (if this process uses it) on one thread; no OpenMP region after fork."""
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def exit_with_parent(parent: int, interval: float = 0.5) -> None:
    """Exit this worker when `parent` (the driver's pid) is no longer its parent: the driver died,
    however it died (kill -9 included), and the worker was reparented. Checked by a daemon thread."""
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="a2i-exit-with-parent", daemon=True).start()
