"""The scene dataset schema: reading and validating `dataset.csv` and the images it names.

Schema (docs DATASET.md): columns `IMAGE, mfcc_1..mfcc_104, CLASS1, CLASS2`; IMAGE is a
path relative to the dataset root, `images/<source folder>/<file>.png`. Rows are numbered
from 1 (the first data row); the CSV line is row + 1.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from . import FEATURE_COLUMNS
from .errors import UserError

REQUIRED = ["IMAGE", *FEATURE_COLUMNS, "CLASS1", "CLASS2"]
KAGGLE_HINT = (
    "download the Kaggle dataset 'Scene classification: images and audio' (Bird et al.), unzip it "
    "so that DIR/dataset.csv and DIR/images/ exist, and pass --data DIR; or run `a2i demo` "
    "(or `a2i demo-data --out data`) for built-in demo data that works offline"
)


@dataclass
class BadRow:
    row: int  # 1-based data row
    reason: str


@dataclass
class SceneTable:
    root: Path
    csv: Path
    frame: pd.DataFrame  # IMAGE, CLASS1, CLASS2, folder, row (1-based), in file order
    features: np.ndarray  # (N, 104) float32, aligned with frame
    bad: list[BadRow] = field(default_factory=list)


def _suggest(name: str, options: list[str]) -> str:
    lower = {o.lower(): o for o in options}
    if name.lower() in lower:
        return f" (found {lower[name.lower()]!r}: column names are case-sensitive)"
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_columns(columns: list[str], csv: Path) -> None:
    missing = [c for c in REQUIRED if c not in columns]
    if not missing:
        return
    extra = [c for c in columns if c not in REQUIRED]
    first = missing[0]
    more = f" and {len(missing) - 1} more ({', '.join(missing[1:4])}{'...' if len(missing) > 4 else ''})" if len(missing) > 1 else ""
    raise UserError(
        f"{csv}: missing column {first!r}{_suggest(first, extra)}{more}; the scene schema is "
        "IMAGE, mfcc_1..mfcc_104, CLASS1, CLASS2"
    )


def _feature_problems(raw: pd.DataFrame) -> tuple[np.ndarray, dict[int, str]]:
    """Parse feature columns; return (N, 104) float32 and {row index: reason} for bad rows."""
    problems: dict[int, str] = {}
    cols = []
    for name in FEATURE_COLUMNS:
        col = raw[name]
        if col.dtype.kind not in "fiu":
            parsed = pd.to_numeric(col, errors="coerce")
            bad = parsed.isna() & col.notna()
            for i in np.flatnonzero(bad.to_numpy()):
                problems.setdefault(int(i), f"{name} is {str(col.iloc[i])!r}, not a number")
            col = parsed
        cols.append(col.to_numpy(dtype=np.float64, na_value=np.nan))
    feats = np.stack(cols, axis=1)
    nonfinite = ~np.isfinite(feats)
    for i in np.flatnonzero(nonfinite.any(axis=1)):
        if int(i) in problems:
            continue
        j = int(np.flatnonzero(nonfinite[i])[0])
        v = feats[i, j]
        what = "empty or NaN" if np.isnan(v) else "infinite"
        problems[int(i)] = f"{FEATURE_COLUMNS[j]} is {what}"
    return feats.astype(np.float32), problems


def _format_bad(csv: Path, bad: list[BadRow], what: str) -> str:
    head = bad[0]
    rows = ", ".join(str(b.row) for b in bad[:10]) + ("..." if len(bad) > 10 else "")
    more = f"; {len(bad)} bad rows in all (rows {rows})" if len(bad) > 1 else ""
    return f"{csv} row {head.row} (line {head.row + 1}): {head.reason}{more}; fix {what} or pass --skip-bad to skip such rows"


def read_scene_csv(data_dir: Path, skip_bad: bool = False) -> SceneTable:
    """Read and validate DIR/dataset.csv (columns and features; images are checked later)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise UserError(f"data folder {data_dir} does not exist; {KAGGLE_HINT}")
    csv = data_dir / "dataset.csv"
    if not csv.is_file():
        raise UserError(f"{csv} not found; {KAGGLE_HINT}")
    try:
        raw = pd.read_csv(csv, low_memory=False, keep_default_na=True)
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise UserError(f"{csv} is not a readable CSV ({str(e).splitlines()[0]}); check the file")
    except pd.errors.EmptyDataError:
        raise UserError(f"{csv} is empty; the scene schema is IMAGE, mfcc_1..mfcc_104, CLASS1, CLASS2")
    check_columns([str(c) for c in raw.columns], csv)
    if raw.empty:
        raise UserError(f"{csv} has a header but no rows")
    feats, problems = _feature_problems(raw)
    for col in ("IMAGE", "CLASS2"):
        for i in np.flatnonzero(raw[col].isna().to_numpy() | (raw[col].astype(str).str.strip() == "").to_numpy()):
            problems.setdefault(int(i), f"{col} is empty")
    bad = [BadRow(i + 1, r) for i, r in sorted(problems.items())]
    if bad and not skip_bad:
        raise UserError(_format_bad(csv, bad, "the values"))
    keep = np.ones(len(raw), dtype=bool)
    keep[[b.row - 1 for b in bad]] = False
    frame = pd.DataFrame(
        {
            "row": np.arange(1, len(raw) + 1)[keep],
            "IMAGE": raw["IMAGE"].astype(str).to_numpy()[keep],
            "CLASS1": raw["CLASS1"].astype(str).str.strip().to_numpy()[keep],
            "CLASS2": raw["CLASS2"].astype(str).str.strip().to_numpy()[keep],
        }
    )
    frame["folder"] = [str(PurePosixPath(p.replace("\\", "/")).parent) for p in frame["IMAGE"]]
    return SceneTable(root=data_dir, csv=csv, frame=frame.reset_index(drop=True), features=feats[keep], bad=bad)


def select_classes(table: SceneTable, classes: list[str]) -> SceneTable:
    """Keep rows whose CLASS2 matches one of `classes` (case-insensitive); 'all' keeps every class."""
    counts = table.frame["CLASS2"].value_counts().sort_index()
    if not classes:
        raise UserError("pass --class NAME (repeatable) or --class all; classes present: " + _counts(counts))
    if any(c.strip().lower() == "all" for c in classes):
        return table
    present = {c.upper(): c for c in counts.index}
    wanted = []
    for c in classes:
        key = c.strip().upper()
        if key not in present:
            raise UserError(f"--class {c!r} is not in {table.csv}; classes present: {_counts(counts)}")
        wanted.append(present[key])
    keep = table.frame["CLASS2"].isin(wanted).to_numpy()
    return SceneTable(
        root=table.root,
        csv=table.csv,
        frame=table.frame[keep].reset_index(drop=True),
        features=table.features[keep],
        bad=table.bad,
    )


def _counts(counts: pd.Series) -> str:
    return ", ".join(f"{k} ({v} rows)" for k, v in counts.items())
