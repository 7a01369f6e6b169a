"""`a2i extract audio`: one scene-schema row per recording paired with a picture (a pairs CSV).

    extract_pairs(Path("pairs.csv"), ExtractConfig(out=Path("data")))

A pairs file has the columns audio,image,CLASS1,CLASS2 (and optionally IMAGE, the path
inside the dataset); paths are absolute or relative to the pairs file. Each row becomes
the features of its recording by the chosen recipe (`--window sound`, the default: the 8
windows spread over the recording's sound, silence trimmed; `--window second`: its first
second, zero-padded, as the Kaggle rows) and its picture, centre-cropped and resized. The
recipe goes to dataset.json; appending with another recipe is refused. Rows are appended in atomic batches keyed by IMAGE, so a rerun
adds no duplicates; a bad row is reported with its reason and the others go on.
"""
from __future__ import annotations

import csv
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

import numpy as np

from ..core.config import ExtractConfig
from ..core.errors import UserError
from ..core.images import read_rgb, save_png
from ..core.locks import output_lock
from .extract_report import leave_nothing_if_empty
from ..core.paths import PathOutside, inside
from ..core.progress import NO_PROGRESS, Progress
from ..data.csv_stream import FIELD_LIMIT, TOO_LONG, bounded_lines, quoted_records
from ..data.dataset_writer import DatasetWriter
from ..data.features import FeatureRecipe, features_of, recipe_for
from ..data.mfcc_csv import check_delimiter, check_file, check_unique, open_text, read_header
from ..data.schema import suggest
from .decode import MediaError, read_audio
from .extract_report import PNG_LEVEL, Bad, ExtractReport, check_out, workers

PAIR_COLUMNS = ["audio", "image", "CLASS1", "CLASS2"]
PAIRS_SCHEMA = "the columns audio,image,CLASS1,CLASS2 (and optionally IMAGE, the path inside the dataset)"
PAIRS_BATCH = 256  # pairs rows per atomic CSV update


