"""The scene dataset schema (docs DATASET.md): column names, and header checks with "did you mean" hints.

    IMAGE, mfcc_1 .. mfcc_104, CLASS1, CLASS2

IMAGE is a path relative to the dataset folder (`images/<source folder>/<file>.png`);
the 104 features are 8 windows x 13 MFCCs, frame-major. Rows are numbered from 1 (the
first data row); the CSV line is row + 1.
"""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Sequence

from ..core.config import N_COEFFS, N_FEATURES, N_FRAMES
from ..core.errors import UserError

__all__ = ["N_COEFFS", "N_FEATURES", "N_FRAMES", "FEATURE_COLUMNS", "REQUIRED", "KAGGLE_HINT", "check_columns", "suggest"]

FEATURE_COLUMNS = [f"mfcc_{i}" for i in range(1, N_FEATURES + 1)]
REQUIRED = ["IMAGE", *FEATURE_COLUMNS, "CLASS1", "CLASS2"]
SCENE_SCHEMA = "IMAGE, mfcc_1..mfcc_104, CLASS1, CLASS2"
MFCC_SCHEMA = "mfcc_1..mfcc_104 (lower case)"
KAGGLE_HINT = (
    "download the Kaggle dataset 'Scene classification: images and audio' (Bird et al.), unzip it "
    "so that DIR/dataset.csv and DIR/images/ exist, and pass DIR; or run `a2i demo` "
    "(or `a2i demo-data --out data`) for built-in demo data that works offline"
)


def suggest(name: str, options: Sequence[str]) -> str:
    """' (did you mean X?)' for a column that is close to one in `options`, else ''."""
    options = [o for o in options if o]
    lower = {o.lower(): o for o in options}
    if name.lower() in lower:
        return f" (found {lower[name.lower()]!r}: column names are case-sensitive)"
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_columns(columns: Sequence[str], path: Path, required: Sequence[str] = REQUIRED,
                  expected: str = SCENE_SCHEMA) -> None:
    """UserError naming the first missing column (with a hint), how many more, and the schema."""
    columns = [str(c).strip() for c in columns]
    missing = [c for c in required if c not in columns]
    if not missing:
        return
    extra = [c for c in columns if c not in required]
    first = missing[0]
    more = ""
    if len(missing) > 1:
        shown = ", ".join(missing[1:4]) + ("..." if len(missing) > 4 else "")
        more = f" and {len(missing) - 1} more ({shown})"
    raise UserError(f"{path}: missing column {first!r}{suggest(first, extra)}{more}; expected {expected}")
