"""The choices of the options (enums, so `--help` lists them and a bad value is refused before any work)."""
from __future__ import annotations

from enum import StrEnum


class Engine(StrEnum):
    """How a model runs."""

    auto = "auto"  # the fastest of eager, fused and onnx measured on this CPU (inference/auto.py)
    eager = "eager"  # the checkpoint's nn.Module (the reference)
    fused = "fused"  # the decoder as one C++ op
    export = "export"  # a torch.export program
    onnx = "onnx"  # the model exported to ONNX in memory, run by ONNX Runtime (the a2i[onnx] extra)


class ExportFormat(StrEnum):
    """What `a2i export` writes."""

    pt2 = "pt2"  # a torch.export archive: runs with torch alone (--engine export)
    onnx = "onnx"  # an ONNX model: runs with onnxruntime alone, no torch (needs the a2i[onnx] extra to write)


class Backend(StrEnum):
    """Where work runs."""

    auto = "auto"  # ray with a cluster address, in-process for small jobs, else local
    local = "local"  # one process per core on this machine
    ray = "ray"  # Ray actors (a private local instance, or --ray-address)


class SplitMethod(StrEnum):
    source = "source"  # whole source folders on one side (no leakage)
    random = "random"  # the student project's random protocol (leaks)


class Window(StrEnum):  # where a row's 8 feature windows sit in its audio (data/features.py)
    second = "second"  # spread over one fixed second (the Kaggle recipe; videos, demo data)
    sound = "sound"  # spread over the recording's sound, leading and trailing silence trimmed


class Arch(StrEnum):
    auto = "auto"  # training: a2i with its recipe on data with 2+ classes, seed on one class
    seed = "seed"  # the student project's MLP encoder
    a2i = "a2i"  # temporal encoder over the 8 x 13 frames


class Schedule(StrEnum):  # the learning rate over the epochs: constant, or half a cosine from --lr to 0
    constant, cosine = "constant", "cosine"


class Loss(StrEnum):
    mse = "mse"
    mse_ssim = "mse+ssim"


class Device(StrEnum):
    auto, cpu, cuda = "auto", "cpu", "cuda"


class ImageFormat(StrEnum):
    png, jpg, webp = "png", "jpg", "webp"