def _pairs_columns(columns: list[str], csv: Path) -> None:
    missing = [c for c in PAIR_COLUMNS if c not in columns]
    if missing:
        extra = [c for c in columns if c not in PAIR_COLUMNS]
        raise UserError(
            f"{csv}: missing column {missing[0]!r}{suggest(missing[0], extra)}; a pairs file has {PAIRS_SCHEMA}"
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


def _check_files(audio_path: Path, image_path: Path) -> None:
    """MediaError when the recording or the picture is missing or a folder (a stat each: cheap)."""
    for what, path, kind in (("audio", audio_path, "a recording"), ("image", image_path, "an image")):
        if path.is_dir():
            raise MediaError(f"{what} file {path} is a directory, not {kind}")
        if not path.is_file():
            raise MediaError(f"{what} file {path} does not exist")


def _not_a_picture(image_path: Path, e: Exception) -> MediaError:
    return MediaError(f"image file {image_path} is not a picture Pillow can read ({type(e).__name__}: {e})")


def _check_picture(image_path: Path) -> None:
    """MediaError when Pillow cannot identify the picture (reads its header only)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(image_path):
            pass
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise _not_a_picture(image_path, e)


def _not_utf8(rec: list[str], header: list[str], pairs: Path) -> str | None:
    """Why a row read with surrogateescape holds bytes that are not UTF-8 (None when it does not)."""
    for column, text in zip(header, rec):
        if any("\udc80" <= ch <= "\udcff" for ch in text):
            shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            return (f"{pairs.name} is not UTF-8 text ({column} '{shown}' on this line holds bytes that are not "
                    f"UTF-8, as Latin-1 or Windows-1252 files do); save {pairs.name} as UTF-8 and run again (a file whose name on "
                    "disk is not UTF-8 must be renamed too)")
    return None


def _pair_features(audio_path: Path, recipe: FeatureRecipe) -> np.ndarray:
    try:
        audio = read_audio(audio_path, mono=True)
    except MediaError as e:
        raise MediaError(f"audio file {audio_path} {e}")
    return features_of(audio.samples[0], audio.sample_rate, recipe)  # (104,)


def _pair_image(image_path: Path, writer: DatasetWriter, key: str) -> None:
    from PIL import UnidentifiedImageError

    try:
        pixels = read_rgb(image_path, writer.image_size, crop=True)
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise _not_a_picture(image_path, e)
    try:
        target = inside(writer.out, key, what="IMAGE")  # a symlinked folder must not lead the write elsewhere
    except PathOutside as e:
        raise MediaError(str(e))
    save_png(pixels, target, compress_level=PNG_LEVEL)


def read_pairs(pairs: Path) -> tuple[list[tuple[int, int, dict]], list[Bad]]:
    """The rows of a pairs file as (row, line, {column: text}); rows that cannot be split are Bad.

    Read like every other CSV (gzip, UTF-16, delimiter hint); a garbage line is one bad row, and so is a
    line whose quote never closes (the lines after it are read as rows again). `line` is where a row starts."""
    header = read_header(pairs, expected=PAIRS_SCHEMA)
    if not header or header == [""]:
        raise UserError(f"{pairs} is empty; expected a header with {PAIRS_SCHEMA}")
    check_delimiter(header, pairs)
    _pairs_columns(header, pairs)
    check_unique(header, pairs)
    rows, bad = [], []
    limit = csv.field_size_limit()
    csv.field_size_limit(FIELD_LIMIT)
    try:
        with open_text(pairs, errors="surrogateescape") as f:  # bytes that are not UTF-8 are found per row below
            lines = bounded_lines(f)
            next(lines, None)  # the header
            row, line = 0, 1  # data rows (blank lines not counted), file lines read so far
            for text, why in quoted_records(lines, len(header)):  # a stray quote spoils its own line only
                first, line = line + 1, line + max(1, text.count("\n") + (not text.endswith("\n")))
                where = f"{pairs.name} row {row + 1} (line {first})"
                if why:
                    row += 1
                    bad.append(Bad(where, why, row))
                    continue
                try:
                    rec = next(csv.reader([text]), [])
                except csv.Error as e:
                    row += 1
                    bad.append(Bad(where, f"unreadable CSV line ({e})", row))
                    continue
                if not rec:
                    continue
                row += 1
                if rec == [TOO_LONG]:
                    bad.append(Bad(where, f"a line longer than {FIELD_LIMIT >> 20} MB", row))
                elif len(rec) != len(header):
                    bad.append(Bad(where, f"expected {len(header)} fields (as in the header), got {len(rec)}", row))
                elif why := _not_utf8(rec, header, pairs):
                    bad.append(Bad(where, why, row))
                else:
                    rows.append((row, first, dict(zip(header, rec))))
    finally:
        csv.field_size_limit(limit)
    if not rows and not bad:
        raise UserError(f"{pairs} has its header but no rows; add one line per pair below it ({PAIRS_SCHEMA})")
    return rows, bad


def extract_pairs(pairs: Path, cfg: ExtractConfig, progress: Progress = NO_PROGRESS) -> ExtractReport:
    """Rows of a pairs CSV (audio,image,CLASS1,CLASS2[,IMAGE]) into dataset `out`; bad rows reported."""
    pairs = check_file(pairs, "pairs file").local
    table, bad = read_pairs(pairs)
    with leave_nothing_if_empty(check_out(cfg.out)), output_lock(cfg.out, "extract"):
        return _extract(pairs, table, bad, cfg, progress)


def _extract(pairs: Path, table: list, bad: list[Bad], cfg: ExtractConfig, progress: Progress) -> ExtractReport:
    t0 = time.perf_counter()
    writer = DatasetWriter(cfg.out, cfg.image_size, recipe=recipe_for(cfg.window), window_option="--window")
    report = ExtractReport(out=writer.out, bad=list(bad))
    base = pairs.resolve().parent
    progress.start(len(table) + len(bad), "extracting")
    progress.advance(len(bad))
    sources = writer.meta.setdefault("sources", {})  # IMAGE -> the recording it was made from
    seen: dict[str, int] = {}
    jobs: list[tuple[str, Path, Path, str, str, str]] = []  # (where, audio, image, key, CLASS1, CLASS2)
    for i, line, rec in table:
        where = f"{pairs.name} row {i} (line {line})"
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
            if key in seen:  # the real fault first, when there is one
                _check_files(audio_path, image_path)
                _check_picture(image_path)
                named = "" if rec.get("IMAGE", "").strip() else f" (named after the recording {values['audio']})"
                raise MediaError(f"IMAGE {key}{named} repeats row {seen[key]}; give each pair its own IMAGE "
                                 "column value")
            seen[key] = i
            known = sources.get(key)
            if key in writer.keys and known is not None and known != str(audio_path.resolve()):
                raise MediaError(f"IMAGE {key} already holds the pair made from {known}; give this pair its own "
                                 "IMAGE column value")
        except MediaError as e:
            report.bad.append(Bad(where, str(e), order=i))
            progress.advance(1)
            continue
        if key in writer.keys:
            report.already += 1
            report.done += 1
            progress.advance(1)
            continue
        jobs.append((where, audio_path, image_path, key, values["CLASS1"], values["CLASS2"].upper()))

    jobs_audio = {job[3]: job[1] for job in jobs}

    def run(job):
        where, audio_path, image_path, key, class1, class2 = job
        try:
            _check_files(audio_path, image_path)
            feats = _pair_features(audio_path, writer.feature_recipe)  # before the image: a bad recording leaves no stray PNG
            _pair_image(image_path, writer, key)
            return key, feats, class1, class2
        except MediaError as e:
            return Bad(where, str(e), order=int(where.split(" row ")[1].split()[0]))  # "pairs.csv row N (line M)"

    with ThreadPoolExecutor(workers()) as pool:
        for a in range(0, len(jobs), PAIRS_BATCH):
            rows = []
            for result in pool.map(run, jobs[a : a + PAIRS_BATCH]):
                if isinstance(result, Bad):
                    report.bad.append(result)
                else:
                    rows.append(result)
                    report.done += 1
                progress.advance(1)
            writer.append(rows)  # atomic: an interruption keeps every finished batch
            report.added += len(rows)
            sources.update({key: str(audio.resolve()) for key, audio in ((r[0], jobs_audio[r[0]]) for r in rows)})
    report.bad.sort(key=lambda b: b.order)
    writer.meta.setdefault("pairs", [])
    if str(pairs.resolve()) not in writer.meta["pairs"]:
        writer.meta["pairs"].append(str(pairs.resolve()))
    if report.added or writer.json.exists():
        writer.save_meta()
    report.seconds = time.perf_counter() - t0
    return report
