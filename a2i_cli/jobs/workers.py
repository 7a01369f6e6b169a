"""What runs in a worker process: how to build it (WorkerSpec), how many cores, and the error when one dies."""
from __future__ import annotations

import os
import sys
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
