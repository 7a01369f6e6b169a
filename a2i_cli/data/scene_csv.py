"""Reading a scene dataset's `dataset.csv` (docs DATASET.md): validate columns and values, pick classes.

Images are checked later, when prepare decodes them. Values get the messages of mfcc_csv.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from ..core.errors import UserError
from .csv_stream import CsvStream
from .mfcc_csv import check_delimiter, check_unique, read_header
from .schema import FEATURE_COLUMNS, KAGGLE_HINT, check_columns


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
    if data_dir.exists() and not data_dir.is_dir():
        raise UserError(f"data folder {data_dir} is a file; expected a folder holding dataset.csv and images/")
    if not data_dir.is_dir():
        raise UserError(f"data folder {data_dir} does not exist; {KAGGLE_HINT}")
    found = [data_dir / n for n in ("dataset.csv", "dataset.csv.gz") if (data_dir / n).is_file()]
    if len(found) == 2:
        raise UserError(f"{data_dir} holds both dataset.csv and dataset.csv.gz; remove the one that is not current")
    if found:
        return found[0]
    if (data_dir / "dataset.csv").is_dir():
        raise UserError(f"{data_dir / 'dataset.csv'} is a directory; expected the dataset's CSV file")
    raise UserError(f"{data_dir / 'dataset.csv'} not found; {KAGGLE_HINT}")


def read_scene_csv(data_dir: Path, skip_bad: bool = False) -> SceneTable:
    """Read and validate DIR/dataset.csv (columns and values; images are checked later).

    Rows go through the same reader as batch-generate's (csv_stream.py): a garbage line, an
    extra field or a broken quote is one bad row with its number, never the end of the file."""
    data_dir = Path(data_dir)
    csv = find_csv(data_dir)
    header = read_header(csv)
    check_delimiter(header, csv)
    check_unique(header, csv)  # first: a duplicated name is why another looks missing
    check_columns(header, csv)
    stream = CsvStream(csv, "dataset")
    cols = {name: stream.extra_columns.index(name) for name in ("IMAGE", "CLASS1", "CLASS2")}
    rows, feats, texts, bad = [], [], [], []
    for chunk, errors, _ in stream.chunks(4096):
        bad += [BadRow(r, why) for r, why in errors]
        for r, f, extra in zip(chunk.rows.tolist(), chunk.feats, chunk.extras):
            image, class1, class2 = (str(extra[cols[c]] or "") for c in ("IMAGE", "CLASS1", "CLASS2"))
            empty = "IMAGE" if not image.strip() else "CLASS2" if not class2.strip() else ""
            if empty:
                bad.append(BadRow(r, f"{empty} is empty"))
                continue
            rows.append(r)
            feats.append(f)
            texts.append((image, class1.strip(), class2.strip()))
    if not rows and not bad:
        raise UserError(f"{csv} has a header but no rows")
    bad.sort(key=lambda b: b.row)
    if bad and not skip_bad:
        raise UserError(format_bad(csv, bad, "the values"))
    frame = pd.DataFrame({"row": np.asarray(rows, np.int64), "IMAGE": [t[0] for t in texts],
                          "CLASS1": [t[1] for t in texts], "CLASS2": [t[2] for t in texts]})
    frame["folder"] = [str(PurePosixPath(p.replace("\\", "/")).parent) for p in frame["IMAGE"]]
    features = np.stack(feats) if feats else np.empty((0, len(FEATURE_COLUMNS)), np.float32)
    return SceneTable(root=data_dir, csv=csv, frame=frame, features=features, bad=bad)


def select_classes(table: SceneTable, classes: list[str]) -> SceneTable:
    """Keep rows whose CLASS2 matches one of `classes` (case-insensitive); 'all' keeps every class."""
    counts = table.frame["CLASS2"].value_counts().sort_index()
    if not classes:
        raise UserError("pass --class NAME (repeatable) or --class all; classes present: " + _counts(counts))
    if any(c.strip().lower() == "all" for c in classes):
        others = [c for c in classes if c.strip().lower() != "all"]
        if others:  # `all` with a name: one of the two is a mistake (the name was silently ignored)
            raise UserError(f"--class all keeps every class; drop --class {others[0]!r}, or name classes without all")
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
