"""ONNX: a checkpoint -> an ONNX graph (raw features in, uint8 images out) and ONNX Runtime sessions to run it.

    proto = onnx_model(loaded)            # onnx.ModelProto, in memory
    export_onnx(loaded, Path("m.onnx"))   # the same, written atomically
    sess = new_session(proto_bytes, threads=2)
    sess.run(None, {"raw": feats})[0]     # (B, 104) float32 -> (B, S, S, 3) uint8

The graph is RawToImage (raw_to_image.py) exported with torch.onnx.export(dynamo=True):
the normalisation and the uint8 conversion are inside, the batch axis is dynamic (named
"batch"), opset OPSET. The model's metadata_props say what a user of the file needs without
a2i: the a2i version, image size, feature recipe, class names, model config, and the input
and output in words. Exporting needs the packages onnx and onnxscript; running needs
onnxruntime; all three come with `pip install "a2i[onnx]"` and are imported only here.
"""
from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import warnings
from pathlib import Path

import torch

from .. import __version__
from ..core.atomic import write_bytes
from ..core.errors import UserError
from ..model.checkpoint import Loaded
from .raw_to_image import RawToImage

OPSET = 18
INPUT, OUTPUT = "raw", "image"
MAX_BATCH = 4096
HINT = 'pip install "a2i[onnx]"'
PACKAGES = ("onnxruntime", "onnx", "onnxscript")  # run, graph, torch.onnx's exporter


def missing_packages() -> list[str]:
    """Which of onnxruntime, onnx and onnxscript cannot be found (none imported: cheap)."""
    out = []
    for name in PACKAGES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a module set to None in sys.modules, a broken parent
            found = False
        if not found:
            out.append(name)
    return out


def has_onnx() -> bool:
    """True where the onnx engine can run here (the packages of the onnx extra are installed)."""
    return not missing_packages()


def onnx_reason() -> str:
    """Why the onnx engine cannot run here, in words ('' when it can)."""
    missing = missing_packages()
    if not missing:
        return ""
    return f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed"


def require_onnx(what: str) -> None:
    """A one-line UserError naming the extra when the onnx packages are missing; `what` needs them."""
    reason = onnx_reason()
    if reason:
        raise UserError(f"{what} needs ONNX Runtime and the ONNX exporter ({reason}); {HINT}")


def onnx_status() -> str:
    """For `a2i env`: whether --engine onnx and `a2i export --format onnx` work here."""
    reason = onnx_reason()
    if reason:
        return f"not available: {reason} ({HINT})"
    try:
        import onnxruntime  # cheap; onnx and onnxscript take seconds to import, their versions are read instead
    except Exception as e:  # installed but broken
        return f"not available: {type(e).__name__}: {e}"
    from importlib.metadata import PackageNotFoundError, version

    def of(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "?"

    return f"available (onnxruntime {onnxruntime.__version__}, onnx {of('onnx')}, onnxscript {of('onnxscript')})"


@contextlib.contextmanager
def _quiet():
    """torch.onnx's exporter warns about things that do not concern a2i (torchvision ops, deprecations)."""
    log = logging.getLogger("torch.onnx")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        log.setLevel(level)


def export_module(module: torch.nn.Module, n_inputs: int, input_name: str = INPUT, output_name: str = OUTPUT):
    """(B, n_inputs) float32 -> whatever `module` returns, as an onnx.ModelProto with a dynamic batch axis."""
    require_onnx("ONNX export")
    example = torch.zeros(2, n_inputs)
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    with _quiet(), torch.no_grad():
        program = torch.onnx.export(module.eval(), (example,), dynamo=True, verbose=False, opset_version=OPSET,
                                    input_names=[input_name], output_names=[output_name],
                                    dynamic_shapes={input_name: {0: batch}})
    return program.model_proto


def class_names(loaded: Loaded) -> list[str]:
    """The classes the model was trained on, sorted (the order of its class codes), or [] where not recorded."""
    classes = (loaded.meta.get("prepared") or {}).get("classes") if isinstance(loaded.meta.get("prepared"), dict) else None
    if isinstance(classes, (dict, list)):
        return sorted(str(c) for c in classes)
    return []


def metadata(loaded: Loaded, source: str) -> dict[str, str]:
    """The model's metadata_props: every value a string, the structured ones JSON."""
    size = loaded.cfg.image_size
    return {
        "a2i_version": __version__,
        "image_size": str(size),
        "feature_recipe": json.dumps(loaded.recipe.to_dict()),
        "class_names": json.dumps(class_names(loaded)),
        "model_config": json.dumps(loaded.cfg.to_dict()),
        "input": f"{INPUT}: (batch, {loaded.cfg.n_features}) float32, raw MFCC features mfcc_1..mfcc_"
                 f"{loaded.cfg.n_features} as a2i extract writes them (the normalisation is in the graph)",
        "output": f"{OUTPUT}: (batch, {size}, {size}, 3) uint8 RGB images",
        "source": source,
        "torch": torch.__version__,
    }


def onnx_model(loaded: Loaded, source: str | None = None):
    """The checkpoint's RawToImage as an onnx.ModelProto with a2i's metadata."""
    import onnx

    proto = export_module(RawToImage(loaded), loaded.cfg.n_features)
    proto.producer_name, proto.producer_version = "a2i", __version__
    proto.doc_string = "a2i: 104 MFCC audio features -> a picture of the scene they were heard in"
    onnx.helper.set_model_props(proto, metadata(loaded, source if source is not None else str(loaded.path)))
    return proto


def export_onnx(loaded: Loaded, out: Path) -> Path:
    """Write `out` (.onnx) from a loaded checkpoint; atomic like checkpoints."""
    return write_bytes(Path(out), onnx_model(loaded).SerializeToString())


def new_session(model: bytes, threads: int):
    """An ONNX Runtime CPU session over a serialised model, with `threads` intra-op threads (no spinning
    between calls: the worker's other work, encoding images, gets the cores)."""
    import onnxruntime as ort

    ort.disable_telemetry_events()  # and ORT_DISABLE_TELEMETRY (a2i_cli/__init__.py): nothing leaves the machine
    so = ort.SessionOptions()
    so.intra_op_num_threads = max(1, int(threads))
    so.inter_op_num_threads = 1
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.log_severity_level = 3  # errors only
    return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])


def ort_version() -> str:
    """ONNX Runtime's version, read from its metadata (no import: the engine cache key needs it cheaply)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("onnxruntime")
    except PackageNotFoundError:
        return "?"
