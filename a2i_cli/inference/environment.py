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

    from .cpu import cpu_features, cpu_name
    from .onnx_export import onnx_status
    from .ops import ops_status

    ops = ops_status()
    return {
        "a2i": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": torch.__version__,
        "threads": str(torch.get_num_threads()),
        "cuda": torch.cuda.is_available() and torch.cuda.get_device_name(0) or "not available",
        "cpu": f"{cpu_name()} ({', '.join(cpu_features()) or 'no SIMD flags listed'})",
        "c++ ops": ops,
        "onnx engine": onnx_status(),
        "engine auto": auto_line(),
        "ray": _version_of("ray"),
        "av (PyAV)": _version_of("av"),
        "numpy": _version_of("numpy"),
        "pandas": _version_of("pandas"),
        "scikit-image": _version_of("skimage"),
    }


def auto_line() -> str:
    """What --engine auto runs for the default 256x256 model here, and why (measured once, then cached)."""
    from ..core.config import ModelConfig
    from .auto import auto_engine, cache_path

    cfg = ModelConfig()
    try:
        picked = auto_engine(cfg.image_size, cfg.latent)
        if picked.remembered:
            note = f" (remembered in {cache_path()}; delete it to measure again)"
        elif not picked.speedups or "not remembered" in picked.reason:  # nothing measured, or the reason says why
            note = ""
        else:
            note = f" (could not be saved in {cache_path()}: measured again next time)"
        return f"{picked.engine} for {cfg.image_size}x{cfg.image_size} models: {picked.reason}{note}"
    except Exception as e:  # a report must not fail
        return f"could not measure ({type(e).__name__}: {e})"
