"""`a2i extract videos`: one scene-schema row every `--hop` seconds of each video (default 1 s).

    extract_videos([Path("clips/")], ExtractConfig(out=Path("data"), class2="beach", hop=0.25))

Row k covers the audio of [t, t+1) with t = k * hop: the frame displayed at t + 0.5 s (the
middle of its window) becomes `images/<stem>/<stem><k>.png` and the audio one row of 104
features (the Kaggle `second` recipe of data/features.py, through `sliding_features`). With
the default hop of 1 s that is exactly how the scene dataset was made (a 30-second clip
gives 30 rows); `--hop 0.25` gives 4 times as many rows from the same media. The hop is
recorded per video in dataset.json; re-extracting a video with another hop is refused. Rows are appended to DIR/dataset.csv keyed by IMAGE, so a rerun adds no
duplicates; a bad file is reported with its reason and the others go on.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..core.config import ExtractConfig
from ..core.errors import UserError
from ..core.images import as_rgb_array, save_png
from ..core.locks import output_lock
from ..core.paths import NOT_REGULAR, PathOutside, inside
from ..core.progress import NO_PROGRESS, Progress
from ..data.classes import class1_for
from ..data.dataset_writer import DatasetWriter
from ..data.features import sliding_features
from .decode import MediaError, first_video_time, frames_at, read_audio
from .extract_report import PNG_LEVEL, Bad, ExtractReport, check_out, clean_class, leave_nothing_if_empty, workers


def save_frame(image, size: int, path: Path) -> None:
    save_png(as_rgb_array(image, size, crop=True), path, compress_level=PNG_LEVEL)


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
            bad.append(Bad(str(p), NOT_REGULAR if p.exists() else "does not exist"))
            found = []
        for f in found:
            if f.resolve() not in seen:
                seen.add(f.resolve())
                files.append(f)
    return files, bad


def extract_video(path: Path, writer: DatasetWriter, class1: str, class2: str, hop: float = 1.0) -> tuple[int, int]:
    """One video into the dataset, a row every `hop` seconds. Returns (rows added, rows already there); MediaError when bad."""
    stem = path.stem
    try:
        stem.encode("utf-8")
    except UnicodeEncodeError:  # bytes that are not UTF-8 (surrogate-escaped by the OS): no CSV can hold the name
        raise MediaError(f"its name {stem.encode('utf-8', 'surrogateescape')!r} is not valid UTF-8, so no row can name "
                         "its frames; rename the file") from None
    videos = writer.meta.setdefault("videos", {})
    source = str(path.resolve())
    known = videos.get(stem)
    if known and known.get("path") != source:
        raise MediaError(
            f"its name {stem!r} is already used in {writer.out} by {known.get('path')}; rename the file "
            f"(images/{stem}/ holds one video)"
        )

    if known and float(known.get("hop", 1.0)) != hop:
        raise MediaError(f"was extracted into {writer.out} with --hop {known.get('hop', 1.0):g}; use that --hop, "
                         "or a new --out folder")

    def key(k: int) -> str:
        return f"images/{stem}/{stem}{k}.png"

    try:
        inside(writer.out, key(0), what="frame path")  # a symlinked images/<stem> must not lead writes elsewhere
    except PathOutside as e:
        raise MediaError(str(e))

    stat = path.stat()
    same_file = known and known.get("bytes") == stat.st_size and known.get("mtime") == int(stat.st_mtime)
    if known and (known.get("CLASS2"), known.get("CLASS1")) != (class2, class1):
        raise MediaError(f"its rows are in {writer.out} as {known.get('CLASS1')}/{known.get('CLASS2')}, not "
                         f"{class1}/{class2}; extract it into another --out to label it otherwise")
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
    starts, feats = sliding_features(x, audio.sample_rate, hop, writer.feature_recipe)  # (T,), (T, 104): [t, t+1)
    rows, already, seconds, pending = [], 0, 0, []
    try:
        with ThreadPoolExecutor(workers()) as pool:  # PNG encoding releases the GIL
            for t, image in frames_at(path, [origin + s + 0.5 for s in starts]):
                seconds = t + 1  # rows so far (t is the index of the requested time)
                if key(t) in writer.keys:
                    already += 1
                    continue
                pending.append(pool.submit(save_frame, image, writer.image_size, writer.out / key(t)))
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
    videos[stem] = {"path": source, "rows": seconds, "hop": hop, "CLASS1": class1, "CLASS2": class2,
                    "image_size": writer.image_size, "bytes": stat.st_size, "mtime": int(stat.st_mtime)}
    writer.save_meta()
    return len(rows), already


def extract_videos(paths: list[Path], cfg: ExtractConfig, progress: Progress = NO_PROGRESS) -> ExtractReport:
    """Every video in `paths` (files or folders of them) into dataset cfg.out; bad files reported, not fatal."""
    class2 = clean_class(cfg.class2, "--class", upper=True)
    class1 = clean_class(cfg.class1 or class1_for(class2), "--class1", upper=False)
    t0 = time.perf_counter()
    files, bad = collect_files(paths)
    if not files:  # nothing to read: say so before --out is made
        why = "; ".join(f"{b.what}: {b.reason}" for b in bad[:3]) + (f"; and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise UserError(f"no video to read ({why}); give video files or folders of them")
    with leave_nothing_if_empty(check_out(cfg.out)), output_lock(cfg.out, "extract"):
        writer = DatasetWriter(cfg.out, cfg.image_size)
        report = ExtractReport(out=writer.out, bad=bad)
        progress.start(len(files), "extracting")
        for f in files:
            try:
                added, already = extract_video(f, writer, class1, class2, cfg.hop)
                report.added += added
                report.already += already
                report.done += 1
            except MediaError as e:
                report.bad.append(Bad(str(f), str(e)))
            progress.advance(1)
        if writer.json.exists() or report.added:
            writer.save_meta()
    report.seconds = time.perf_counter() - t0
    return report
