"""A small CNN scene classifier, trained offline on the prepared training images' CLASS2.

It answers the question SSIM cannot: does the generated picture show the class of its
audio? `class_accuracy` reports how often a generated image is classified as the class of
its audio, beside the classifier's own accuracy on the real test images (its ceiling).
Trained once per prepared folder and cached there as classifier.pt; no downloaded weights.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..core.atomic import atomic_path
from ..core.errors import UserError, short
from ..data.prepared import Prepared
from .safe_load import load_plain

CLS_SIZE = 32  # images are classified at 32x32: enough for scene layout and colour, fast on a CPU


class SceneCNN(nn.Module):
    def __init__(self, n_classes: int):
        super().__init__()

        def block(cin, cout):
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2))

        self.features = nn.Sequential(block(3, 32), block(32, 64), block(64, 128))  # (B, 128, 4, 4)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(128 * 16, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))  # (B, 3, 32, 32) -> (B, n_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, 32, 32) -> (B, 128): the last conv block's features, averaged over the 4x4 positions."""
        return self.features(x).mean((2, 3))


def _to_input(images: np.ndarray) -> torch.Tensor:
    """(B, S, S, 3) uint8 -> (B, 3, 32, 32) float in [-1, 1] (area downsampling)."""
    x = torch.from_numpy(np.array(images, copy=True)).permute(0, 3, 1, 2).float().div(127.5).sub(1)
    return F.adaptive_avg_pool2d(x, CLS_SIZE) if x.shape[-1] != CLS_SIZE else x


@dataclass
class Classifier:
    model: SceneCNN
    classes: list[str]
    test_accuracy: float  # on the real test images

    @torch.inference_mode()
    def predict(self, images: np.ndarray, batch: int = 256) -> np.ndarray:
        self.model.eval()
        out = [self.model(_to_input(images[i : i + batch])).argmax(1).numpy() for i in range(0, len(images), batch)]
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)

    @torch.inference_mode()
    def features(self, images: np.ndarray, batch: int = 256) -> np.ndarray:
        """(N, S, S, 3) uint8 -> (N, 128) float64: what the Fréchet distance (eval/frechet.py) compares."""
        self.model.eval()
        out = [self.model.embed(_to_input(images[i : i + batch])).double().numpy() for i in range(0, len(images), batch)]
        return np.concatenate(out) if out else np.zeros((0, 128))

    def accuracy(self, images: np.ndarray, labels: list[str]) -> float:
        idx = {c: i for i, c in enumerate(self.classes)}
        y = np.array([idx.get(c, -1) for c in labels])
        return float((self.predict(images) == y).mean()) if len(y) else float("nan")


def train_classifier(data: Prepared, epochs: int = 15, seed: int = 0) -> Classifier:
    """Train on the training split; leaves the global torch RNG untouched."""
    with torch.random.fork_rng():
        return _train_classifier(data, epochs, seed)


def _train_classifier(data: Prepared, epochs: int, seed: int) -> Classifier:
    classes = sorted(data.rows["CLASS2"].unique())
    idx = {c: i for i, c in enumerate(classes)}
    tr, te = data.indices("train"), data.indices("test")
    x = torch.cat([_to_input(data.images[tr[i : i + 512]]) for i in range(0, len(tr), 512)])
    y = torch.tensor([idx[c] for c in data.rows["CLASS2"].iloc[tr]])
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = SceneCNN(len(classes))
    opt = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-4)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), 64):
            b = perm[i : i + 64]
            if len(b) < 2:
                continue
            xb = x[b]
            flip = torch.rand(len(b), generator=g) < 0.5  # horizontal flips: scenes are mirror-symmetric
            xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
            loss = F.cross_entropy(model(xb), y[b])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    clf = Classifier(model.eval(), classes, float("nan"))
    clf.test_accuracy = clf.accuracy(np.asarray(data.images[te]), list(data.rows["CLASS2"].iloc[te]))
    return clf


def _from_blob(blob) -> Classifier:
    """The classifier a classifier.pt holds; KeyError, TypeError, ValueError or RuntimeError when it holds none."""
    if not isinstance(blob, dict):  # a bare tensor or list: indexing it by name would fail in other ways
        raise TypeError(f"it holds a {type(blob).__name__}, not a2i's dictionary")
    classes = blob["classes"]
    if not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) for c in classes):
        raise ValueError("its classes are not a list of 2+ names")
    model = SceneCNN(len(classes))
    model.load_state_dict(blob["state_dict"])
    return Classifier(model.eval(), classes, float(blob["test_accuracy"]))


def load_classifier(path: Path) -> Classifier:
    """A scene classifier a2i cached (runs/prepare/<name>/classifier.pt); a one-line UserError for anything else."""
    blob = load_plain(path, "scene classifier")
    try:
        return _from_blob(blob)
    except (KeyError, RuntimeError, TypeError, ValueError) as e:
        why = f"it has no {e.args[0]!r} entry" if isinstance(e, KeyError) and e.args else f"{type(e).__name__}: {short(e, 100)}"
        raise UserError(f"scene classifier {path} is not a classifier.pt a2i wrote ({why}); "
                        "pass runs/prepare/<name>/classifier.pt of a prepared folder with 2+ classes")


def _cached(path: Path, classes: list[str], depends_on: str, log) -> Classifier | None:
    """The classifier in `path` when it is a clean cache of this data and these classes, else None (said why)."""
    try:
        blob = load_plain(path, "cached classifier")
    except UserError as e:
        if log:
            log(f"not using {path}: {e}; training a new one")
        return None
    if not isinstance(blob, dict) or blob.get("classes") != classes or blob.get("depends_on") != depends_on:
        return None  # made for other data, another split or an older a2i: stale
    try:
        return _from_blob(blob)
    except (KeyError, RuntimeError, TypeError, ValueError):
        return None


def load_or_train_classifier(data: Prepared, log=None) -> Classifier | None:
    """The cached classifier of a prepared folder, trained on first use; None for one class.

    The cache records the fingerprint of the data and split it was trained on; when the
    folder is prepared again the cache no longer matches and a new classifier is trained."""
    classes = sorted(data.rows["CLASS2"].unique())
    if len(classes) < 2:
        return None
    path = Path(data.path) / "classifier.pt"
    depends_on = data.fingerprint
    if path.is_file() and (clf := _cached(path, classes, depends_on, log)) is not None:
        return clf
    if log:
        log(f"training the scene classifier on {len(data.indices('train'))} training images (cached in {path})")
    clf = train_classifier(data)
    with atomic_path(path) as tmp:
        torch.save({"classes": classes, "state_dict": clf.model.state_dict(), "test_accuracy": clf.test_accuracy,
                    "depends_on": depends_on}, tmp)
    return clf
