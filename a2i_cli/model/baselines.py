"""What a model must beat, scored on the same test rows: the mean training image and the class-mean oracle.

The oracle draws the mean training image of the row's own class: it knows the label, so
a model beating it draws more than the class. With a scene classifier, every score set
also says how often its images show the class of their audio (`class_acc`) and how far the
set of images is from the real test images as a whole (`fd`, the Fréchet distance of the
classifier's features, eval/frechet.py; lower is better).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..eval.frechet import FeatureStats, frechet_of_images
from ..eval.metrics import score_batch, sharpness
from .classifier import Classifier
from .train_data import TrainData

SCORES = ("ssim", "hist", "mse", "psnr", "sharpness", "class_acc", "fd")


def mean_image(images: np.ndarray, chunk: int = 256) -> np.ndarray:
    """The mean of (N, S, S, 3) uint8 images, rounded: (S, S, 3) uint8."""
    acc = np.zeros(images.shape[1:], dtype=np.float64)
    for i in range(0, len(images), chunk):
        acc += images[i : i + chunk].sum(axis=0, dtype=np.float64)
    return np.round(acc / len(images)).astype(np.uint8)


def image_scores(gen: np.ndarray, tgt: np.ndarray, chunk: int = 64) -> dict[str, float]:
    """Mean SSIM, hist, MSE and PSNR of (N, S, S, 3) uint8 pairs."""
    parts = [score_batch(gen[i : i + chunk], tgt[i : i + chunk]) for i in range(0, len(gen), chunk)]
    return {k: float(np.mean(np.concatenate([p[k] for p in parts]))) for k in parts[0]}


def test_scores(gen: np.ndarray, data: TrainData, classifier: Classifier | None,
                real: FeatureStats | None = None) -> dict[str, float]:
    """Scores of images drawn for the test rows, with class accuracy and the Fréchet distance to the real
    test images when a classifier is given (`real`: its features' stats of data.y_test, computed when None).

    `sharpness` is the mean gradient magnitude of the images over that of the real test
    images (eval/metrics.py; 1.0 = as sharp as the targets)."""
    out = image_scores(gen, data.y_test)
    out["sharpness"] = float(sharpness(gen).mean()) / max(data.target_sharpness, 1e-12)
    out["class_acc"] = classifier.accuracy(gen, data.test_labels) if classifier else float("nan")
    fd = classifier is not None and len(gen) > 0
    out["fd"] = frechet_of_images(gen, data.y_test if real is None else real, classifier.features) if fd else float("nan")
    return out


@dataclass
class Baselines:
    mean_image: np.ndarray  # (S, S, 3) uint8
    baseline: dict[str, float]  # the mean training image on every test row
    oracle: dict[str, float]  # the mean training image of each row's own class
    real_class_acc: float  # the classifier on the real test images (its ceiling); NaN without one
    real_stats: FeatureStats | None = None  # the classifier's features of the real test images (for `fd`)
    real_train_fd: float = float("nan")  # FD of the real training images to the real test images: real vs real

    @classmethod
    def compute(cls, data: TrainData, classifier: Classifier | None) -> "Baselines":
        train = data.y_train.numpy()
        base = mean_image(train)
        class_means = {c: mean_image(train[data.train_labels == c]) for c in np.unique(data.train_labels)}
        oracle = np.stack([class_means.get(c, base) for c in data.test_labels])
        real = FeatureStats.of(classifier.features(data.y_test)) if classifier and len(data.y_test) else None
        return cls(
            mean_image=base,
            baseline=test_scores(np.broadcast_to(base, data.y_test.shape).copy(), data, classifier, real),
            oracle=test_scores(oracle, data, classifier, real),
            real_class_acc=classifier.test_accuracy if classifier else float("nan"),
            real_stats=real,
            real_train_fd=frechet_of_images(train, real, classifier.features) if real is not None else float("nan"),
        )
