"""Train/test splits without leakage.

`source` (default): whole source folders (source videos) go to one side, per class, so
near-identical neighbouring seconds never straddle the split. A class with a single
folder is cut into contiguous blocks of seconds and whole blocks go to test. When folders
are shared between classes (e.g. one folder per speaker in a spoken-digit set), whole
folders are chosen across the classes at once, so a test speaker is never heard in
training; every class keeps a training folder, a folder holding a one-folder class stays
training, and a class that gets no test folder this way is cut into blocks instead. So
every class with 2+ folders or blocks has both training and test rows. `test_folders`
names the test folders explicitly (refused when a class would have no training rows).
`random`: the student project's protocol (e.g. 360 train / 120 test drawn at random),
offered for reproducing its numbers; it leaks neighbouring frames across the split.

Validation rows (`val`, `val_fraction` of the training side) choose best.pt and are never
test rows. Source split: in every (class, training folder) group, one contiguous block of
rows at a seeded position (a run of takes or seconds of one folder, as leakage-free as the
single-folder test blocks). Random split: drawn from the rows the split left unused when
there are enough (so `--split random --train-size 360 --test-size 120` trains on exactly
the same 360 rows as before; at most val_fraction x the training rows), else from the
training rows.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.config import SplitConfig
from ..core.errors import UserError


def split_rows(frame: pd.DataFrame, cfg: SplitConfig) -> np.ndarray:
    """Return an array of 'train' / 'val' / 'test' / '' (unused) per row of frame (needs CLASS2, folder)."""
    if len(frame) < 2:
        raise UserError(f"need at least 2 rows to split into train and test, got {len(frame)}")
    return carve_validation(frame, _train_test(frame, cfg), cfg)


def carve_validation(frame: pd.DataFrame, split: np.ndarray, cfg: SplitConfig) -> np.ndarray:
    """Mark `val` rows on the training side of `split` (see the module docstring); test rows never change."""
    out = split.copy()
    if cfg.val_fraction <= 0:
        return out
    rng = np.random.default_rng([cfg.seed, 1])  # its own stream: train/test stay what they were
    train = np.flatnonzero(out == "train")
    if cfg.method == "random":
        n_val = max(1, int(round(cfg.val_fraction * len(train))))
        unused = np.flatnonzero(out == "")
        if len(unused):  # the training rows stay exactly those of the split
            out[rng.choice(unused, min(n_val, len(unused)), replace=False)] = "val"
        elif len(train) > n_val:
            out[rng.choice(train, n_val, replace=False)] = "val"
        return out
    keys = frame["CLASS2"].astype(str).to_numpy()[train], frame["folder"].astype(str).to_numpy()[train]
    groups: dict[tuple[str, str], list[int]] = {}
    for i, c, f in zip(train, *keys):
        groups.setdefault((c, f), []).append(i)  # positions in file order
    for key in sorted(groups):
        idx = groups[key]
        n_val = int(round(cfg.val_fraction * len(idx)))
        if 1 <= n_val < len(idx):
            start = int(rng.integers(0, len(idx) - n_val + 1))
            out[idx[start : start + n_val]] = "val"
    return out


def _train_test(frame: pd.DataFrame, cfg: SplitConfig) -> np.ndarray:
    """'train' / 'test' / '' per row, before the validation rows are carved."""
    rng = np.random.default_rng(cfg.seed)
    if cfg.method == "random":
        return _random_split(len(frame), cfg, rng)
    out = np.full(len(frame), "train", dtype=object)
    folders = frame["folder"].astype(str)
    if cfg.test_folders:
        known = set(folders)
        # accept "lucas" for the folder "images/lucas"
        chosen = {f for f in known if f in cfg.test_folders or f.rsplit("/", 1)[-1] in cfg.test_folders}
        missing = [t for t in cfg.test_folders if not any(t == f or t == f.rsplit("/", 1)[-1] for f in known)]
        if missing:
            raise UserError(f"--test-folder {missing[0]!r} is not a folder of the selected rows; folders: "
                            + ", ".join(sorted(known)[:30]))
        out[folders.isin(chosen).to_numpy()] = "test"
        untrained = sorted(set(frame["CLASS2"].astype(str)) - set(frame.loc[out == "train", "CLASS2"].astype(str)))
        if untrained:
            raise UserError(f"--test-folder: class {untrained[0]} has all its rows in the test folders, so it would "
                            "never be trained on; name other test folders or leave --test-folder out")
        return out
    shared = frame.groupby("folder")["CLASS2"].nunique().max() > 1
    if shared:  # folders span classes (speakers, sessions): pick whole folders across all classes
        return _shared_split(frame, out, cfg, rng)
    for _, group in frame.groupby("CLASS2", sort=True):
        idx = group.index.to_numpy()
        folders = list(dict.fromkeys(group["folder"]))  # in file order
        if len(folders) >= 2:
            test_folders = _pick_folders(group, folders, cfg.test_fraction, rng)
            out[idx[group["folder"].isin(test_folders).to_numpy()]] = "test"
        else:
            out[_block_test(idx, cfg, rng)] = "test"
    return out


def _shared_split(frame: pd.DataFrame, out: np.ndarray, cfg: SplitConfig, rng: np.random.Generator) -> np.ndarray:
    """Folders shared by classes: whole folders go to test across the classes with 2+ folders, each class
    keeping a training folder; a folder holding a one-folder class never goes to test whole (that class
    would never be trained on). A class left without a test folder is cut into blocks, like a one-folder class."""
    classes, folders = frame["CLASS2"].astype(str).to_numpy(), frame["folder"].astype(str).to_numpy()
    folders_of = {c: set(folders[classes == c]) for c in sorted(set(classes))}
    single = {c for c, fs in folders_of.items() if len(fs) < 2}
    blocked = set().union(*(folders_of[c] for c in single)) if single else set()
    multi = ~np.isin(classes, sorted(single))
    if multi.any():
        group = frame[multi]
        order = list(dict.fromkeys(group["folder"].astype(str)))  # in file order
        test = _pick_folders(group, order, cfg.test_fraction, rng, blocked)
        out[np.isin(folders, test) & multi] = "test"
    for c in folders_of:  # sorted
        idx = np.flatnonzero(classes == c)
        if not (out[idx] == "test").any():  # one folder, or no folder of its own could go to test
            out[_block_test(idx, cfg, rng)] = "test"
    return out


def _random_split(n: int, cfg: SplitConfig, rng: np.random.Generator) -> np.ndarray:
    perm = rng.permutation(n)
    n_test = cfg.test_size if cfg.test_size is not None else max(1, int(round(n * cfg.test_fraction)))
    n_train = cfg.train_size if cfg.train_size is not None else n - n_test
    if n_test + n_train > n:
        raise UserError(f"--train-size {n_train} + --test-size {n_test} exceeds the {n} rows selected")
    out = np.full(n, "", dtype=object)
    out[perm[:n_test]] = "test"
    out[perm[n_test : n_test + n_train]] = "train"
    return out


def _pick_folders(group: pd.DataFrame, folders: list[str], frac: float, rng: np.random.Generator,
                  blocked: set[str] = frozenset()) -> list[str]:
    """Shuffle folders, take them for test until the test share reaches `frac`; every class of `group`
    keeps >= 1 training folder; `blocked` folders stay training. Then a class with no test folder yet gets
    one where that keeps every class trained (a class can still end with none: the caller cuts it into blocks)."""
    sizes = group["folder"].astype(str).value_counts()
    class_folders = [set(fs) for fs in group.groupby("CLASS2")["folder"].agg(lambda s: set(s.astype(str)))]
    order = [folders[i] for i in rng.permutation(len(folders))]
    target, chosen, total = frac * len(group), [], 0

    def allowed(f: str) -> bool:
        return f not in blocked and f not in chosen and all(fs - {*chosen, f} for fs in class_folders)

    for f in order[:-1]:  # never all folders
        if total >= target:
            break
        # take the folder when it brings the test share closer to the target
        if allowed(f) and (not chosen or abs(total + sizes[f] - target) <= abs(total - target)):
            chosen.append(f)
            total += sizes[f]
    for fs in class_folders:  # a class with 2+ folders should be tested too
        if not fs & set(chosen):
            chosen += [f for f in order if f in fs and allowed(f)][:1]
    return chosen


def _block_test(idx: np.ndarray, cfg: SplitConfig, rng: np.random.Generator) -> np.ndarray:
    """Single folder: cut the rows (consecutive seconds) into blocks, whole blocks go to test."""
    if len(idx) < 2:  # one row cannot be on both sides: it trains
        return idx[:0]
    n_blocks = max(2, min(cfg.blocks, len(idx)))
    blocks = np.array_split(idx, n_blocks)
    n_test = min(n_blocks - 1, max(1, int(round(n_blocks * cfg.test_fraction))))
    chosen = rng.choice(n_blocks, size=n_test, replace=False)
    return np.concatenate([blocks[b] for b in sorted(chosen)])
