"""Shared fixtures: a tiny dataset in the scene schema, made in tmp_path."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from a2i_cli import FEATURE_COLUMNS  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"

# class -> (CLASS1, folders, rows per folder)
TINY_LAYOUT = {"BEACH": ("OUTDOORS", ["beach", "beach2", "beach3"], 8), "FOREST": ("OUTDOORS", ["forest"], 16)}


def make_tiny_dataset(root: Path, size: int = 32, seed: int = 0, layout=TINY_LAYOUT) -> Path:
    """Rows whose image colour follows the first features, grouped by folder like the real data."""
    rng = np.random.default_rng(seed)
    records = []
    for cls, (c1, folders, n) in layout.items():
        for folder in folders:
            (root / "images" / folder).mkdir(parents=True, exist_ok=True)
            for t in range(n):
                feats = rng.normal(0, 10, 104).astype(np.float32)
                colour = np.clip(128 + 4 * feats[:3], 0, 255).astype(np.uint8)
                img = np.empty((size, size, 3), np.uint8)
                img[:] = colour
                img[size // 2 :, :, :] //= 2
                rel = f"images/{folder}/{folder}{t}.png"
                Image.fromarray(img).save(root / rel)
                records.append({"IMAGE": rel, **dict(zip(FEATURE_COLUMNS, feats.tolist())), "CLASS1": c1, "CLASS2": cls})
    pd.DataFrame(records, columns=["IMAGE", *FEATURE_COLUMNS, "CLASS1", "CLASS2"]).to_csv(root / "dataset.csv", index=False)
    return root


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    return make_tiny_dataset(tmp_path / "data")


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch) -> Path:
    """Run in a fresh current folder, so runs/ lands in tmp_path."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def prepared(tiny_data, in_tmp) -> Path:
    """The tiny dataset prepared at 32 px, all classes, as runs/prepare/p."""
    from typer.testing import CliRunner

    from a2i_cli.cli import app

    r = CliRunner().invoke(app, ["prepare", "--data", str(tiny_data), "--class", "all", "--image-size", "32", "--name", "p"])
    assert r.exit_code == 0, r.output
    return in_tmp / "runs/prepare/p"
