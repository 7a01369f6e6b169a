"""Build scene-schema datasets from videos, or from recordings paired with pictures.

    extract_videos([Path("clips/")], Path("data"), class2="beach")
    extract_pairs(Path("pairs.csv"), Path("data"))

Videos: for every whole second t, the frame displayed at t + 0.5 s becomes
`images/<stem>/<stem><t>.png` and the audio of [t, t+1) one row of 104 features (the recipe
of features.py, through `sliding_features` with a 1 s hop), as the scene dataset was made.
Pairs: the first second of each recording (zero-padded) and its picture.

Rows are appended to DIR/dataset.csv (scene schema) keyed by IMAGE, so a rerun adds no
duplicates; the CSV is rewritten atomically (temporary file + rename) after every video or
batch of pairs, so an interrupted run leaves a valid dataset. DIR/dataset.json records the
feature recipe; appending to a dataset made with another recipe is refused. A bad file or
row is reported with its reason and the others go on.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Optional

import numpy as np
import pandas as pd

from . import FEATURE_COLUMNS
from .data import REQUIRED, _suggest
from .errors import UserError
from .features import RECIPE, audio_features, sliding_features
from .media import MediaError, frames_at, first_video_time, read_audio, square_image
from .viz import save_png

PAIR_COLUMNS = ["audio", "image", "CLASS1", "CLASS2"]
PAIRS_BATCH = 256  # pairs rows per atomic CSV update
ProgressFn = Callable[[int], None]


@dataclass
class Bad:
    what: str  # a file path, or "pairs.csv row N (line N+1)"
    reason: str
    order: int = 0  # pairs row, to list bad rows in file order

    def __str__(self) -> str:
        return f"{self.what}: {self.reason}"


@dataclass
class ExtractReport:
    out: Path
    added: int = 0
    already: int = 0  # rows whose IMAGE was already in the dataset
    done: int = 0  # files or pairs rows that went through
    bad: list[Bad] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.bad


def _recipe_now() -> dict:
    return json.loads(json.dumps(RECIPE.to_dict()))  # as it reads back from JSON


class DatasetWriter:
    """DIR/dataset.csv + DIR/dataset.json, appended to atomically and keyed by IMAGE."""

    def __init__(self, out: Path, image_size: int = 256):
        if not 8 <= image_size <= 2048:
            raise UserError(f"--image-size must be between 8 and 2048, got {image_size}")
        self.out = Path(out)
        self.csv = self.out / "dataset.csv"
        self.json = self.out / "dataset.json"
        self.image_size = image_size
        if self.out.exists() and not self.out.is_dir():
            raise UserError(f"--out {self.out} is a file; give a dataset folder")
        self.meta = self._read_meta()
        self.keys = self._read_keys()

    def _read_meta(self) -> dict:
        now = _recipe_now()
        if not self.json.is_file():
            if self.csv.is_file():
                raise UserError(
                    f"{self.csv} exists but {self.json} does not, so its feature recipe is unknown and new rows "
                    "might not be comparable; extract into a new --out folder"
                )
            return {"source": "a2i extract", "feature_recipe": now}
        try:
            meta = json.loads(self.json.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise UserError(f"{self.json} is not valid JSON ({e}); fix or remove it")
        old = meta.get("feature_recipe")
        if old != now:
            if isinstance(old, dict):
                diff = ", ".join(f"{k}: {old.get(k)!r} there, {now.get(k)!r} now" for k in sorted(set(old) | set(now)) if old.get(k) != now.get(k))
            else:
                diff = f"recorded recipe is {old!r}"
            raise UserError(
                f"{self.out} was made with a different feature recipe ({diff}); its rows would not be comparable "
                "with new ones; extract into a new --out folder"
            )
        return meta

    def _read_keys(self) -> set[str]:
        if not self.csv.is_file():
            return set()
        try:
            header = [str(c) for c in pd.read_csv(self.csv, nrows=0).columns]
        except pd.errors.EmptyDataError:
            raise UserError(f"{self.csv} is empty; remove it or choose another --out")
        except (pd.errors.ParserError, UnicodeDecodeError) as e:
            raise UserError(f"{self.csv} is not a readable CSV ({str(e).splitlines()[0]})")
        if header != REQUIRED:
            raise UserError(
                f"{self.csv} does not have exactly the scene columns IMAGE, mfcc_1..mfcc_104, CLASS1, CLASS2 in order; "
                "new rows cannot be appended to it; choose another --out"
            )
        return set(pd.read_csv(self.csv, usecols=["IMAGE"], dtype=str, keep_default_na=False)["IMAGE"])

    def append(self, rows: list[tuple[str, np.ndarray, str, str]]) -> None:
        """Add (IMAGE, features (104,), CLASS1, CLASS2) rows: copy + append + rename (atomic)."""
        rows = [r for r in rows if r[0] not in self.keys]
        if not rows:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        frame = pd.DataFrame(np.stack([r[1] for r in rows]).astype(np.float32), columns=FEATURE_COLUMNS)
        frame.insert(0, "IMAGE", [r[0] for r in rows])
        frame["CLASS1"] = [r[2] for r in rows]
        frame["CLASS2"] = [r[3] for r in rows]
        tmp = self.out / f".dataset.csv.tmp{os.getpid()}"
        try:
            if self.csv.is_file():
                shutil.copyfile(self.csv, tmp)
                with open(tmp, "rb+") as f:
                    f.seek(0, os.SEEK_END)
                    if f.tell():
                        f.seek(-1, os.SEEK_END)
                        if f.read(1) != b"\n":
                            f.write(b"\n")
                frame.to_csv(tmp, mode="a", header=False, index=False, lineterminator="\n")
            else:
                frame.to_csv(tmp, index=False, lineterminator="\n")
            os.replace(tmp, self.csv)
        finally:
            if tmp.exists():
                tmp.unlink()
        self.keys.update(r[0] for r in rows)

    def save_meta(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        self.meta["feature_recipe"] = _recipe_now()
        self.meta.setdefault("image_size", self.image_size)
        tmp = self.out / f".dataset.json.tmp{os.getpid()}"
        tmp.write_text(json.dumps(self.meta, indent=2) + "\n")
        os.replace(tmp, self.json)


# ----------------------------------------------------------------------------- videos

PNG_LEVEL = 3  # zlib level: half the time of level 6 for files ~5-10 % larger


def _workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _save_frame(image, size: int, path: Path) -> None:
    save_png(square_image(image, size), path, compress_level=PNG_LEVEL)



def collect_files(paths: list[Path]) -> tuple[list[Path], list[Bad]]:
    """Files as given, and the (non-hidden) files directly inside given folders, sorted."""
    files, bad, seen = [], [], set()
    for p in map(Path, paths):
        if p.is_dir():
            inside = sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith("."))
            if not inside:
                bad.append(Bad(str(p), "folder has no files"))
            found = inside
        elif p.is_file():
            found = [p]
        else:
            bad.append(Bad(str(p), "does not exist"))
            found = []
        for f in found:
            if f.resolve() not in seen:
                seen.add(f.resolve())
                files.append(f)
    return files, bad


def _clean_class(name: Optional[str], option: str, upper: bool) -> str:
    name = (name or "").strip()
    if not name or "," in name or "\n" in name:
        raise UserError(f"{option} must be a non-empty name without commas, got {name!r}")
    return name.upper() if upper else name


# Kaggle scene classes that are indoors (docs DATASET.md); every other class defaults to OUTDOORS.
INDOOR = {"CLASSROOM", "GROCERY-STORE", "RESTAURANT"}


def extract_video(path: Path, writer: DatasetWriter, class1: str, class2: str) -> tuple[int, int]:
    """One video into the dataset. Returns (rows added, rows already there); MediaError when bad."""
    stem = path.stem
    videos = writer.meta.setdefault("videos", {})
    source = str(path.resolve())
    known = videos.get(stem)
    if known and known.get("path") != source:
        raise MediaError(
            f"its name {stem!r} is already used in {writer.out} by {known.get('path')}; rename the file "
            f"(images/{stem}/ holds one video)"
        )

    def key(t: int) -> str:
        return f"images/{stem}/{stem}{t}.png"

    stat = path.stat()
    same_file = known and known.get("bytes") == stat.st_size and known.get("mtime") == int(stat.st_mtime)
    if same_file and known.get("rows") and all(key(t) in writer.keys for t in range(known["rows"])):
        return 0, int(known["rows"])  # already extracted from this very file: nothing to decode
    audio = read_audio(path, mono=True)
    v0 = first_video_time(path)
    if v0 is None:
        raise MediaError("has no video track")
    origin = min(audio.start, v0)
    x = audio.samples[0]
    lead = int(round((audio.start - origin) * audio.sample_rate))
    if lead > 0:  # audio starts after the video: silence until it does
        x = np.concatenate([np.zeros(lead, np.float32), x])
    if len(x) < audio.sample_rate:
        raise MediaError(f"audio is {len(x) / audio.sample_rate:.2f} s long, shorter than one whole second")
    _, feats = sliding_features(x, audio.sample_rate, 1.0)  # (T, 104): [t, t+1) for every whole second
    rows, already, seconds, pending = [], 0, 0, []
    try:
        with ThreadPoolExecutor(_workers()) as pool:  # PNG encoding releases the GIL
            for t, image in frames_at(path, [origin + t + 0.5 for t in range(len(feats))]):
                seconds = t + 1
                if key(t) in writer.keys:
                    already += 1
                    continue
                pending.append(pool.submit(_save_frame, image, writer.image_size, writer.out / key(t)))
                rows.append((key(t), feats[t], class1, class2))
                if len(pending) > 32:
                    pending.pop(0).result()
            for job in pending:
                job.result()
    except MediaError:  # decoding failed part-way: leave no images that no row names
        for r in rows:
            (writer.out / r[0]).unlink(missing_ok=True)
        raise
    if seconds == 0:
        raise MediaError("video has no frame at 0.5 s")
    writer.append(rows)
    videos[stem] = {"path": source, "rows": seconds, "CLASS1": class1, "CLASS2": class2, "image_size": writer.image_size,
                    "bytes": stat.st_size, "mtime": int(stat.st_mtime)}
    writer.save_meta()
    return len(rows), already


def extract_videos(
    paths: list[Path],
    out: Path,
    class2: str,
    class1: Optional[str] = None,
    image_size: int = 256,
    on_total: Optional[ProgressFn] = None,
    progress: Optional[Callable[[Path, int, int], None]] = None,
) -> ExtractReport:
    """Every video in `paths` (files or folders of them) into dataset `out`; bad files reported, not fatal."""
    class2 = _clean_class(class2, "--class", upper=True)
    class1 = _clean_class(class1 or ("INDOORS" if class2 in INDOOR else "OUTDOORS"), "--class1", upper=False)
    t0 = time.perf_counter()
    writer = DatasetWriter(out, image_size)
    files, bad = collect_files(paths)
    report = ExtractReport(out=writer.out, bad=bad)
    if on_total:
        on_total(len(files))
    for f in files:
        try:
            added, already = extract_video(f, writer, class1, class2)
            report.added += added
            report.already += already
            report.done += 1
        except MediaError as e:
            report.bad.append(Bad(str(f), str(e)))
            added = already = 0
        if progress:
            progress(f, added, already)
    if writer.json.exists() or report.added:
        writer.save_meta()
    report.seconds = time.perf_counter() - t0
    return report


# ----------------------------------------------------------------------------- pairs


def _pairs_columns(columns: list[str], csv: Path) -> None:
    missing = [c for c in PAIR_COLUMNS if c not in columns]
    if missing:
        extra = [c for c in columns if c not in PAIR_COLUMNS]
        raise UserError(
            f"{csv}: missing column {missing[0]!r}{_suggest(missing[0], extra)}; a pairs file has the columns "
            "audio,image,CLASS1,CLASS2 (and optionally IMAGE, the path inside the dataset)"
        )


def _target_key(row: dict, audio: Path) -> str:
    """The dataset-relative IMAGE for a pair: the IMAGE column, else images/<audio folder>/<audio stem>.png."""
    given = str(row.get("IMAGE", "") or "").strip().replace("\\", "/")
    if not given:
        folder = audio.parent.name or "audio"
        return f"images/{folder}/{audio.stem}.png"
    p = PurePosixPath(given)
    if p.is_absolute() or ".." in p.parts or p.parts[0] != "images" or len(p.parts) < 3 or p.suffix.lower() != ".png":
        raise MediaError(f"IMAGE {given!r} must look like images/<folder>/<file>.png")
    return str(p)


def _pair_features(audio_path: Path) -> np.ndarray:
    if not audio_path.is_file():
        raise MediaError(f"audio file {audio_path} does not exist")
    try:
        audio = read_audio(audio_path, mono=True)
    except MediaError as e:
        raise MediaError(f"audio file {audio_path} {e}")
    return audio_features(audio.samples[0], audio.sample_rate)  # (104,): first second, zero-padded


def _pair_image(image_path: Path, writer: DatasetWriter, key: str) -> None:
    from PIL import Image, UnidentifiedImageError

    if not image_path.is_file():
        raise MediaError(f"image file {image_path} does not exist")
    try:
        with Image.open(image_path) as im:
            pixels = square_image(im, writer.image_size)
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise MediaError(f"image file {image_path} could not be read ({type(e).__name__}: {e})")
    save_png(pixels, writer.out / key, compress_level=PNG_LEVEL)


def extract_pairs(
    pairs: Path,
    out: Path,
    image_size: int = 256,
    on_total: Optional[ProgressFn] = None,
    progress: Optional[ProgressFn] = None,
) -> ExtractReport:
    """Rows of a pairs CSV (audio,image,CLASS1,CLASS2[,IMAGE]) into dataset `out`; bad rows reported."""
    pairs = Path(pairs)
    if not pairs.is_file():
        raise UserError(f"--pairs {pairs} does not exist")
    try:
        table = pd.read_csv(pairs, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise UserError(f"{pairs} is empty; a pairs file has the columns audio,image,CLASS1,CLASS2")
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise UserError(f"{pairs} is not a readable CSV ({str(e).splitlines()[0]})")
    table.columns = [str(c).strip() for c in table.columns]
    _pairs_columns(list(table.columns), pairs)
    t0 = time.perf_counter()
    writer = DatasetWriter(out, image_size)
    report = ExtractReport(out=writer.out)
    base = pairs.resolve().parent
    if on_total:
        on_total(len(table))
    seen: dict[str, int] = {}
    jobs: list[tuple[str, Path, Path, str, str, str]] = []  # (where, audio, image, key, CLASS1, CLASS2)
    for i, rec in enumerate(table.to_dict("records"), start=1):
        where = f"{pairs.name} row {i} (line {i + 1})"
        try:
            values = {c: str(rec[c]).strip() for c in PAIR_COLUMNS}
            for c in ("audio", "image", "CLASS2"):
                if not values[c]:
                    raise MediaError(f"{c} is empty")
            if "," in values["CLASS1"] + values["CLASS2"]:
                raise MediaError("CLASS1 and CLASS2 may not contain commas")
            audio_path = Path(values["audio"]) if Path(values["audio"]).is_absolute() else base / values["audio"]
            image_path = Path(values["image"]) if Path(values["image"]).is_absolute() else base / values["image"]
            key = _target_key(rec, audio_path)
            if key in seen:
                raise MediaError(f"IMAGE {key} repeats row {seen[key]}")
            seen[key] = i
        except MediaError as e:
            report.bad.append(Bad(where, str(e), order=i))
            if progress:
                progress(1)
            continue
        if key in writer.keys:
            report.already += 1
            report.done += 1
            if progress:
                progress(1)
            continue
        jobs.append((where, audio_path, image_path, key, values["CLASS1"], values["CLASS2"].upper()))

    def run(job):
        where, audio_path, image_path, key, class1, class2 = job
        try:
            feats = _pair_features(audio_path)  # before the image: a bad recording leaves no stray PNG
            _pair_image(image_path, writer, key)
            return key, feats, class1, class2
        except MediaError as e:
            return Bad(where, str(e), order=int(where.split(" row ")[1].split()[0]))

    with ThreadPoolExecutor(_workers()) as pool:
        for a in range(0, len(jobs), PAIRS_BATCH):
            rows = []
            for result in pool.map(run, jobs[a : a + PAIRS_BATCH]):
                if isinstance(result, Bad):
                    report.bad.append(result)
                else:
                    rows.append(result)
                    report.done += 1
                if progress:
                    progress(1)
            writer.append(rows)  # atomic: an interruption keeps every finished batch
            report.added += len(rows)
    report.bad.sort(key=lambda b: b.order)
    writer.meta.setdefault("pairs", [])
    if str(pairs.resolve()) not in writer.meta["pairs"]:
        writer.meta["pairs"].append(str(pairs.resolve()))
    if report.added or writer.json.exists():
        writer.save_meta()
    report.seconds = time.perf_counter() - t0
    return report
