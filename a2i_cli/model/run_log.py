"""What a training run shows while it runs: results.csv, the results.png curves and, on request, TensorBoard.

Refreshed after every epoch from the run's history (one dict per epoch, train_state.RESULT_FIELDS):

    results.png      losses (train, validation, test), and per test score the model beside the
                     mean training image and the class-mean oracle (SSIM, MSE, histogram
                     similarity, sharpness, class accuracy with the classifier's ceiling,
                     Fréchet distance to the real test images)
    tensorboard/     (--tensorboard) the same scalars and the samples grid, per epoch
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.errors import UserError
from ..core.images import save_png
from ..eval.plots import line_panel, panels_grid
from .train_state import write_results

WHO = {"model": "test", "mean image": "baseline", "class-mean oracle": "oracle"}
PANELS = {  # score -> title
    "ssim": "SSIM on the test split (higher is better)",
    "mse": "MSE on the test split, 0-255 (lower is better)",
    "hist": "histogram similarity (higher is better)",
    "sharpness": "sharpness / real targets' (1 = as sharp)",
    "class_acc": "class accuracy of the scene classifier",
    "fd": "FD (Frechet distance) to the real test images (lower is better)",  # ASCII: the plot font has no accents
}
TB_LOSSES = {"train": "train_loss", "validation": "val_loss", "test": "test_loss"}


def loss_series(loss: str = "mse") -> tuple[str, dict[str, str]]:
    """(title, {label: results.csv field}) of the loss chart. Train and validation record the training
    reconstruction loss (--loss), test the per-pixel MSE only: each label says which it is."""
    if str(loss) == "mse":
        return "per-pixel MSE loss on [-1, 1]", dict(TB_LOSSES)
    return (f"losses on [-1, 1]: train/val {loss}, test MSE",
            {f"train ({loss})": "train_loss", f"validation ({loss})": "val_loss", "test (mse)": "test_loss"})


def score_series(history: list[dict], score: str) -> dict[str, list[float]]:
    """One panel's lines: the model and both baselines per epoch. On one-class data the two
    baselines are the same picture, drawn as one line named for both (else one hides the other)."""
    series = {who: [float(r.get(f"{key}_{score}", float("nan"))) for r in history] for who, key in WHO.items()}
    base, oracle = series["mean image"], series["class-mean oracle"]
    if np.allclose(base, oracle, equal_nan=True):
        del series["mean image"], series["class-mean oracle"]
        series["mean image = class-mean oracle"] = base
    return series


def curves(history: list[dict], loss: str = "mse"):
    """The results.png picture: a chart of the losses (`loss`: the run's --loss), then one per score."""
    epochs = [r["epoch"] for r in history]
    title, losses = loss_series(loss)
    panels = [line_panel(title, epochs, {k: [float(r.get(f, float("nan"))) for r in history] for k, f in losses.items()})]
    for score, title in PANELS.items():
        series = score_series(history, score)
        if score in ("class_acc", "fd") and all(v != v for v in series["model"]):
            continue  # no classifier (one class, or --no-classifier)
        if score == "class_acc":
            series["real test images"] = [float(r.get("real_class_acc", float("nan"))) for r in history]
        panels.append(line_panel(title, epochs, series))
    return panels_grid(panels, cols=3)


def summary_writer_class():
    """torch.utils.tensorboard's SummaryWriter; a UserError naming the missing package. Called before the run
    folder is made, so a missing extra leaves no empty runs/train/<name> behind."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise UserError("--tensorboard needs the tensorboard package: pip install 'a2i[tensorboard]' "
                        "(or pip install tensorboard), or train without --tensorboard")
    return SummaryWriter


class TensorBoardLog:
    """The run's scalars and sample grids in <run>/tensorboard (torch.utils.tensorboard; optional extra)."""

    def __init__(self, folder: Path):
        self.writer = summary_writer_class()(log_dir=str(folder))

    def epoch(self, record: dict, grid: np.ndarray) -> None:
        e = int(record["epoch"])
        for name, field in TB_LOSSES.items():  # tag names kept stable for dashboards; args.yaml says --loss
            if field in record and record[field] == record[field]:
                self.writer.add_scalar(f"loss/{name}", record[field], e)
        for score in PANELS:
            for who, key in WHO.items():
                v = record.get(f"{key}_{score}")
                if v is not None and v == v:
                    self.writer.add_scalar(f"{score}/{who}", v, e)
        self.writer.add_image("samples (targets above, generated below)", grid, e, dataformats="HWC")
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class RunLog:
    def __init__(self, run_dir: Path, tensorboard: bool, loss: str = "mse"):
        self.run_dir, self.loss = Path(run_dir), str(loss)
        self.tb = TensorBoardLog(self.run_dir / "tensorboard") if tensorboard else None

    def epoch(self, history: list[dict], grid: np.ndarray) -> None:
        """After each epoch: results.csv and results.png from the whole history, TensorBoard for this epoch."""
        write_results(self.run_dir, history)
        save_png(curves(history, self.loss), self.run_dir / "results.png")
        if self.tb:
            self.tb.epoch(history[-1], grid)

    def close(self) -> None:
        if self.tb:
            self.tb.close()


# ----------------------------------------------------------------------------- the lines the run prints

LOSS_WORDS = {"mse": "per-pixel MSE on [-1, 1]", "mse+ssim": "per-pixel MSE on [-1, 1] + {w:g} (1 - SSIM)"}


def _nan(v) -> bool:
    return v is None or v != v


def scores_text(r: dict, prefix: str = "") -> str:
    """'SSIM 0.512  MSE 1234  PSNR 17.3 dB  hist 0.410  sharp 0.95  class acc 61%  FD 3.21' from r[prefix + score]."""
    acc, sharp, fd = r.get(f"{prefix}class_acc"), r.get(f"{prefix}sharpness"), r.get(f"{prefix}fd")
    return (f"SSIM {r[prefix + 'ssim']:.3f}  MSE {r[prefix + 'mse']:.0f}  PSNR {r[prefix + 'psnr']:.1f} dB  "
            f"hist {r[prefix + 'hist']:.3f}" + ("" if _nan(sharp) else f"  sharp {sharp:.2f}")
            + ("" if _nan(acc) else f"  class acc {acc:.0%}") + ("" if _nan(fd) else f"  FD {fd:.2f}"))


def epoch_legend(loss: str, n_test: int, has_val: bool, ssim_weight: float = 0.5) -> str:
    """What the per-epoch line's names mean (printed once, before the first epoch)."""
    loss = str(loss)
    val = f"val {loss}: the same on the validation rows (the lowest chooses best.pt); " if has_val else ""
    return (f"per epoch: train {loss}: the training loss ({LOSS_WORDS.get(loss, loss).format(w=ssim_weight)}); {val}"
            f"test: the {n_test} test images against their targets: SSIM (1 = the same picture), MSE on 0-255 "
            "pixels, PSNR in dB, hist = colour-histogram similarity (1 = the same colours), sharp = sharpness / "
            "the targets' (1 = as sharp), class acc = share the scene classifier reads as the sound's class, FD = Fréchet "
            "distance of the scene classifier's features of the test images to those of the real ones (lower is better)")


def format_epoch(r: dict, epochs: int, loss: str) -> str:
    """The line printed after each epoch: every value named, with its unit where it has one."""
    e = str(r["epoch"]).rjust(len(str(epochs)))
    val = "" if _nan(r.get("val_loss")) else f"  val {loss} {r['val_loss']:.4f}"
    return (f"epoch {e}/{epochs}  train {loss} {r['train_loss']:.4f}{val}  test {scores_text(r, 'test_')}  "
            f"lr {r['lr']:.3g}  {r['seconds']:.1f} s{'  -> best.pt' if r['best'] else ''}")


def best_record(history: list[dict]) -> dict | None:
    """The epoch weights/best.pt holds: the last one marked best."""
    best = [r for r in history if r.get("best")]
    return best[-1] if best else None


def run_summary(history: list[dict], run_dir: Path, loss: str) -> list[str]:
    """The lines printed at the end: the best epoch and its scores beside the baseline, and where the files are."""
    run_dir, best, last = Path(run_dir), best_record(history), history[-1] if history else None
    lines = []
    if best is not None:
        why = (f"lowest val {loss} {best['val_loss']:.4f}" if not _nan(best.get("val_loss"))
               else "the last epoch: no validation rows")
        lines += [f"best epoch {best['epoch']} of {last['epoch']} ({why}): test {scores_text(best, 'test_')}",
                  f"  the mean training image on the same test rows: {scores_text(best, 'baseline_')}",
                  f"  the class-mean oracle on the same test rows:  {scores_text(best, 'oracle_')}"]
    lines += [
        f"run folder   {run_dir}",
        f"best.pt      {run_dir / 'weights' / 'best.pt'}"
        + (f"  (epoch {best['epoch']}; the newest best.pt is what generate, batch-generate and export use by default)"
           if best else ""),
        f"last.pt      {run_dir / 'weights' / 'last.pt'}"
        + (f"  (epoch {last['epoch']}; go on with a2i train --resume {run_dir} --epochs N)" if last else ""),
        f"scores       {run_dir / 'results.csv'}  (curves: {run_dir / 'results.png'})",
        f"samples      {run_dir / 'samples.png'}  (targets above, generated below; each epoch's in {run_dir / 'samples'})",
    ]
    return lines
