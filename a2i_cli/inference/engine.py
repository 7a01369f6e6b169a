"""Inference engines behind one interface: how a model runs (eager, fused C++ decoder, torch.export, ONNX Runtime).

    engine = load_engine(ckpt_path, engine="auto")
    imgs = engine.generate(raw_feats)   # (B, 104) raw MFCC float32 -> (B, S, S, 3) uint8
    engine.name                         # the engine that actually runs ("eager", ...)
    engine.source                       # the file the model came from
    engine.choice                       # a few words for summaries: "auto: <why>", the fused kernels, or ""

Engines:
    eager   the checkpoint's nn.Module in eval mode (the reference)
    export  a torch.export program (`a2i export` writes one as .pt2; normalisation and
            uint8 conversion are baked into the graph, the config travels as extra file)
    fused   the encoders as matrix products (fast_encoder.py), the decoder as one C++ op
            (a2i::decoder) with the BatchNorms folded into the convolutions, writing uint8 HWC directly
    onnx    the checkpoint exported to ONNX in memory when the engine is made (a few seconds),
            run by an ONNX Runtime session with as many threads as torch has in the process
            that runs it (one per worker); needs the a2i[onnx] extra (onnx_export.py)
    auto    the fastest of eager, fused and onnx on this CPU (those that can run here; measured
            once per machine, see auto.py); engine.choice says which and why

Raw features are normalised with the statistics stored in the checkpoint, so callers
never normalise themselves. `engine.recipe` is the feature recipe the model was trained on:
whoever turns audio into features for it (generate AUDIO, animate) uses that recipe.
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import torch

from ..core.config import Engine as EngineName
from ..core.config import ModelConfig, choice
from ..core.errors import UserError
from ..data.features import FeatureRecipe, recipe_from_dict
from ..data.normalize import Normalizer
from ..model.checkpoint import Loaded, load_checkpoint
from ..model.network import LEAKY_SLOPE, to_uint8
from . import onnx_export, ops
from .auto import AutoChoice, auto_engine
from .fold import fold_decoder  # noqa: F401  (also imported from here by tests and benchmarks)
from .fast_encoder import FastEncoder
from .export import export_program, load_program


class Engine:
    name = "base"

    def __init__(self, cfg: ModelConfig, norm: Normalizer, source: Path | None, recipe: FeatureRecipe):
        self.cfg = cfg
        self.norm = norm
        self.recipe = recipe  # how audio becomes this model's 104 features
        self.image_size = cfg.image_size
        self.source = source  # the file the model came from, for messages and records
        self.choice = ""  # for summaries: why this engine (auto), which kernels (fused)

    draws_latents = False  # eager, fused: encode() and draw() split the model at its latent (animate --smooth)

    def _forward_uint8(self, feats: torch.Tensor) -> torch.Tensor:
        """(B, 104) normalised float32 -> (B, S, S, 3) uint8."""
        raise NotImplementedError

    def _draw_uint8(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent) decoder input (class code added) -> (B, S, S, 3) uint8."""
        raise NotImplementedError

    def _normalised(self, raw_feats: np.ndarray) -> torch.Tensor:
        raw = np.asarray(raw_feats, dtype=np.float32)
        if raw.ndim == 1:
            raw = raw[None]
        if raw.ndim != 2 or raw.shape[1] != self.cfg.n_features:
            raise UserError(f"expected features of shape (B, {self.cfg.n_features}), got {tuple(raw.shape)}")
        return torch.from_numpy(self.norm(raw))

    def generate(self, raw_feats: np.ndarray) -> np.ndarray:
        feats = self._normalised(raw_feats)
        with torch.inference_mode():
            return self._forward_uint8(feats).numpy()

    def encode(self, raw_feats: np.ndarray) -> np.ndarray:
        """(B, 104) raw features -> (B, latent) float32 mean latents, before any class code (engines that draw latents)."""
        if not self.draws_latents:
            raise UserError(f"engine {self.name} runs from features to images in one piece; use eager or fused")
        feats = self._normalised(raw_feats)
        with torch.inference_mode():
            return self._mean(feats).numpy()

    def _mean(self, feats: torch.Tensor) -> torch.Tensor:
        """(B, 104) normalised -> (B, latent) mean latents (engines that draw latents)."""
        return self.model.encode(feats)[0]

    def draw(self, latents: np.ndarray) -> np.ndarray:
        """(B, latent) mean latents (from encode(), maybe averaged) -> (B, S, S, 3) uint8; the class code of the class
        each latent predicts is added first, as generate() does: draw(encode(x)) == generate(x)."""
        if not self.draws_latents:
            raise UserError(f"engine {self.name} runs from features to images in one piece; use eager or fused")
        mu = torch.from_numpy(np.ascontiguousarray(latents, dtype=np.float32))
        with torch.inference_mode():
            return self._draw_uint8(self.model.with_code(mu).contiguous()).numpy()


