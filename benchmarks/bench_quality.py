"""Does the picture follow the sound? The default model (plain `a2i train`) beside `--arch seed`, a fixed number of epochs.

Every model is scored through its best.pt, which the run chose on validation rows carved
from the training side (never the test split), on a leakage-free test split, beside the
baselines on the same rows: the mean training image and the class-mean oracle (which knows
the label). "class acc" is how often a reader recognises the class of the audio in the
generated image: for the demo data the scene classifier a2i trains on the training images;
for spoken digits an independent MNIST reader (benchmarks/digit_reader.py) trained on MNIST
digits that are not targets of the dataset. Sharpness is the mean gradient magnitude of the
generated images over that of the real test images (1.00 = as sharp). FD is the Fréchet distance
(a2i_cli/eval/frechet.py) between that reader's features of the generated and of the real test
images (lower is better; "real training images" is real against real).

Tables:
  demo    the built-in demo data, nine classes, split by source folder; then the video table
          (benchmarks/video_quality.py): `a2i animate`'s frames from the default model on a
          soundtrack of the nine scenes back to back, flicker and the delay to follow a
          scene change, for independent frames and each --smooth
  digits  spoken digits (FSDD) -> handwritten digits (MNIST) from ../shared/data, through
          `a2i extract audio` (windows over the sound): the speaker lucas held out (seed vs
          default), then leave-one-speaker-out over the four speakers with the defaults
          (every test voice unheard in training): mean and worst speaker

    python benchmarks/bench_quality.py --epochs 40 --json quality.json
    python benchmarks/bench_quality.py --datasets digits --train-seeds 1,2   # + the training-seed spread (~40 min more)
    python benchmarks/bench_quality.py --datasets digits --train-voices 1,2  # + read rate vs number of training voices
"""
from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from a2i_cli.core.config import IMAGE_SIZES, DemoDataConfig, ModelConfig, PrepareConfig, SplitConfig, TrainConfig  # noqa: E402
from a2i_cli.data.demo_data import make_demo_dataset  # noqa: E402
from a2i_cli.data.prepare import prepare  # noqa: E402
from a2i_cli.eval.frechet import frechet_of_images  # noqa: E402
from a2i_cli.model.network import to_uint8  # noqa: E402
from a2i_cli.model.trainer import Trainer  # noqa: E402
from digit_reader import DigitReader, used_indices  # noqa: E402
from video_quality import video_table  # noqa: E402

MODELS = {"seed": dict(model=ModelConfig(arch="seed")), "default": {}}  # default: plain `a2i train`, nothing given
METRICS = ("ssim", "hist", "mse", "psnr", "sharpness", "class_acc", "fd")
SHARED_DATA = REPO / ".." / "shared" / "data"
SPEAKERS = ("george", "jackson", "lucas", "yweweler")
FMT = {"ssim": "{:.3f}", "hist": "{:.3f}", "mse": "{:.0f}", "psnr": "{:.2f}", "sharpness": "{:.2f}", "class_acc": "{:.1%}", "fd": "{:.2f}"}


def audio_probe(prepared: Path, seed: int, epochs: int = 150) -> float:
    """Test accuracy of an MLP that reads CLASS2 straight from the 104 features (same split):
    how much class information the audio carries for these test rows."""
    import torch.nn.functional as F

    from a2i_cli.data.prepared import Prepared

    data = Prepared.load(prepared)
    tr, te = data.indices("train"), data.indices("test")
    classes = sorted(data.rows["CLASS2"].unique())
    y = torch.tensor(data.rows["CLASS2"].map({c: i for i, c in enumerate(classes)}).to_numpy())
    x = torch.from_numpy(data.norm(data.features))
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        mlp = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 256), torch.nn.ReLU(), torch.nn.Dropout(0.3),
                                  torch.nn.Linear(256, len(classes)))
        opt = torch.optim.Adam(mlp.parameters(), 1e-3, weight_decay=1e-3)
        trt = torch.from_numpy(tr)
        for _ in range(epochs):
            mlp.train()
            perm = trt[torch.randperm(len(trt))]
            for i in range(0, len(perm), 64):
                b = perm[i : i + 64]
                loss = F.cross_entropy(mlp(x[b] + 0.2 * torch.randn_like(x[b])), y[b])
                opt.zero_grad()
                loss.backward()
                opt.step()
        mlp.eval()
        with torch.no_grad():
            return float((mlp(x[te]).argmax(1) == y[te]).float().mean())


