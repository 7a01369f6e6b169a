"""How well a video holds together: flicker while the scene is steady, and how fast the picture follows a scene change.

    flicker(frames)                       # (N, H, W, 3) uint8 -> (N-1,) mean |change| per consecutive pair, 0-255
    change_delays(labels, changes, fps)   # per scene change in the sound: seconds until the picture's class follows
"""
from __future__ import annotations

import numpy as np


def flicker(frames: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) uint8 consecutive frames -> (N-1,) the mean absolute change of every pixel value from the frame
    before (0-255 scale; 0 = a still picture)."""
    f = np.asarray(frames)
    if len(f) < 2:
        return np.zeros(0)
    out = np.empty(len(f) - 1)
    for i in range(1, len(f)):
        out[i - 1] = np.abs(f[i].astype(np.int16) - f[i - 1].astype(np.int16)).mean()
    return out


def change_delays(read: np.ndarray, changes: list[tuple[float, int]], fps: float, hold: int = 1) -> list[float]:
    """For each scene change (time in seconds, the new scene's class index) in the sound: the seconds from the change
    to the first frame from which `hold` consecutive frames are read as the new class (`read`: (N,) class index of
    each frame, frame k at k / fps). Negative when the picture changes before the sound's boundary (a centred window
    hears it coming); inf when it never follows before the next change."""
    read = np.asarray(read)
    out = []
    bounds = [t for t, _ in changes[1:]] + [len(read) / fps]
    for (t, cls), end in zip(changes, bounds):
        first, got = None, float("inf")
        lo = max(0, int(np.floor((t - 1.0) * fps)))  # look from a second before: a centred window hears it coming
        hi = min(len(read), int(np.ceil(end * fps)))
        run = 0
        for k in range(lo, hi):
            run = run + 1 if read[k] == cls else 0
            if run == 1:
                first = k
            if run >= hold:
                got = first / fps - t
                break
        out.append(got)
    return out
