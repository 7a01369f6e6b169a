"""a2i: learn to draw the scene you are in from what you hear (104 MFCC features -> an image).

Areas, lowest first; a module imports only from its own area or lower ones:
    core -> data -> eval -> model -> inference -> jobs -> media -> pipeline.py -> commands/, cli.py
"""
import os

# ONNX Runtime (the a2i[onnx] extra) sends usage telemetry to mobile.events.data.microsoft.com from a
# background thread once a session runs; a2i sends nothing anywhere a user did not ask for. Set here,
# before anything can import onnxruntime, and inherited by worker processes (Ray's included).
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")


def __getattr__(name: str) -> str:
    """`a2i_cli.__version__`, looked up on first use: importlib.metadata costs every a2i command 70 ms."""
    if name != "__version__":
        raise AttributeError(f"module 'a2i_cli' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    global __version__
    try:
        __version__ = version("a2i")
    except PackageNotFoundError:  # running from a source tree without install
        __version__ = "0.0.0+src"
    return __version__
