"""Does the picture follow the sound? `seed` vs `a2i` with the same training-time budget.

For each dataset the table shows, on the test split, SSIM, histogram similarity, MSE, PSNR
and class accuracy (a scene classifier trained on the training images reads the generated
image; chance is 1/classes) for both models, beside the baselines on the same rows: the
mean training image and the class-mean oracle (which knows the label), and the
classifier's accuracy on the real test images (its ceiling).

Datasets:
  demo    built-in demo data, all nine classes, split by source folder
  digits  spoken digits (FSDD) -> handwritten digits (MNIST) from ../shared/data, one
          folder per speaker, whole speakers held out (test speakers never heard in training)

    python benchmarks/bench_quality.py --budget 120 --json quality.json
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from a2i_cli.core.config import DemoDataConfig, ModelConfig, PrepareConfig, SplitConfig, TrainConfig  # noqa: E402
from a2i_cli.data.demo_data import make_demo_dataset  # noqa: E402
from a2i_cli.data.prepare import prepare  # noqa: E402
from a2i_cli.model.trainer import Trainer  # noqa: E402

MODELS = {
    "seed": dict(model=dict(arch="seed"), loss="mse"),
    "a2i": dict(model=dict(arch="a2i"), loss="mse", class_weight=1.0, aug_noise=0.2, aug_shift=1),
}
METRICS = ("ssim", "hist", "mse", "psnr", "class_acc")


def audio_probe(prepared: Path, seed: int, epochs: int = 150) -> float:
    """Test accuracy of an MLP that reads CLASS2 straight from the 104 features (same split):
    how much class information the audio carries, the most an image model can pass on."""
    import torch
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


def make_digits(out: Path, data: Path, size: int) -> Path:
    subprocess.run([sys.executable, str(REPO / "examples" / "spoken_digits.py"), str(out), "--data", str(data),
                    "--image-size", str(size)], check=True, stdout=subprocess.DEVNULL)
    return out


def run_dataset(name: str, data_dir: Path, work: Path, size: int, budget: float, seed: int) -> dict:
    prepared, meta = prepare(PrepareConfig(data=data_dir, classes=["all"], image_size=size, name=name,
                                           split=SplitConfig(seed=seed), runs_root=work / "runs"))
    result = {"dataset": name, "image_size": size, "train_rows": meta["counts"]["train"],
              "test_rows": meta["counts"]["test"], "test_folders": meta["folders"]["test"],
              "classes": len(meta["classes"]), "budget_s": budget, "models": {},
              "audio_probe_class_acc": audio_probe(prepared, seed)}
    for model_name, spec in MODELS.items():
        spec = dict(spec)
        mcfg = ModelConfig(image_size=size, **spec.pop("model"))
        cfg = TrainConfig(prepared=prepared, epochs=10_000, batch_size=32, seed=seed, model=mcfg, name=model_name,
                          runs_root=work / "runs", time_budget=budget, **spec)
        trainer = Trainer(cfg, log=lambda m: None)
        t0 = time.perf_counter()
        trainer.fit()
        last = trainer.history[-1]  # the last epoch: no model selection on the test split
        result["models"][model_name] = {"epochs": last["epoch"], "seconds": round(time.perf_counter() - t0, 1),
                                        **{m: last[f"test_{m}"] for m in METRICS}}
        result["baseline_mean_image"] = {m: last[f"baseline_{m}"] for m in METRICS}
        result["oracle_class_mean"] = {m: last[f"oracle_{m}"] for m in METRICS}
        result["classifier_on_real_test_images"] = last["real_class_acc"]
        print(f"  {name}/{model_name}: {last['epoch']} epochs, SSIM {last['test_ssim']:.3f}, "
              f"class acc {last['test_class_acc']:.3f}", flush=True)
    return result


def table(res: dict) -> str:
    fmt = {"ssim": "{:.3f}", "hist": "{:.3f}", "mse": "{:.0f}", "psnr": "{:.2f}", "class_acc": "{:.1%}"}
    lines = [f"**{res['dataset']}** ({res['classes']} classes, {res['image_size']}px, {res['train_rows']} train / "
             f"{res['test_rows']} test rows, test folders: {', '.join(f.split('/')[-1] for f in res['test_folders'])}; "
             f"{res['budget_s']:.0f} s of training each)", "",
             "| | SSIM | hist | MSE | PSNR | class acc | epochs |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, r in res["models"].items():
        lines.append(f"| `{name}` | " + " | ".join(fmt[m].format(r[m]) for m in METRICS) + f" | {r['epochs']} |")
    for label, key in (("mean training image", "baseline_mean_image"), ("class-mean oracle", "oracle_class_mean")):
        lines.append(f"| {label} | " + " | ".join(fmt[m].format(res[key][m]) for m in METRICS) + " | |")
    lines.append(f"| real test images | | | | | {res['classifier_on_real_test_images']:.1%} | |")
    lines.append(f"| audio-only classifier (MLP on the 104 features) | | | | | {res['audio_probe_class_acc']:.1%} | |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--budget", type=float, default=120.0, help="training seconds per model")
    ap.add_argument("--datasets", default="demo,digits", help="comma list of demo, digits")
    ap.add_argument("--shared-data", type=Path, default=REPO / ".." / "shared" / "data", help="folder with fsdd/ and mnist/")
    ap.add_argument("--demo-size", type=int, default=64, help="image size for the demo dataset")
    ap.add_argument("--digits-size", type=int, default=64, help="image size for the digits dataset")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="a2i-quality-") as tmp:
        work = Path(tmp)
        for ds in args.datasets.split(","):
            print(f"{ds}:", flush=True)
            if ds == "demo":
                make_demo_dataset(DemoDataConfig(out=work / "demo", rows=2000, seed=args.seed))
                results.append(run_dataset("demo", work / "demo", work, args.demo_size, args.budget, args.seed))
            elif ds == "digits":
                if not (args.shared_data / "fsdd").is_dir():
                    print(f"  skipped: {args.shared_data}/fsdd not found")
                    continue
                make_digits(work / "digits", args.shared_data, args.digits_size)
                results.append(run_dataset("digits", work / "digits", work, args.digits_size, args.budget, args.seed))
            else:
                raise SystemExit(f"unknown dataset {ds!r}")
    print()
    for r in results:
        print(table(r) + "\n")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