def has_digits_data(data: Path) -> bool:
    """Whether `data` (../shared/data) holds what make_digits reads: fsdd/*.wav and mnist/mnist_digits_a.npz."""
    fsdd = data / "fsdd"
    return fsdd.is_dir() and any(fsdd.glob("*.wav")) and (data / "mnist" / "mnist_digits_a.npz").is_file()


def make_digits(out: Path, data: Path, size: int) -> Path:
    subprocess.run([sys.executable, str(REPO / "examples" / "spoken_digits.py"), str(out), "--data", str(data),
                    "--image-size", str(size)], check=True, stdout=subprocess.DEVNULL)
    return out


def train_model(prepared: Path, work: Path, name: str, spec: dict, epochs: int, seed: int, classifier: bool,
                reader: DigitReader | None = None) -> tuple[dict, Trainer]:
    """Train to `epochs`; the scores of best.pt (chosen on validation rows) on the test split."""
    cfg = TrainConfig(prepared=prepared, epochs=epochs, seed=seed, name=name, runs_root=work / "runs", exist_ok=True,
                      classifier=classifier, **spec)
    trainer = Trainer(cfg, log=lambda m: None)
    t0 = time.perf_counter()
    trainer.fit()
    best = torch.load(trainer.run_dir / "weights" / "best.pt", map_location="cpu", weights_only=True)
    trainer.model.load_state_dict(best["state_dict"])
    _, scores, gen = trainer.evaluate()  # best.pt on the test split
    if reader is not None:
        scores["class_acc"] = reader.accuracy(gen, trainer.data.test_labels)
        scores["fd"] = frechet_of_images(gen, trainer.data.y_test, reader.features)
    out = {"arch": str(trainer.cfg.model.arch), "epochs": epochs, "best_epoch": int(best["epoch"]),
           "seconds": round(time.perf_counter() - t0, 1), **{m: float(scores[m]) for m in METRICS}}
    if reader is not None and getattr(trainer.model, "codes", None) is not None:
        out |= heard_and_drawn(trainer, reader)
    return out, trainer


@torch.no_grad()
def heard_and_drawn(trainer: Trainer, reader: DigitReader) -> dict:
    """With class codes the picture draws the class the head predicts, so "read as spoken" splits in two:
    `heard`, the head's accuracy on the test rows, and `drawn`, the reader's rate on the pictures drawn with
    each row's true class forced (how legibly the decoder draws a class it is told). A test row whose class
    training never saw counts as not heard, and is left out of `drawn` (there is no code to force)."""
    model, data = trainer.model.eval(), trainer.data
    mu, _ = model.encode(torch.from_numpy(data.x_test).to(trainer.device))  # (N, latent)
    index = {c: i for i, c in enumerate(data.classes)}
    true = torch.tensor([index.get(c, -1) for c in data.test_labels], dtype=torch.long, device=mu.device)  # (N,); -1: a class training never saw
    heard = float((model.codes.logits(mu).argmax(1) == true).float().mean())
    known = true >= 0
    forced = to_uint8(model.decoder(model.codes.add(mu[known], true[known])).cpu()).numpy()  # (K, S, S, 3)
    labels = [c for c, k in zip(data.test_labels, known.tolist()) if k]
    return {"heard": heard, "drawn": reader.accuracy(forced, labels) if labels else float("nan")}


