"""The tensors a training run reads, built once from a prepared folder (normalised features, uint8 images)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..data.prepared import Prepared


@dataclass
class TrainData:
    prepared: Prepared
    x_train: torch.Tensor  # (N, 104) float32, normalised with the training statistics
    y_train: torch.Tensor  # (N, S, S, 3) uint8
    x_test: np.ndarray  # (M, 104) float32, normalised
    y_test: np.ndarray  # (M, S, S, 3) uint8
    x_val: np.ndarray  # (V, 104) float32, normalised: the rows that choose best.pt (V may be 0)
    y_val: np.ndarray  # (V, S, S, 3) uint8
    train_labels: np.ndarray  # (N,) CLASS2 of the training rows
    test_rows: pd.DataFrame  # rows.csv lines of the test split
    classes: list[str]  # sorted CLASS2 labels of the training rows

    @classmethod
    def from_prepared(cls, data: Prepared) -> "TrainData":
        tr, te, va = data.indices("train"), data.indices("test"), data.indices("val")
        norm = data.norm
        train_labels = data.rows["CLASS2"].iloc[tr].to_numpy()
        return cls(
            prepared=data,
            x_train=torch.from_numpy(norm(data.features[tr])),
            y_train=torch.from_numpy(np.ascontiguousarray(data.images[tr])),
            x_test=norm(data.features[te]),
            y_test=np.ascontiguousarray(data.images[te]),
            x_val=norm(data.features[va]),
            y_val=np.ascontiguousarray(data.images[va]),
            train_labels=train_labels,
            test_rows=data.rows.iloc[te],
            classes=sorted(pd.unique(train_labels)),
        )

    @property
    def target_sharpness(self) -> float:
        """Mean sharpness (gradient magnitude) of the real test images, computed once."""
        if not hasattr(self, "_target_sharpness"):
            from ..eval.metrics import sharpness

            self._target_sharpness = float(sharpness(self.y_test).mean())
        return self._target_sharpness

    @property
    def test_labels(self) -> list[str]:
        return list(self.test_rows["CLASS2"])

    @property
    def y_class(self) -> torch.Tensor:
        """(N,) int64 index of each training row's class in `classes`."""
        index = {c: i for i, c in enumerate(self.classes)}
        return torch.tensor([index[c] for c in self.train_labels])
