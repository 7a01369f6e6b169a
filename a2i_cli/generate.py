"""Generate images from features: parse user input (a string or a CSV row), run an engine, save."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import FEATURE_COLUMNS, N_FEATURES
from .errors import UserError


def parse_mfcc(text: str) -> np.ndarray:
    """'v1,...,v104' (commas and/or spaces) -> (104,) float32, with a clear error."""
    parts = [p for p in text.replace(",", " ").split() if p]
    if len(parts) != N_FEATURES:
        raise UserError(f"--mfcc needs {N_FEATURES} comma-separated numbers (mfcc_1..mfcc_{N_FEATURES}), got {len(parts)}")
    try:
        vals = np.array([float(p) for p in parts], dtype=np.float32)
    except ValueError:
        bad = next(i for i, p in enumerate(parts) if not is_number(p))
        raise UserError(f"--mfcc value {bad + 1} ({parts[bad]!r}) is not a number")
    if not np.isfinite(vals).all():
        i = int(np.flatnonzero(~np.isfinite(vals))[0])
        raise UserError(f"--mfcc value {i + 1} is {parts[i]!r}; features must be finite numbers")
    return vals


def is_number(s: str) -> bool:
    """True when float() accepts the text (also 'nan' and 'inf'; check finiteness separately)."""
    try:
        float(s)
        return True
    except ValueError:
        return False


def csv_row_features(csv: Path, row: int) -> np.ndarray:
    """Features of data row `row` (1-based, as in manifests and error messages) of a CSV with mfcc_1..mfcc_104."""
    import pandas as pd  # here, not at import: batch.py uses is_number without pandas

    csv = Path(csv)
    if not csv.is_file():
        raise UserError(f"--csv {csv} does not exist")
    if row < 1:
        raise UserError(f"--row is 1-based (the first data row is 1), got {row}")
    try:
        header = pd.read_csv(csv, nrows=0).columns
        missing = [c for c in FEATURE_COLUMNS if c not in header]
        if missing:
            raise UserError(f"{csv}: missing column {missing[0]!r}; need mfcc_1..mfcc_{N_FEATURES}")
        frame = pd.read_csv(csv, usecols=FEATURE_COLUMNS, skiprows=range(1, row), nrows=1, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise UserError(f"{csv} is not a readable CSV ({str(e).splitlines()[0]})")
    if frame.empty:
        raise UserError(f"{csv} has fewer than {row} data rows")
    text = [str(v).strip() for v in frame.iloc[0]]
    vals = pd.to_numeric(pd.Series(text), errors="coerce").to_numpy(dtype=np.float32)
    if not np.isfinite(vals).all():
        j = int(np.flatnonzero(~np.isfinite(vals))[0])
        what = "empty (is the row short of fields?)" if text[j] == "" else f"{text[j]!r}, not a finite number"
        raise UserError(f"{csv} row {row}: {FEATURE_COLUMNS[j]} is {what}")
    return vals
