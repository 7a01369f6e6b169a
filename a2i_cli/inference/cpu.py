"""The CPU this process runs on, in words: for `a2i env`, speed claims and the auto engine's cache key.

    cpu_name()      "AMD EPYC 7B13" / "Apple M2" / the machine type when nothing better is known
    cpu_features()  the SIMD features that matter to the C++ kernels, e.g. ["avx2", "fma"]
"""
from __future__ import annotations

import functools
import platform
import re
from pathlib import Path

_FEATURES = ("avx512f", "avx512bw", "avx512dq", "avx512vl", "avx2", "fma", "sse2", "neon", "asimd", "sve")


@functools.lru_cache(maxsize=None)
def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return ""


@functools.lru_cache(maxsize=None)
def cpu_name() -> str:
    info = _cpuinfo()
    for key in ("model name", "Model", "Hardware", "cpu model"):
        m = re.search(rf"^{key}\s*:\s*(.+)$", info, re.MULTILINE)
        if m and m.group(1).strip():
            return m.group(1).strip()
    return platform.processor() or platform.machine() or "unknown CPU"


@functools.lru_cache(maxsize=None)
def cpu_features() -> list[str]:
    m = re.search(r"^(flags|Features)\s*:\s*(.+)$", _cpuinfo(), re.MULTILINE)
    have = set(m.group(2).split()) if m else set()
    return [f for f in _FEATURES if f in have]
