"""The one progress-callback type every long job takes: `start(total, description)`, then `advance(n)`.

    def prepare(cfg, progress: Progress = NO_PROGRESS): ...
        progress.start(len(rows), "decoding images")
        progress.advance(1)

The CLI passes a rich progress bar; library callers pass nothing, or their own object
with these two methods. `start` may be called again to begin another phase (an epoch).
"""
from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, total: int | None, description: str | None = None) -> None:
        """Begin (or restart) counting towards `total` items (None: unknown)."""

    def advance(self, n: int = 1) -> None:
        """`n` more items are finished."""


class NoProgress:
    """Progress that goes nowhere (the library default)."""

    def start(self, total: int | None, description: str | None = None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass


NO_PROGRESS = NoProgress()


class Counter:
    """Progress that counts (tests, and callers that only want the totals)."""

    def __init__(self) -> None:
        self.total: int | None = None
        self.done = 0
        self.phases: list[str | None] = []

    def start(self, total: int | None, description: str | None = None) -> None:
        self.total, self.done = total, 0
        self.phases.append(description)

    def advance(self, n: int = 1) -> None:
        self.done += n