class EagerEngine(Engine):
    """The reference: the checkpoint's nn.Module in eval mode."""

    name = "eager"
    draws_latents = True

    def __init__(self, loaded: Loaded):
        super().__init__(loaded.cfg, loaded.norm, loaded.path, loaded.recipe)
        self.model = loaded.model

    def _forward_uint8(self, feats: torch.Tensor) -> torch.Tensor:
        return to_uint8(self.model(feats))

    def _draw_uint8(self, z: torch.Tensor) -> torch.Tensor:
        return to_uint8(self.model.decoder(z))


class FusedEngine(Engine):
    """PyTorch encoder + the whole decoder as one C++ op writing uint8 HWC."""

    name = "fused"
    draws_latents = True

    def __init__(self, loaded: Loaded, option: str = "--engine"):
        super().__init__(loaded.cfg, loaded.norm, loaded.path, loaded.recipe)
        if not ops.has_ops():
            raise UserError(f"{option} fused needs the C++ ops, which did not load ({ops.ops_reason()}); {ops.BUILD_HINT}")
        weights, self.biases = fold_decoder(loaded.model)
        self.weights = [ops.pack_weight(w) for w in weights]  # packed once, reused every call
        self.model = loaded.model
        self.fast = FastEncoder(loaded.model)  # the encoders as matrix products (fast_encoder.py)
        note = ops.isa_request_note()  # an A2I_ISA this CPU cannot run is said where the work is reported
        self.choice = f"{ops.isa()} kernels" + (f"; {note}" if note else "")

    def _forward_uint8(self, feats: torch.Tensor) -> torch.Tensor:
        z = self.fast.latent(feats).contiguous()  # (B, latent): the mean latent for a VAE (+ its class code)
        return self._draw_uint8(z)

    def _mean(self, feats: torch.Tensor) -> torch.Tensor:
        return self.fast.mean(feats)

    def _draw_uint8(self, z: torch.Tensor) -> torch.Tensor:
        return ops.decoder(z, self.weights, self.biases, LEAKY_SLOPE, True)  # (B, S, S, 3) uint8


class ExportEngine(Engine):
    """A torch.export program: raw features in, uint8 images out (normalisation baked in)."""

    name = "export"

    def __init__(self, program: torch.nn.Module, cfg: ModelConfig, meta: dict, path: Path | None = None):
        # the normalisation is in the graph: the engine's own is the identity
        super().__init__(cfg, Normalizer.identity(cfg.n_features), path or Path(meta.get("source", "?")),
                         recipe_from_dict(meta.get("feature_recipe"), str(path or "exported program")))
        self.meta = meta
        self.program = program

    def _forward_uint8(self, feats: torch.Tensor) -> torch.Tensor:
        return self.program(feats)


