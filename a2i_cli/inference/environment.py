"""What is installed: the facts `a2i env` prints (also handy in bug reports)."""
from __future__ import annotations

import importlib.util
import platform
import sys

from .. import __version__


def _version_of(module: str) -> str:
    if importlib.util.find_spec(module) is None:
        return "not installed"
    try:
        mod = __import__(module)
        return str(getattr(mod, "__version__", "installed"))
    except Exception as e:  # importable spec but broken import
        return f"broken ({type(e).__name__}: {e})"


def environment_report() -> dict[str, str]:
    import torch

    from .ops import ops_status

    ops = ops_status()
    return {
        "a2i": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": torch.__version__,
        "threads": str(torch.get_num_threads()),
        "cuda": torch.cuda.is_available() and torch.cuda.get_device_name(0) or "not available",
        "c++ ops": ops,
        "ray": _version_of("ray"),
        "av (PyAV)": _version_of("av"),
        "numpy": _version_of("numpy"),
        "pandas": _version_of("pandas"),
        "scikit-image": _version_of("skimage"),
    }
