"""Voices never heard, the full model: leave one speaker out, several training seeds, two trainings at a time.

Each training is bench_quality.py's `train_model` (plain `a2i train` defaults plus the options of
a `--spec`, 40 epochs, 64 px, best.pt chosen on validation rows), scored by the same independent
digit reader on the held-out speaker's test rows. bench_quality.py trains one model at a time and
also the seed architecture; this script runs only the specs asked for, over every fold and seed,
two trainings at a time with one thread each (about 9 minutes per training on one core here, so
four folds and three seeds take about 55 minutes). It prints one row per spec and seed, and
their mean with the worst voice: the tables of docs/quality.md#voices-never-heard. With class codes each
training's line splits the read rate in two: "heard", the accuracy of the class head (with class
encoders, their averaged heads: the class the picture draws), and "drawn", the reader's rate on pictures
drawn with the true class forced.

    python benchmarks/voice_loso.py                                   # plain defaults, seeds 0-2
    python benchmarks/voice_loso.py --spec '{"pooled": {"frame_order": false}}' --seeds 0,1,2
    python benchmarks/voice_loso.py --spec '{"default": {}, "ce0": {"class_encoders": 0}}'

A spec maps a row's name to TrainConfig fields (the options of `a2i train` with _ for -).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import tempfile
import time
from dataclasses import fields
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from a2i_cli.core.checks import MAX_SEED  # noqa: E402
from a2i_cli.core.config import IMAGE_SIZES, PrepareConfig, SplitConfig, TrainConfig  # noqa: E402
from a2i_cli.core.errors import UserError  # noqa: E402
from a2i_cli.data.prepare import prepare  # noqa: E402
from a2i_cli.data.prepared import Prepared  # noqa: E402
from a2i_cli.model.classifier import load_or_train_classifier  # noqa: E402
from bench_quality import has_digits_data, make_digits  # noqa: E402

SPEAKERS = ("george", "jackson", "lucas", "yweweler")
SHARED_DATA = REPO / ".." / "shared" / "data"
NOT_IN_SPEC = {"prepared", "epochs", "seed", "name", "runs_root", "exist_ok", "classifier",  # the script sets these
               "model", "tensorboard"}  # not options of a spec: the architecture is a2i's default
STATE: dict = {}  # the forked workers' shared inputs: prepared folds, work folder, digit reader


def _job(args: tuple) -> tuple:
    from bench_quality import train_model

    torch.set_num_threads(1)
    speaker, seed, tag, spec, epochs = args
    scores, _ = train_model(STATE["prepared"][speaker], STATE["work"], f"{speaker}-{seed}-{tag}", spec, epochs, seed,
                            True, STATE["reader"])
    return speaker, seed, tag, scores


def check_spec(text: str) -> dict:
    """The --spec JSON -> {row name: TrainConfig fields}; each spec builds a TrainConfig, so a bad value fails here."""
    allowed = {f.name for f in fields(TrainConfig)} - NOT_IN_SPEC
    try:
        specs = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"not JSON ({e.msg})") from None
    if not isinstance(specs, dict) or not specs or not all(isinstance(v, dict) for v in specs.values()):
        raise ValueError('give an object of named specs, e.g. {"default": {}}')
    types = {f.name: str(f.type) for f in fields(TrainConfig)}
    for tag, spec in specs.items():
        bad = sorted(set(spec) - allowed)
        if bad:
            raise ValueError(f"spec {tag!r}: unknown fields {', '.join(bad)} (choose from {', '.join(sorted(allowed))})")
        if not 1 <= len(tag) <= 40 or not tag.replace("-", "").replace("_", "").replace(".", "").isalnum() or tag[0] == ".":
            raise ValueError(f"spec {tag!r}: name it with 1 to 40 letters, digits, - _ . (not starting with .)")
        for key, value in spec.items():  # JSON scalars of the field's type (a float where a whole number goes fails here)
            whole = "int" in types[key] and "float" not in types[key]
            if value is None or isinstance(value, (list, dict)) or (whole and (type(value) is not int)):
                raise ValueError(f"spec {tag!r}: {key} {value!r} is not {'a whole number' if whole else 'a value it takes'}")
        if spec.get("class_encoders", 0) and (spec.get("class_codes") is False or spec.get("class_weight") == 0):
            raise ValueError(f"spec {tag!r}: class_encoders needs class codes (class_codes true, class_weight above 0)")
        try:
            TrainConfig(**spec)
        except (UserError, TypeError, ValueError) as e:
            raise ValueError(f"spec {tag!r}: {e}") from None
    return specs


def main() -> None:
    class Help(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
        pass

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=Help)
    ap.add_argument("--spec", default='{"default": {}}', help="JSON: row name -> TrainConfig fields")
    ap.add_argument("--seeds", default="0,1,2", help="training seeds (the split is always seed 0)")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--image-size", type=int, default=64, help="a power of two, 32 to 256")
    ap.add_argument("--folds", default=",".join(SPEAKERS), help="the speakers held out in turn")
    ap.add_argument("--jobs", type=int, default=2, help="trainings at a time, one thread each")
    ap.add_argument("--shared-data", type=Path, default=SHARED_DATA, help="folder with fsdd/ and mnist/")
    args = ap.parse_args()
    try:
        specs = check_spec(args.spec)
    except ValueError as e:
        ap.error(f"--spec: {e}")
    folds = list(dict.fromkeys(s for s in args.folds.split(",") if s))  # each once: a run folder per fold and seed
    if not folds or any(s not in SPEAKERS for s in folds):
        ap.error(f"--folds {args.folds!r}: a comma list of {', '.join(SPEAKERS)}")
    try:
        seeds = list(dict.fromkeys(int(s) for s in args.seeds.split(",") if s.strip()))
        if not seeds or any(not 0 <= s <= MAX_SEED for s in seeds):
            raise ValueError
    except ValueError:
        ap.error(f"--seeds {args.seeds!r}: a comma list of whole numbers from 0 to {MAX_SEED}")
    if not 1 <= args.epochs <= 100_000:
        ap.error(f"--epochs {args.epochs}: give 1 to 100000")
    if not 1 <= args.jobs <= 64:
        ap.error(f"--jobs {args.jobs}: give 1 to 64")
    if args.image_size not in IMAGE_SIZES:
        ap.error(f"--image-size {args.image_size}: give 32, 64, 128 or 256")
    if not has_digits_data(args.shared_data):
        ap.error(f"--shared-data {args.shared_data}: needs fsdd/*.wav and mnist/mnist_digits_a.npz (../shared/data)")
    from digit_reader import DigitReader, used_indices

    t0 = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="a2i-voice-loso-") as tmp:
        work = Path(tmp)
        digits = make_digits(work / "digits", args.shared_data, args.image_size)
        STATE["reader"] = DigitReader.train(args.shared_data / "mnist" / "mnist_digits_a.npz", used_indices(digits))
        STATE["work"], STATE["prepared"] = work, {}
        for s in folds:  # the split bench_quality uses for this held-out speaker (split seed 0)
            path, _ = prepare(PrepareConfig(data=digits, classes=["all"], image_size=args.image_size, name=f"digits-{s}",
                                            exist_ok=True, split=SplitConfig(seed=0, test_folders=(s,)),
                                            runs_root=work / "runs"))
            load_or_train_classifier(Prepared.load(path), log=lambda m: None)  # once, before the workers fork
            STATE["prepared"][s] = path
        jobs = [(s, seed, tag, spec, args.epochs) for tag, spec in specs.items() for seed in seeds for s in folds]
        with mp.get_context("fork").Pool(args.jobs) as pool:
            for r in pool.imap_unordered(_job, jobs):
                results.append(r)
                sc = r[3]
                split = f" (heard {sc['heard']:.1%}, drawn {sc['drawn']:.1%})" if "heard" in sc else ""
                print(f"{r[2]} seed {r[1]} {r[0]}: read {sc['class_acc']:.1%}{split}, SSIM {sc['ssim']:.3f}, MSE {sc['mse']:.0f}, "
                      f"best epoch {sc['best_epoch']}, {sc['seconds']:.0f} s", flush=True)
    acc = {(tag, seed, s): sc["class_acc"] for s, seed, tag, sc in results}
    print(f"\ndigit read as spoken, held-out speaker ({args.epochs} epochs, {args.image_size} px; "
          f"{time.perf_counter() - t0:.0f} s)\n")
    print("| spec, training seed | " + " | ".join(folds) + " | mean |\n|---|" + "---:|" * (len(folds) + 1))
    for tag in specs:
        for seed in seeds:
            row = [acc[tag, seed, s] for s in folds]
            print(f"| {tag}, {seed} | " + " | ".join(f"{a:.1%}" for a in row) + f" | {np.mean(row):.2%} |")
    worst = []
    for tag in specs:
        row = [np.mean([acc[tag, seed, s] for seed in seeds]) for s in folds]
        print(f"| **{tag}, mean** | " + " | ".join(f"{a:.1%}" for a in row) + f" | **{np.mean(row):.1%}** |")
        worst.append(f"{tag}: worst voice {folds[int(np.argmin(row))]} {min(row):.1%}")
    print("\n" + "\n".join(worst))


if __name__ == "__main__":
    main()