def baselines(trainer: Trainer, reader: DigitReader | None) -> dict:
    b = trainer.baselines
    res = {"baseline_mean_image": dict(b.baseline), "oracle_class_mean": dict(b.oracle), "real_class_acc": b.real_class_acc,
           "real_train_fd": b.real_train_fd}
    if reader is not None:
        data = trainer.data
        res["real_class_acc"] = reader.accuracy(data.y_test, data.test_labels)
        from a2i_cli.model.baselines import mean_image

        train = data.y_train.numpy()
        means = {c: mean_image(train[data.train_labels == c]) for c in np.unique(data.train_labels)}
        for key, images in (("baseline_mean_image", np.broadcast_to(b.mean_image, data.y_test.shape).copy()),
                            ("oracle_class_mean", np.stack([means[c] for c in data.test_labels]))):
            res[key]["class_acc"] = reader.accuracy(images, data.test_labels)
            res[key]["fd"] = frechet_of_images(images, data.y_test, reader.features)
        res["real_train_fd"] = frechet_of_images(train, data.y_test, reader.features)
    return res


def run_split(name: str, data_dir: Path, work: Path, size: int, epochs: int, seed: int, models: dict,
              test_folders: tuple[str, ...] = (), reader: DigitReader | None = None, train_seed: int | None = None) -> dict:
    """Prepare (split by `seed`) and train each model (weights and batches by `train_seed`, default `seed`)."""
    again = train_seed is not None and train_seed != seed  # a repeat with another training seed: no probe again
    train_seed = seed if train_seed is None else train_seed
    prepared, meta = prepare(PrepareConfig(data=data_dir, classes=["all"], image_size=size, name=name, exist_ok=True,
                                           split=SplitConfig(seed=seed, test_folders=test_folders), runs_root=work / "runs"))
    result = {"dataset": name, "image_size": size, "counts": meta["counts"], "test_folders": meta["folders"]["test"],
              "classes": len(meta["classes"]), "models": {},
              "audio_probe_class_acc": float("nan") if again else audio_probe(prepared, seed)}
    for model_name, spec in models.items():
        scores, trainer = train_model(prepared, work, f"{name}-{model_name}", spec, epochs, train_seed, True, reader)
        result["models"][model_name] = scores
        result |= baselines(trainer, reader)
        print(f"  {name}/{model_name} ({scores['arch']}): best epoch {scores['best_epoch']}/{epochs}, SSIM {scores['ssim']:.3f}, "
              f"sharpness {scores['sharpness']:.2f}, class acc {scores['class_acc']:.3f} [{scores['seconds']:.0f}s]", flush=True)
    return result


