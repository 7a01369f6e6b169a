"""Reading a scene dataset's `dataset.csv` (docs DATASET.md): validate columns and values, pick classes.

Images are checked later, when prepare decodes them. Values get the messages of mfcc_csv.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from ..core.errors import UserError
from .mfcc_csv import check_delimiter, check_unique, open_text, parse_cells, read_header
from .schema import FEATURE_COLUMNS, KAGGLE_HINT, SCENE_SCHEMA, check_columns


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


def format_bad(csv: Path, bad: list[BadRow], what: str) -> str:
    """One line for bad rows: the first with its reason, then how many and which."""
    head = bad[0]
    rows = ", ".join(str(b.row) for b in bad[:10]) + ("..." if len(bad) > 10 else "")
    more = f"; {len(bad)} bad rows in all (rows {rows})" if len(bad) > 1 else ""
    return f"{csv} row {head.row} (line {head.row + 1}): {head.reason}{more}; fix {what} or pass --skip-bad to skip such rows"


def find_csv(data_dir: Path) -> Path:
    """DIR/dataset.csv (or dataset.csv.gz), with a one-line error saying how to get data."""
    data_dir = Path(data_dir)
    if data_dir.is_file():
        raise UserError(f"data folder {data_dir} is a file; expected a folder holding dataset.csv and images/")
    if not data_dir.is_dir():
        raise UserError(f"data folder {data_dir} does not exist; {KAGGLE_HINT}")
    for name in ("dataset.csv", "dataset.csv.gz"):
        if (data_dir / name).is_file():
            return data_dir / name
    if (data_dir / "dataset.csv").is_dir():
        raise UserError(f"{data_dir / 'dataset.csv'} is a directory; expected the dataset's CSV file")
    raise UserError(f"{data_dir / 'dataset.csv'} not found; {KAGGLE_HINT}")


def read_scene_csv(data_dir: Path, skip_bad: bool = False) -> SceneTable:
    """Read and validate DIR/dataset.csv (columns and features; images are checked later)."""
    data_dir = Path(data_dir)
    csv = find_csv(data_dir)
    header = read_header(csv)
    check_delimiter(header, csv)
    check_columns(header, csv)
    check_unique(header, csv)
    try:
        with open_text(csv) as f:
            raw = pd.read_csv(f, dtype=str, keep_default_na=False, low_memory=False)
    except pd.errors.EmptyDataError:
        raise UserError(f"{csv} is empty; the scene schema is {SCENE_SCHEMA}")
    except UnicodeDecodeError:
        raise UserError(f"{csv} is not UTF-8 text; save it as UTF-8 (or UTF-16 with a byte-order mark)")
    except (pd.errors.ParserError, OSError, EOFError) as e:
        raise UserError(f"{csv} is not a readable CSV ({str(e).splitlines()[0]}); check the file")
    raw = raw.fillna("")  # short rows: missing fields are empty, not "nan"
    raw.columns = [str(c).strip() for c in raw.columns]
    check_columns(list(raw.columns), csv)
    if raw.empty:
        raise UserError(f"{csv} has a header but no rows")
    feats, problems = parse_cells(raw[FEATURE_COLUMNS].to_numpy(dtype=str).tolist())
    for col in ("IMAGE", "CLASS2"):
        for i in np.flatnonzero((raw[col].str.strip() == "").to_numpy()):
            problems.setdefault(int(i), f"{col} is empty")
    bad = [BadRow(i + 1, r) for i, r in sorted(problems.items())]
    if bad and not skip_bad:
        raise UserError(format_bad(csv, bad, "the values"))
    keep = np.ones(len(raw), dtype=bool)
    keep[[b.row - 1 for b in bad]] = False
    frame = pd.DataFrame(
        {
            "row": np.arange(1, len(raw) + 1)[keep],
            "IMAGE": raw["IMAGE"].to_numpy()[keep],
            "CLASS1": raw["CLASS1"].str.strip().to_numpy()[keep],
            "CLASS2": raw["CLASS2"].str.strip().to_numpy()[keep],
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
    return SceneTable(root=table.root, csv=table.csv, frame=table.frame[keep].reset_index(drop=True),
                      features=table.features[keep], bad=table.bad)


def _counts(counts: pd.Series) -> str:
    return ", ".join(f"{k} ({v} rows)" for k, v in counts.items())
