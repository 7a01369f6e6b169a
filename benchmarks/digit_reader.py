"""An independent digit reader for the spoken-digit benchmark: a small CNN trained on MNIST digits
that are NOT targets of the dataset, used only to read generated images.

The spoken-digit dataset (examples/spoken_digits.py) pairs each recording with one MNIST
digit from ../shared/data/mnist/mnist_digits_a.npz and keeps it as OUT/sources/mnist/mnist_NNNN.png;
the reader trains on the other digits of the file (about 3,000 of 5,000), so it has never
seen a target, and the model being scored never sees the reader. A generated image is read
as grey levels (mean of RGB), area-resized to 28 x 28.

    reader = DigitReader.train(npz, exclude=used_indices(dataset_dir))
    reader.accuracy(images_uint8_BxSxSx3, digits)      # share read as the spoken digit
    reader.features(images_uint8_BxSxSx3)              # (B, 128) for the Fréchet distance
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

DIGITS = ["ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE"]


def used_indices(dataset: Path) -> set[int]:
    """The MNIST indices a spoken-digit dataset uses as targets (its sources/mnist/mnist_NNNN.png)."""
    return {int(m.group(1)) for p in Path(dataset, "sources", "mnist").glob("*.png")
            if (m := re.fullmatch(r"mnist_(\d+)\.png", p.name))}


def to_input(images: np.ndarray) -> torch.Tensor:
    """(B, S, S, 3) or (B, S, S) uint8 -> (B, 1, 28, 28) float in [0, 1] (area resize)."""
    x = torch.from_numpy(np.asarray(images, dtype=np.float32) / 255.0)
    if x.ndim == 4:
        x = x.mean(-1)
    x = x[:, None]
    if x.shape[-1] != 28:
        x = F.interpolate(x, size=(28, 28), mode="area" if x.shape[-1] > 28 else "bilinear", align_corners=None)
    return x


class ReaderCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 32, 14, 14)
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 64, 7, 7)
            nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 49, 128), nn.ReLU(), nn.Linear(128, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, 1, 28, 28) -> (B, 10)


@dataclass
class DigitReader:
    model: ReaderCNN
    trained_on: int  # MNIST digits it learnt from
    held_out_accuracy: float  # on MNIST digits it did not learn from (the dataset's targets when given)

    @classmethod
    def train(cls, npz: Path, exclude: set[int], epochs: int = 8, seed: int = 0) -> "DigitReader":
        """Train on the digits of `npz` whose index is not in `exclude`; score it on the excluded ones."""
        data = np.load(npz)
        images, labels = data["images"], data["labels"].astype(np.int64)
        keep = np.array([i not in exclude for i in range(len(images))])
        x, y = to_input(images[keep]), torch.from_numpy(labels[keep])
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            model = ReaderCNN()
            opt = torch.optim.Adam(model.parameters(), 1e-3)
            for _ in range(epochs):
                model.train()
                perm = torch.randperm(len(x))
                for i in range(0, len(x), 64):
                    b = perm[i : i + 64]
                    dx, dy = torch.randint(-2, 3, (2,)).tolist()  # small shifts: handwriting is not centred alike
                    xb = torch.roll(x[b], shifts=(dy, dx), dims=(2, 3))
                    loss = F.cross_entropy(model(xb), y[b])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
        reader = cls(model.eval(), int(keep.sum()), float("nan"))
        if (~keep).any():
            reader.held_out_accuracy = float((reader.predict(images[~keep]) == labels[~keep]).mean())
        return reader

    @torch.inference_mode()
    def predict(self, images: np.ndarray, batch: int = 512) -> np.ndarray:
        """(B, S, S[, 3]) uint8 -> (B,) digits."""
        return np.concatenate([self.model(to_input(images[i : i + batch])).argmax(1).numpy()
                               for i in range(0, len(images), batch)])

    @torch.inference_mode()
    def features(self, images: np.ndarray, batch: int = 512) -> np.ndarray:
        """(B, S, S[, 3]) uint8 -> (B, 128) float64: the hidden layer before the digit logits (for the Fréchet distance)."""
        self.model.eval()
        return np.concatenate([self.model.net[:-1](to_input(images[i : i + batch])).double().numpy()
                               for i in range(0, len(images), batch)])

    def accuracy(self, images: np.ndarray, digit_names: list[str]) -> float:
        """Share of images read as their digit (names ZERO..NINE, as CLASS2)."""
        want = np.array([DIGITS.index(d) for d in digit_names])
        return float((self.predict(images) == want).mean())