def split_table(res: dict, reader_name: str) -> str:
    c = res["counts"]
    lines = [f"**{res['dataset']}**: {res['classes']} classes, {res['image_size']} px, {c['train']} train / {c['val']} "
             f"validation / {c['test']} test rows, test folders: {', '.join(f.split('/')[-1] for f in res['test_folders'])}",
             "", "| | SSIM | hist | MSE | PSNR | sharpness | class acc | FD | best epoch |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in res["models"].items():
        label = (f"`{name}` ({r['arch']})" if name == "default" else f"`default`, training seed {name.split('_seed')[1]}"
                 if name.startswith("default_seed") else f"`--arch {name}`")
        lines.append(f"| {label} | " + " | ".join(FMT[m].format(r[m]) for m in METRICS) + f" | {r['best_epoch']}/{r['epochs']} |")
    for label, key in (("mean training image", "baseline_mean_image"), ("class-mean oracle", "oracle_class_mean")):
        cells = [FMT[m].format(res[key][m]) if res[key].get(m, np.nan) == res[key].get(m, np.nan) else "" for m in METRICS]
        lines.append(f"| {label} | " + " | ".join(cells) + " | |")
    lines.append(f"| real test images ({reader_name}) | | | | | 1.00 | {res['real_class_acc']:.1%} | 0 | |")
    fd = res.get("real_train_fd", np.nan)
    lines.append(f"| real training images | | | | | | | {'' if fd != fd else FMT['fd'].format(fd)} | |")
    lines.append(f"| audio-only classifier (MLP on the 104 features) | | | | | | {res['audio_probe_class_acc']:.1%} | | |")
    return "\n".join(lines)


def loso_table(folds: dict) -> str:
    lines = ["**Leave one speaker out** (default model; each speaker's 500 recordings are the test split of a model "
             "trained on the other three)", "",
             "| held-out speaker | digit read as spoken | SSIM | class-mean oracle SSIM | MSE | class-mean oracle MSE | "
             "sharpness | audio-only MLP |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for spk, f in folds.items():
        d, o = f["models"]["default"], f["oracle_class_mean"]
        lines.append(f"| {spk} | {d['class_acc']:.1%} | {d['ssim']:.3f} | {o['ssim']:.3f} | {d['mse']:.0f} | {o['mse']:.0f} | "
                     f"{d['sharpness']:.2f} | {f['audio_probe_class_acc']:.1%} |")
    acc = [f["models"]["default"]["class_acc"] for f in folds.values()]
    mean = {m: np.mean([f["models"]["default"][m] for f in folds.values()]) for m in ("ssim", "mse", "sharpness")}
    lines.append(f"| **mean** | **{np.mean(acc):.1%}** | {mean['ssim']:.3f} | "
                 f"{np.mean([f['oracle_class_mean']['ssim'] for f in folds.values()]):.3f} | {mean['mse']:.0f} | "
                 f"{np.mean([f['oracle_class_mean']['mse'] for f in folds.values()]):.0f} | {mean['sharpness']:.2f} | "
                 f"{np.mean([f['audio_probe_class_acc'] for f in folds.values()]):.1%} |")
    worst = min(folds, key=lambda s: folds[s]["models"]["default"]["class_acc"])
    lines.append(f"| worst ({worst}) | {min(acc):.1%} | | | | | | |")
    return "\n".join(lines)


def seeds_table(folds: dict, seed: int) -> str:
    """The default model's read rate per held-out speaker for each training seed (--train-seeds), same split."""
    runs = {seed: "default", **{int(k.split("_seed")[1]): k for f in folds.values() for k in f["models"] if "_seed" in k}}
    done = {s: k for s, k in sorted(runs.items()) if all(k in f["models"] for f in folds.values())}
    if len(done) < 2:
        return ""
    lines = ["**Training seed spread** (leave one speaker out, the same split and data; only the training seed changes)", "",
             "| training seed | " + " | ".join(folds) + " | mean |", "|---|" + "---:|" * (len(folds) + 1)]
    means = []
    for s, k in done.items():
        acc = [f["models"][k]["class_acc"] for f in folds.values()]
        means.append(np.mean(acc))
        lines.append(f"| {s} | " + " | ".join(f"{a:.1%}" for a in acc) + f" | {means[-1]:.1%} |")
    per_fold = [np.mean([f["models"][k]["class_acc"] for k in done.values()]) for f in folds.values()]
    lines.append("| **mean over seeds** | " + " | ".join(f"{a:.1%}" for a in per_fold) + f" | **{np.mean(means):.1%}** "
                 f"(seeds {min(means):.1%} to {max(means):.1%}) |")
    return "\n".join(lines)


def voices_table(results: dict) -> str:
    """Read rate on unheard voices vs the number of training voices (--train-voices; the LOSO folds are K = all but one).

    A model trained on K speakers is tested on all the others (500 rows each), so its read rate is their mean."""
    rows = {int(k): list(v.values()) for k, v in results.get("digits_voices", {}).items()}
    loso = results.get("digits_loso", {})
    if set(loso) == set(SPEAKERS) and all("default" in f["models"] for f in loso.values()):
        rows[len(SPEAKERS) - 1] = list(loso.values())  # each trained on all speakers but the held-out one
    if len(rows) < 2:
        return ""
    lines = ["**Training voices** (default model trained on every set of K speakers, tested on the others; "
             "mean over the sets)", "", "| training voices K | models | digit read as spoken | lowest set | highest set "
             "| audio-only MLP |", "|---:|---:|---:|---:|---:|---:|"]
    ks, errs = [], []
    for k, runs in sorted(rows.items()):
        acc = [r["models"]["default"]["class_acc"] for r in runs]
        ks.append(k)
        errs.append(1 - np.mean(acc))
        lines.append(f"| {k} | {len(runs)} | {np.mean(acc):.1%} | {min(acc):.1%} | {max(acc):.1%} | "
                     f"{np.mean([r['audio_probe_class_acc'] for r in runs]):.1%} |")
    slope, icpt = np.polyfit(np.log(ks), np.log(errs), 1)  # error ~ a * K^slope
    nxt = max(ks) + 1
    lines += ["", f"Fit over K = {', '.join(map(str, ks))}: misread rate ~ K^{slope:.2f}; extrapolated to "
              f"K = {nxt} voices: {1 - np.exp(icpt) * nxt ** slope:.1%} read as spoken (an extrapolation, not a measurement)."]
    return "\n".join(lines)


def report(results: dict, args) -> None:
    """Print every table finished so far and write the JSON (after each model: a long run keeps what it measured)."""
    tables = []
    if results.get("digits_loso"):
        folds = results["digits_loso"]
        if args.seed_fold in folds and "seed" in folds[args.seed_fold]["models"]:
            tables.append(split_table(folds[args.seed_fold], "digit reader"))
        tables.append(loso_table(folds))
        spread = seeds_table(folds, args.seed)
        if spread:
            tables.append(spread)
    voices = voices_table(results)
    if voices:
        tables.append(voices)
    if "demo" in results:
        tables.append(split_table(results["demo"], "scene classifier"))
    if "video" in results:
        tables.append(results["video"]["table"])
    print("\n" + "\n\n".join(tables) + "\n", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def whole_numbers(ap: argparse.ArgumentParser, text: str, option: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        ap.error(f"{option} {text!r}: give a comma list of whole numbers, e.g. 1,2")


def check_args(ap: argparse.ArgumentParser, args) -> list[int]:
    """Every option checked before any data is built (argparse's one-line error, exit 2); returns the --train-voices K."""
    datasets = [d for d in args.datasets.split(",") if d.strip()]
    if not datasets or set(datasets) - {"digits", "demo"} or len(set(datasets)) != len(datasets):
        ap.error(f"--datasets {args.datasets!r}: give a comma list of digits, demo (each once)")
    folds = args.folds.split(",")
    if not set(folds) <= set(SPEAKERS) or len(set(folds)) != len(folds):
        ap.error(f"--folds {args.folds!r}: give a comma list of distinct speakers from {', '.join(SPEAKERS)}")
    if args.seed_fold not in SPEAKERS:
        ap.error(f"--seed-fold {args.seed_fold!r}: give one of {', '.join(SPEAKERS)} (compared only when it is in --folds)")
    if args.epochs < 1:
        ap.error(f"--epochs must be 1 or more, got {args.epochs}")
    if args.image_size not in IMAGE_SIZES:
        ap.error(f"--image-size must be one of {list(IMAGE_SIZES)}, got {args.image_size}")
    seeds = whole_numbers(ap, args.train_seeds, "--train-seeds")
    if len(set(seeds)) != len(seeds):
        ap.error(f"--train-seeds {args.train_seeds!r}: each seed once")
    for seed in [args.seed, *seeds]:
        if not 0 <= seed < 2**32:
            ap.error(f"seeds must be from 0 to 2**32 - 1, got {seed}")
    if "digits" in datasets and args.shared_data is not None and not (args.shared_data / "fsdd").is_dir():
        ap.error(f"--shared-data {args.shared_data}: no fsdd/ folder there; give the folder with fsdd/ and mnist/")
    args.shared_data = args.shared_data or SHARED_DATA  # the default may be absent: digits are skipped, said so
    voices = sorted(set(whole_numbers(ap, args.train_voices, "--train-voices")))
    if any(not 1 <= k < len(SPEAKERS) - 1 for k in voices):
        ap.error(f"--train-voices: each K must be from 1 to {len(SPEAKERS) - 2} (the leave-one-out folds train on "
                 f"{len(SPEAKERS) - 1} of the {len(SPEAKERS)} speakers)")
    return voices


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=40, help="training epochs of every model")
    ap.add_argument("--datasets", default="digits,demo", help="comma list of digits, demo")
    ap.add_argument("--folds", default=",".join(SPEAKERS), help="digits: the speakers held out in turn")
    ap.add_argument("--seed-fold", default="lucas", help="digits: the held-out speaker on which --arch seed is compared")
    ap.add_argument("--shared-data", type=Path, help="folder with fsdd/ and mnist/ (default: "
                    "../shared/data beside the repository; digits are skipped when it is absent)")
    ap.add_argument("--image-size", type=int, default=64, help="image size for both datasets")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train-seeds", default="", help="digits: more training seeds for the default model on every fold "
                    "(comma list; the split and data stay those of --seed): a table of the spread, run after the rest")
    ap.add_argument("--train-voices", default="", help="digits: also train the default model on every set of K of the "
                    "four speakers (comma list of K: 1, 2) and test on the others: a table of the read rate vs K, with "
                    "the leave-one-speaker-out folds as K = 3 (when --folds has all four), run after the rest")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args()
    voices = check_args(ap, args)
    results: dict = {"epochs": args.epochs, "torch_threads": torch.get_num_threads()}
    datasets = args.datasets.split(",")
    if not (args.shared_data / "fsdd").is_dir() and "digits" in datasets:
        print(f"digits skipped: {args.shared_data}/fsdd not found (pass --shared-data)")
        datasets.remove("digits")
    if not datasets:
        sys.exit("nothing to run: no dataset left")
    with tempfile.TemporaryDirectory(prefix="a2i-quality-") as tmp:
        work = Path(tmp)
        jobs = []  # (dataset, held-out speaker or None, model): the defaults first, the seed comparisons last
        if "demo" in datasets:
            make_demo_dataset(DemoDataConfig(out=work / "demo", rows=2000, seed=args.seed))
            jobs.append(("demo", None, "default"))
        if "digits" in datasets:
            digits = make_digits(work / "digits", args.shared_data, args.image_size)
            reader = DigitReader.train(args.shared_data / "mnist" / "mnist_digits_a.npz", used_indices(digits))
            results["digit_reader"] = {"trained_on": reader.trained_on, "accuracy_on_dataset_targets": reader.held_out_accuracy}
            print(f"digit reader: {reader.trained_on} MNIST digits that are not targets; "
                  f"{reader.held_out_accuracy:.1%} on the targets", flush=True)
            results["digits_loso"] = {}
            jobs += [("digits", spk, "default") for spk in args.folds.split(",")]
            if args.seed_fold in args.folds.split(","):
                jobs.append(("digits", args.seed_fold, "seed"))
        if "demo" in datasets:
            jobs.append(("demo", None, "seed"))
        if "digits" in datasets:
            extra = [int(s) for s in args.train_seeds.split(",") if s.strip() and int(s) != args.seed]
            jobs += [("digits", spk, f"default_seed{s}") for s in extra for spk in args.folds.split(",")]
            jobs += [("voices", sub, "default") for k in voices for sub in itertools.combinations(SPEAKERS, k)]
        for ds, spk, model in jobs:
            if ds == "voices":  # spk: the training speakers
                test = tuple(f for f in SPEAKERS if f not in spk)
                res = run_split(f"digits-train-{'-'.join(spk)}", digits, work, args.image_size, args.epochs, args.seed,
                                {model: MODELS[model]}, test_folders=test, reader=reader)
                results.setdefault("digits_voices", {}).setdefault(str(len(spk)), {})["-".join(spk)] = res
                report(results, args)
                continue
            if ds == "demo":
                res = run_split("demo", work / "demo", work, args.image_size, args.epochs, args.seed, {model: MODELS[model]})
                old = results.setdefault("demo", res)
                if model == "default":  # the video table: animate's frames from this model, on a soundtrack of scenes
                    rows, text = video_table(work / "runs/train/demo-default/weights/best.pt", work / "runs/prepare/demo",
                                             [0.25, 0.5, 1.0], seed=args.seed + 1,
                                             label=f"the default one above ({args.image_size} px, {args.epochs} epochs)")
                    results["video"] = {"rows": rows, "table": text}
            else:
                spec, train_seed = MODELS[model.split("_seed")[0]], int(model.split("_seed")[1]) if "_seed" in model else None
                res = run_split(f"digits-{spk}", digits, work, args.image_size, args.epochs, args.seed, {model: spec},
                                test_folders=(spk,), reader=reader, train_seed=train_seed)
                old = results["digits_loso"].setdefault(spk, res)
            old["models"] = {**res["models"], **old["models"]} if model == "seed" else old["models"] | res["models"]
            report(results, args)


if __name__ == "__main__":
    main()
