"""What runs in a worker process: how to build it (WorkerSpec), how many cores, and the error when one dies."""
from __future__ import annotations

import ctypes
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


def keep_freed_memory() -> None:
    """glibc only: serve allocations up to 32 MB from the heap and keep up to 256 MB of freed heap for reuse.

    By default every numpy temporary over ~128 KB is a fresh mmap, and its pages fault in
    again each time; on a virtual machine a page fault can cost several microseconds. Measured
    on the 2-core EPYC VM: SSIM of one 256x256 pair took 10.5 ms, 6-7 ms of it system time,
    and 4 ms with this. A process keeps its peak memory instead of handing it back (the peak
    itself is unchanged). Called in every worker process and by the CLI; elsewhere (musl,
    macOS, Windows) it does nothing."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):
        return
    mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD (32 MB: glibc's largest)
    mallopt(-1, 256 << 20)  # M_TRIM_THRESHOLD


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