class OnnxEngine(Engine):
    """The checkpoint as an ONNX graph (normalisation and uint8 conversion inside) run by ONNX Runtime."""

    name = "onnx"

    def __init__(self, loaded: Loaded, option: str = "--engine"):
        onnx_export.require_onnx(f"{option} onnx")
        # the normalisation is in the graph: the engine's own is the identity
        super().__init__(loaded.cfg, Normalizer.identity(loaded.cfg.n_features), loaded.path, loaded.recipe)
        self.onnx_bytes = onnx_export.onnx_model(loaded).SerializeToString()  # the serialised ONNX model
        self.meta = {**(getattr(self, "meta", None) or {}), "norm": loaded.norm.to_dict()}  # for recipe_check
        self.choice = f"ONNX Runtime {onnx_export.ort_version()}"
        # one session per (process, threads), made on first use: a worker forked from the process that made
        # the engine gets its own, sized to its threads; sessions of other processes are kept, never destroyed
        # (their threads do not exist here)
        self._sessions: dict[tuple[int, int], object] = {}

    def session(self):
        key = (os.getpid(), torch.get_num_threads())
        if key not in self._sessions:
            self._sessions[key] = onnx_export.new_session(self.onnx_bytes, threads=key[1])
        return self._sessions[key]

    def _forward_uint8(self, feats: torch.Tensor) -> torch.Tensor:
        out = self.session().run(None, {onnx_export.INPUT: feats.contiguous().numpy()})[0]
        return torch.from_numpy(out)  # (B, S, S, 3) uint8


def is_program(path: Path) -> bool:
    """True for a torch.export archive: by its content when the file can be read, else by the suffix."""
    if not Path(path).is_file():  # a pipe or a device is never opened here (zipfile would read it for ever)
        return Path(path).suffix.lower() == ".pt2"
    try:
        with zipfile.ZipFile(path) as archive:
            return any(n.endswith("/archive_format") for n in archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return Path(path).suffix.lower() == ".pt2"


def load_engine(ckpt: Path, engine: str = "auto", option: str = "--engine", latents: bool = False) -> Engine:
    """A checkpoint (.pt) or an exported program (.pt2) -> an Engine running `engine`.

    `option` is the CLI option that chose the engine, named in error messages. latents=True: auto picks among
    the engines that draw latents (fused, eager), for callers that change the latent (animate --smooth)."""
    engine = choice(EngineName, engine, option)
    if is_program(ckpt):
        if engine not in (EngineName.auto, EngineName.export):
            raise UserError(
                f"{ckpt} is an exported program (.pt2), which only runs with {option} export; "
                f"pass the .pt checkpoint for {option} {engine}"
            )
        program, cfg, meta = load_program(ckpt)
        return ExportEngine(program, cfg, meta, Path(ckpt))
    loaded = load_checkpoint(ckpt)
    if engine == EngineName.export:
        ep = export_program(loaded)
        meta = {"source": str(ckpt), "feature_recipe": loaded.recipe.to_dict()}
        return ExportEngine(ep.module(), loaded.cfg, meta, Path(ckpt))
    if engine == EngineName.fused:
        return FusedEngine(loaded, option)
    if engine == EngineName.onnx:
        return OnnxEngine(loaded, option)
    if engine == EngineName.auto:
        picked = auto_engine(loaded.cfg.image_size, loaded.cfg.latent)
        if latents and picked.engine == "onnx":  # the fastest of those that draw latents
            fused = picked.speedups.get("fused") or 0.0
            picked = AutoChoice("fused" if fused >= 1.0 else "eager",
                                f"{picked.reason}; ONNX Runtime cannot draw averaged latents, so "
                                + (f"fused ({fused:.1f}x eager)" if fused >= 1.0 else "eager"))
        made = {"fused": FusedEngine, "onnx": OnnxEngine}
        eng = made[picked.engine](loaded, option) if picked.engine in made else EagerEngine(loaded)
        note = ops.isa_request_note()
        eng.choice = f"auto: {picked.reason}" + (f"; {note}" if note else "")
        return eng
    return EagerEngine(loaded)
