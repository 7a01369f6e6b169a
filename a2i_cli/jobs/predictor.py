"""The batch-generate worker: builds the model once from its bytes, turns each batch of features into images.

    Predictor(model_bytes, "model.pt", out)({"row": (B,) int64, "feats": (B, 104) float32})
        -> {"row": (B,), "path": [B relative paths], "engine": the engine that ran,
            "choice": why that engine (auto) or which kernels (fused), else "",
            "data": [B encoded images]  (only with deliver="return")}

Images are named OUT/images/<row // 1000, 6 digits>/<row, 9 digits>.<ext> (1000 files per
folder, so a million rows never make one huge folder). With deliver="write" the worker
writes them (atomically) under OUT, a local folder or a URI; with deliver="return" it
sends the encoded bytes back and the driver writes them: a worker node then needs no path
of the driver's at all. A worker that sees the driver's very OUT folder (same kernel, same
device and inode: on the driver's node, or on a shared mount) writes its images itself even
then, which spares the driver the bytes (`out_identity`).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from ..core.atomic import write_into
from ..core.errors import UserError
from ..core.images import encode
from ..core.paths import PathOutside, inside
from ..core.storage import Location
from ..inference.engine import load_engine
from .batch_output import EXTENSIONS, image_relpath



def engine_from_bytes(model: bytes, name: str, engine: str, shown: str | None = None):
    """load_engine on a private temporary copy of the model file (all of its checks apply); messages
    name `shown` (the user's path or URI), not the copy."""
    with tempfile.TemporaryDirectory(prefix="a2i-model-") as tmp:
        path = Path(tmp) / Path(name).name
        path.write_bytes(model)
        try:
            return load_engine(path, engine, option="--engine")
        except UserError as e:
            raise UserError(str(e).replace(str(path), shown or name), e.code) from None


class Predictor:
    def __init__(self, model: bytes, model_name: str, out: str, engine: str = "auto", fmt: str = "png",
                 png_level: int = 1, quality: int = 90, deliver: str = "write", crash_once: str | None = None,
                 model_shown: str | None = None, out_identity: str | None = None, prebuilt=None):
        # prebuilt: the engine the driver built from these bytes, inherited through fork (never pickled)
        self.engine = prebuilt if prebuilt is not None else engine_from_bytes(model, model_name, engine, model_shown)
        self.out = Location.of(out)
        self.fmt, self.ext = str(fmt), EXTENSIONS[str(fmt)]
        self.png_level, self.quality = png_level, quality
        self.deliver = deliver
        if deliver == "return" and out_identity and self.out.is_local:
            try:
                if folder_identity(self.out.local) == out_identity:
                    self.deliver = "write"  # this process sees the driver's OUT itself
            except OSError:
                pass  # not here: another node
        self.crash_once = crash_once  # tests: this process kills itself once (marker file) to prove retries
        self._made: set[str] = set()  # shard folders (relative) checked and made

    def __call__(self, batch: dict[str, np.ndarray]) -> dict:
        if self.crash_once and not os.path.exists(self.crash_once):
            Path(self.crash_once).write_text(str(os.getpid()))
            os.kill(os.getpid(), 9)
        rows = np.asarray(batch["row"], dtype=np.int64)
        images = self.engine.generate(batch["feats"])  # (B, S, S, 3) uint8, under inference_mode
        paths = [image_relpath(row, self.ext) for row in rows.tolist()]
        data = [encode(img, self.fmt, self.png_level, self.quality) for img in images]
        result = {"row": rows, "path": paths, "engine": self.engine.name, "choice": self.engine.choice}
        if self.deliver == "return":
            result["data"] = data
        else:
            for rel, blob in zip(paths, data):
                write_image(self.out, rel, blob, self._made)
        return result


def folder_identity(folder: Path) -> str:
    """Equal for two processes only when they see the very same folder: this kernel's boot id, its device and inode."""
    st = os.stat(folder)
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:  # no procfs: the host name stands in
        import socket
        boot = socket.gethostname()
    return f"{boot}:{st.st_dev}:{st.st_ino}"


def write_image(out: Location, rel: str, blob: bytes, made: set) -> None:
    """OUT/rel = blob, atomically; a local shard folder is checked once not to lead outside OUT."""
    if out.is_uri and not out.is_local:
        out.child(rel).write_bytes(blob)
        return
    folder = rel.rpartition("/")[0]
    if folder not in made:
        _make_shard(out, rel)
        made.add(folder)
    try:
        write_into(os.path.join(str(out.local), rel), blob)
    except FileNotFoundError:  # the shard folder was removed meanwhile: make it again, once
        _make_shard(out, rel)
        write_into(os.path.join(str(out.local), rel), blob)


def _make_shard(out: Location, rel: str) -> None:
    """Make OUT/images/<shard>/, refusing links and files in the way and any folder that leads outside OUT."""
    path = out.local / rel
    for folder in (path.parent.parent, path.parent):  # OUT/images, OUT/images/000042
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise UserError(f"{folder} is {'a link' if folder.is_symlink() else 'a file'}, not the image folder "
                            "a2i makes; move it away or pass a new --out")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        inside(out.local, str(path.parent.relative_to(out.local)), what="image folder")  # no symlink out
    except PathOutside as e:
        raise UserError(f"{e}; remove that link or pass a new --out")
