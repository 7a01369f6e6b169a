"""The whole job in one call (what `a2i demo` runs): data -> prepare -> train -> generate -> score."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from .engine import Engine
from .prepare import Prepared
from .viz import pair_grid, save_png


def generate_split(engine: Engine, prepared: Prepared, out: Path, split: str = "test", batch: int = 64) -> Path:
    """Generate an image for every row of a prepared split; write PNGs and manifest.csv.

    Files are named after the target's file name (forest0.png), manifest.csv holds
    row, path, IMAGE, CLASS1, CLASS2 so `a2i score` pairs them with the targets.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    idx = prepared.indices(split)
    rows = prepared.rows.iloc[idx]
    names = [Path(p).stem + ".png" for p in rows["IMAGE"]]
    if len(set(names)) != len(names):  # stems repeat across folders: fall back to row numbers
        names = [f"{r:08d}.png" for r in rows["row"]]
    for i in range(0, len(idx), batch):
        imgs = engine.generate(prepared.features[idx[i : i + batch]])
        for name, img in zip(names[i : i + batch], imgs):
            save_png(img, out / name, compress_level=1)
    manifest = pd.DataFrame({"row": rows["row"].to_numpy(), "path": names, "IMAGE": rows["IMAGE"].to_numpy(),
                             "CLASS1": rows["CLASS1"].to_numpy(), "CLASS2": rows["CLASS2"].to_numpy()})
    manifest.to_csv(out / ".manifest.csv.tmp", index=False)
    os.replace(out / ".manifest.csv.tmp", out / "manifest.csv")
    return out / "manifest.csv"


def comparison_picture(prepared: Prepared, generated: Path, out: Path, n: int = 16, split: str = "test") -> Path:
    """Targets beside generated images for n test rows spread over the split."""
    idx = prepared.indices(split)
    pick = idx[np.linspace(0, len(idx) - 1, min(n, len(idx))).round().astype(int)]
    manifest = pd.read_csv(Path(generated) / "manifest.csv", keep_default_na=False).set_index("row")
    from PIL import Image

    gens = []
    for r in prepared.rows["row"].iloc[pick]:
        with Image.open(Path(generated) / manifest.loc[r, "path"]) as im:
            gens.append(np.asarray(im.convert("RGB")))
    grid = pair_grid(np.asarray(prepared.images[pick]), np.stack(gens), labels=list(prepared.rows["CLASS2"].iloc[pick]))
    return save_png(grid, out)
