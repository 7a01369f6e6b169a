"""Unheard voices in minutes: the a2i encoder and its class head alone, leave one speaker out.

With class codes the picture shows the class the latent's head predicts, so on spoken digits
the share of pictures read as the spoken digit follows the head's accuracy (docs/quality.md).
This probe trains only that part -- the same TemporalEncoder, a linear head, the a2i recipe's
feature augmentations for `sound` rows (core/recipes.py), Adam, the cosine schedule, batch 32,
the same prepared split -- with cross-entropy alone: no decoder, so one fold takes ~20 s on one
core instead of ~4 minutes. Measured against the full model (bench_quality.py, 40 epochs, seeds
0-2): probe mean 81.9%, worst george 70.0%; full model 81.6%, george 70.1%. It ranks ideas only
roughly: `mask` measured +1.9 points mean and +1.2 on george here, the full model +1.1 mean and
-2 to -5 on george; `pooled` +2.0 on george here, +0.3 in the full model
(docs/quality.md#voices-never-heard). Screen with it, then confirm a winner
with bench_quality.py --train-seeds 1,2 before it goes into a recipe.

    python benchmarks/voice_probe.py                          # the recipe, seeds 0-2, four folds
    python benchmarks/voice_probe.py --variants recipe,mask,tta-shift   # beside other variants

Variants (VARIANTS below; add your own): `recipe` (the sound recipe's augmentations: vocal tract
warp 0.1, feature noise 0.2, frame shift 1, voice offset 1, on one encoder that reads the frame
order; the recipe's class is now read by three pooled class encoders with a random tempo and SAM, which
`ens-3-pooled-stretch-sam` is), `pooled` (the head reads the frames' features
pooled over time only: `--no-frame-order`),
`no-warp`, `warp-0.05`, `warp-0.15` (`--aug-warp` off or at another width), `mask` (plus
`--aug-mask 0.5`), `offset-1.5` (a larger voice offset), `tta-shift` (at test time average the
predictions of the frames shifted by -1, 0, +1), `mixup` (inputs and labels mixed,
Beta(0.3, 0.3)), `gain` (every coefficient scaled by 1 + N(0, 0.2) per recording), `cmvn` (each
recording's coefficients 2-13 minus their mean over its frames, then normalised again), `tilt`
(a random spectral tilt per row: a log-mel line of slope N(0, 2) end to end), `lowband`,
`lowband-4` (the two lowest mel bands, 0-200 Hz, moved by N(0, 2) or N(0, 4) per row), `smooth`
(label smoothing 0.1), `ema-0.99`, `ema-0.998` (scored through a moving average of the weights),
`drop-0.5` (dropout 0.5 in the encoder's head, not 0.2), `width-256`, `width-64` (encoder
channels, not 128), `ens-3`, `ens-3-pooled`, `ens-5-pooled` (3 or 5 encoders trained apart, their
probabilities averaged; `pooled`: each reads the frames pooled over time, as `--class-encoders`),
and on `ens-3-pooled`: `-smooth` (label smoothing 0.1), `-spknorm` (each speaker's features
normalised by that speaker's own mean and std, the test voice's too: Kaldi's per-speaker CMVN,
which needs a voice's rows before its first is read), `-adv` (a speaker adversary through a
gradient reversal, scale 0.3, so each encoder is pushed to forget the training voices) and
`-vtln` (at test time each row read at the vocal tract warp, 0.85-1.15 in 7 steps, at which the
ensemble's top probability is highest: a confidence-picked warp per row, in the spirit of VTLN),
`-spkmean` (as `-spknorm`, the mean only: a shift commutes with the training warp, a per-speaker
scale does not, so `-spknorm` also changes what the warp does), `-stretch` (each training row's 8 frames read
again at a random tempo, 0.8-1.25, around a random frame: `--aug-stretch 0.25`), `-views` (member 2 reads
without coefficients 10-13, member 3 without the log energy), `-sam` (each member trained sharpness-aware,
radius 0.05: `--class-sam 0.05`) and `-stretch-sam` (both; the recipe's class encoders), and on that:
`-tta-shift` / `-tta-tempo` (at test time each row also read with its frames shifted by -1 and +1, or at
tempo 1/1.12 and 1.12 around its middle, the probabilities summed), `-0.1` (SAM radius 0.1), `ens-3-pooled-stretch-0.12-sam`
(a milder tempo, 0.89-1.12) and `ens-3-pooled-mixed` (only the first member with the tempo, all three with SAM).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn  # noqa: E402

from a2i_cli.core.checks import MAX_SEED  # noqa: E402
from a2i_cli.core.config import N_COEFFS, N_FRAMES, ModelConfig, PrepareConfig, SplitConfig, TrainConfig  # noqa: E402
from a2i_cli.core.recipes import RECIPES, SOUND_RECIPES  # noqa: E402
from a2i_cli.data.prepare import prepare  # noqa: E402
from a2i_cli.data.features import dct_matrix, recipe_from_dict  # noqa: E402
from a2i_cli.data.normalize import Normalizer  # noqa: E402
from a2i_cli.data.prepared import Prepared  # noqa: E402
from a2i_cli.model.losses import augment_features, stretch_frames  # noqa: E402
from a2i_cli.model.network import TemporalEncoder  # noqa: E402
from a2i_cli.model.trainer import epoch_lr  # noqa: E402
from a2i_cli.model.warp import FeatureWarp  # noqa: E402
from bench_quality import has_digits_data, make_digits  # noqa: E402

SPEAKERS = ("george", "jackson", "lucas", "yweweler")
SHARED_DATA = REPO / ".." / "shared" / "data"
RECIPE = {**RECIPES["a2i"], **SOUND_RECIPES["a2i"]}  # what `a2i train` uses on spoken digits


def recipe_aug(x: torch.Tensor, **change) -> torch.Tensor:
    r = {**RECIPE, **change}
    return augment_features(x, r["aug_noise"], r["aug_shift"], offset=r["aug_offset"], mask=r["aug_mask"])  # (B, 104)


def gain_aug(x: torch.Tensor, std: float = 0.2) -> torch.Tensor:
    x = recipe_aug(x)
    return (x.view(len(x), N_FRAMES, N_COEFFS) * (1 + std * torch.randn(len(x), 1, N_COEFFS))).reshape(len(x), -1)


def shift_tta(predict, x: torch.Tensor) -> torch.Tensor:
    v = x.view(len(x), N_FRAMES, N_COEFFS)
    probs = 0
    for s in (-1, 0, 1):
        pos = (torch.arange(N_FRAMES) - s).clamp(0, N_FRAMES - 1)  # edge frames repeated, as augment_features
        probs = probs + F.softmax(predict(v[:, pos].reshape(len(x), -1)), 1)
    return probs


def tempo_tta(predict, x: torch.Tensor, rate: float = 1.12) -> torch.Tensor:
    """Probabilities summed over the row read at tempo 1/rate, 1 and rate around its middle (edge frames repeated)."""
    frames = x.view(len(x), N_FRAMES, N_COEFFS)
    centre, t = (N_FRAMES - 1) / 2, torch.arange(N_FRAMES, dtype=torch.float32)
    probs = 0
    for r in (1 / rate, 1.0, rate):
        pos = (centre + (t - centre) * r).clamp(0, N_FRAMES - 1)  # (8,) where each output frame reads
        lo = pos.floor().long().clamp(max=N_FRAMES - 2)
        w = (pos - lo)[None, :, None]  # (1, 8, 1)
        read = (1 - w) * frames[:, lo] + w * frames[:, lo + 1]  # (B, 8, 13)
        probs = probs + F.softmax(predict(read.reshape(len(x), -1)), 1)
    return probs


def cmvn(raw: np.ndarray, folders: np.ndarray) -> np.ndarray:
    v = raw.reshape(len(raw), N_FRAMES, N_COEFFS).copy()
    v[:, :, 1:] -= v[:, :, 1:].mean(1, keepdims=True)
    return v.reshape(len(raw), -1)


def speaker_norm(raw: np.ndarray, folders: np.ndarray, scale: bool = True) -> np.ndarray:
    """Each folder's (speaker's) coefficients minus their mean and (`scale`) over their std, over its rows and frames
    (Kaldi's per-speaker CMVN): needs all of a new voice's rows before the first is read, so it is a probe, not a
    product path."""
    v = raw.reshape(len(raw), N_FRAMES, N_COEFFS).astype(np.float64)
    for f in np.unique(folders):
        s = folders == f
        v[s] = v[s] - v[s].mean((0, 1), keepdims=True)
        if scale:
            v[s] /= v[s].std((0, 1), keepdims=True) + 1e-6
    return v.reshape(len(raw), -1).astype(np.float32)


class _Reverse(torch.autograd.Function):
    """Identity forward; the gradient times -scale backward (a gradient reversal layer, Ganin and Lempitsky 2015)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return -ctx.scale * grad, None


def tilt(b: int, n_mels: int, std: float = 2.0) -> torch.Tensor:
    """(B, n_mels) log-mel offsets: a straight line across the bands, slope N(0, std) natural-log units end to end."""
    return std * torch.randn(b, 1) * (torch.linspace(0, 1, n_mels) - 0.5)[None]


def lowband(b: int, n_mels: int, std: float = 2.0, bands: int = 2) -> torch.Tensor:
    """(B, n_mels) log-mel offsets: the lowest `bands` bands (0-200 Hz at 26 bands to 8 kHz) moved by N(0, std)."""
    out = torch.zeros(b, n_mels)
    out[:, :bands] = std * torch.randn(b, 1)
    return out


class Drop(torch.nn.Module):
    """Zeroes (sets to the training mean) the given coefficients (0-based) in all 8 frames: one member's view."""

    def __init__(self, coeffs: list[int]):
        super().__init__()
        keep = torch.ones(N_FRAMES, N_COEFFS)
        keep[:, coeffs] = 0
        self.register_buffer("keep", keep.reshape(-1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.keep


def dropout_encoder(p: float):
    def build(cfg: ModelConfig) -> TemporalEncoder:
        enc = TemporalEncoder(cfg)
        enc.head[2] = torch.nn.Dropout(p)
        return enc
    return build


VARIANTS = {  # name -> what differs from the recipe: aug (train batch), mixup (alpha), tta, raw (feature transform), warp
    "recipe": {},
    "pooled": {"model": {"frame_order": False}},
    "no-warp": {"warp": 0.0},
    "warp-0.05": {"warp": 0.05},
    "warp-0.15": {"warp": 0.15},
    "mask": {"aug": lambda x: recipe_aug(x, aug_mask=0.5)},
    "offset-1.5": {"aug": lambda x: recipe_aug(x, aug_offset=1.5)},
    "tta-shift": {"tta": True},
    "mixup": {"mixup": 0.3},
    "gain": {"aug": gain_aug},
    "cmvn": {"raw": cmvn},
    "tilt": {"eq": tilt},
    "lowband": {"eq": lowband},
    "lowband-4": {"eq": lambda b, n: lowband(b, n, std=4.0)},
    "smooth": {"smooth": 0.1},
    "ema-0.99": {"ema": 0.99},
    "ema-0.998": {"ema": 0.998},
    "drop-0.5": {"encoder": dropout_encoder(0.5)},
    "width-256": {"model": {"temporal_channels": 256}},
    "width-64": {"model": {"temporal_channels": 64}},
    "ens-3": {"ensemble": 3},
    "ens-3-pooled": {"ensemble": 3, "model": {"frame_order": False}},
    "ens-5-pooled": {"ensemble": 5, "model": {"frame_order": False}},
    "ens-3-pooled-smooth": {"ensemble": 3, "model": {"frame_order": False}, "smooth": 0.1},
    "ens-3-pooled-spknorm": {"ensemble": 3, "model": {"frame_order": False}, "raw": speaker_norm},
    "ens-3-pooled-spkmean": {"ensemble": 3, "model": {"frame_order": False},
                             "raw": lambda r, f: speaker_norm(r, f, scale=False)},
    "ens-3-pooled-adv": {"ensemble": 3, "model": {"frame_order": False}, "adversary": 0.3},
    "ens-3-pooled-vtln": {"ensemble": 3, "model": {"frame_order": False}, "vtln": (0.15, 7)},
    "ens-3-pooled-stretch": {"ensemble": 3, "model": {"frame_order": False},
                             "aug": lambda x: recipe_aug(stretch_frames(x, 0.25))},
    "ens-3-pooled-views": {"ensemble": 3, "model": {"frame_order": False}, "views": [[], [9, 10, 11, 12], [0]]},
    "ens-3-pooled-sam": {"ensemble": 3, "model": {"frame_order": False}, "sam": 0.05},
    "ens-3-pooled-stretch-sam": {"ensemble": 3, "model": {"frame_order": False}, "sam": 0.05,
                                 "aug": lambda x: recipe_aug(stretch_frames(x, 0.25))},
    "ens-3-pooled-stretch-sam-tta-shift": {"ensemble": 3, "model": {"frame_order": False}, "sam": 0.05, "tta": shift_tta,
                                           "aug": lambda x: recipe_aug(stretch_frames(x, 0.25))},
    "ens-3-pooled-stretch-sam-tta-tempo": {"ensemble": 3, "model": {"frame_order": False}, "sam": 0.05, "tta": tempo_tta,
                                           "aug": lambda x: recipe_aug(stretch_frames(x, 0.25))},
    "ens-3-pooled-stretch-sam-0.1": {"ensemble": 3, "model": {"frame_order": False}, "sam": 0.1,
                                     "aug": lambda x: recipe_aug(stretch_frames(x, 0.25))},
    "ens-3-pooled-stretch-0.12-sam": {"ensemble": 3, "model": {"frame_order": False}, "sam": 0.05,
                                      "aug": lambda x: recipe_aug(stretch_frames(x, 0.12))},
    "ens-3-pooled-mixed": {"ensemble": 3, "model": {"frame_order": False}, "sam": 0.05,  # member 1 with the tempo only
                           "members": [{"aug": lambda x: recipe_aug(stretch_frames(x, 0.25))}, {}, {}]},
}


def fold(digits: Path, work: Path, speaker: str) -> Path:
    """The prepared split bench_quality uses for this held-out speaker (split seed 0)."""
    path, _ = prepare(PrepareConfig(data=digits, classes=["all"], image_size=32, name=f"loso-{speaker}", exist_ok=True,
                                    split=SplitConfig(seed=0, test_folders=(speaker,)), runs_root=work / "runs"))
    return path


def probe(prepared: Path, variant: str, seed: int, epochs: int) -> float:
    """Test accuracy of the encoder's class head after `epochs` epochs (the last weights)."""
    spec, cfg = VARIANTS[variant], TrainConfig(epochs=epochs, lr_schedule=RECIPE["lr_schedule"])
    data = Prepared.load(prepared)
    classes = sorted(data.rows["CLASS2"].unique())
    labels = torch.tensor(data.rows["CLASS2"].map({c: i for i, c in enumerate(classes)}).to_numpy())
    folders = data.rows["folder"].to_numpy()  # the speakers
    raw = spec.get("raw", lambda r, f: r)(data.features.astype(np.float32), folders)  # (N, 104)
    tr, te = data.indices("train"), data.indices("test")
    norm = Normalizer.fit(raw[tr])  # the training rows' statistics, as prepare's
    x = torch.from_numpy(norm(raw))
    width = spec.get("warp", RECIPE["aug_warp"])
    warp = FeatureWarp(recipe_from_dict(data.meta.get("feature_recipe"), str(prepared)), norm, width) if width else None
    eq = None
    if "eq" in spec:  # a log-mel offset per row -> coefficients 2-13 in every frame, in normalised units
        r = recipe_from_dict(data.meta.get("feature_recipe"), str(prepared))
        dct = torch.from_numpy(dct_matrix(r.n_mels, N_COEFFS)[1:].astype(np.float32))  # (12, n_mels)
        std = torch.from_numpy(norm.std).view(N_FRAMES, N_COEFFS)[:, 1:]  # (8, 12)
        eq = lambda b: F.pad((spec["eq"](b, r.n_mels) @ dct.T)[:, None, :] / std, (1, 0)).reshape(b, -1)  # noqa: E731
    speaker = torch.from_numpy(np.unique(folders, return_inverse=True)[1][tr])  # (N_train,) for the adversary
    members = [train_member({**spec, **spec.get("members", [{}] * (j + 1))[j]}, cfg, x[tr], labels[tr], len(classes), warp, eq, seed + ENSEMBLE_STRIDE * j, speaker,
                            view=spec["views"][j] if "views" in spec else None)
               for j in range(spec.get("ensemble", 1))]
    with torch.no_grad():  # an ensemble averages its members' probabilities
        if "vtln" in spec:  # each row read at the warp factor where its ensemble's top probability is highest
            width, steps = spec["vtln"]  # factors 1 - width ... 1 + width
            fixed = FeatureWarp(recipe_from_dict(data.meta.get("feature_recipe"), str(prepared)), norm, width, steps)
            probs = torch.stack([sum(F.softmax(m(warp_each(fixed, x[te], k)), 1) for m in members)
                                 for k in range(steps)])  # (A, N, classes)
            best = probs.max(2).values.argmax(0)  # (N,) the factor each row is surest at
            scores = probs[best, torch.arange(len(best))]
        else:
            tta = shift_tta if spec.get("tta") is True else spec.get("tta")
            scores = sum(tta(m, x[te]) if tta else F.softmax(m(x[te]), 1) for m in members)
    return float((scores.argmax(1) == labels[te]).float().mean())


def warp_each(warp: FeatureWarp, x: torch.Tensor, k: int) -> torch.Tensor:
    """(B, 104) normalised rows, every one warped by the k-th of `warp`'s matrices."""
    raw = x.reshape(len(x), N_FRAMES, N_COEFFS) * warp.std + warp.mean  # (B, 8, 13)
    ceps = torch.einsum("ij,bfj->bfi", warp.matrices[k], raw[:, :, 1:])  # (B, 8, 12)
    return ((torch.cat([raw[:, :, :1], ceps], dim=2) - warp.mean) / warp.std).reshape(len(x), -1)


ENSEMBLE_STRIDE = 100_000  # member j of training seed s is seeded s + 100000 j (member 0: the seed itself)


def train_member(spec: dict, cfg: TrainConfig, xtr: torch.Tensor, ytr: torch.Tensor, n_classes: int,
                 warp: FeatureWarp | None, eq, seed: int, speaker: torch.Tensor | None = None,
                 view: list[int] | None = None) -> torch.nn.Module:
    """One encoder + linear head trained on (xtr (N, 104), ytr (N,)); returned in eval mode. With spec["adversary"] a
    small head learns the training speaker (`speaker` (N,)) from the encoder's output through a gradient reversal,
    so the encoder is pushed to forget the voice (its scale ramps up as in DANN)."""
    torch.manual_seed(seed)
    model = ModelConfig(**{"arch": "a2i", "image_size": 32, "frame_order": RECIPE["frame_order"], **spec.get("model", {})})
    encoder = spec.get("encoder", TemporalEncoder)(model)
    head = torch.nn.Linear(encoder.head[-1].out_features, n_classes)
    net = torch.nn.Sequential(encoder, head) if not view else torch.nn.Sequential(Drop(view), encoder, head)
    adv_scale = spec.get("adversary", 0.0)
    adv = torch.nn.Sequential(torch.nn.Linear(encoder.head[-1].out_features, 64), torch.nn.ReLU(),
                              torch.nn.Linear(64, int(speaker.max()) + 1)) if adv_scale else None
    opt = torch.optim.Adam([*net.parameters(), *(adv.parameters() if adv else [])], lr=cfg.lr)
    steps, step = cfg.epochs * -(-len(xtr) // cfg.batch_size), 0
    ema = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(spec["ema"]), use_buffers=True) if "ema" in spec else None
    aug, alpha, smooth = spec.get("aug", recipe_aug), spec.get("mixup", 0.0), spec.get("smooth", 0.0)
    for epoch in range(cfg.epochs):
        for group in opt.param_groups:  # the recipe's schedule, as the trainer sets it (epochs are 1-based there)
            group["lr"] = epoch_lr(cfg, epoch + 1)
        net.train()
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), cfg.batch_size):
            idx = perm[i : i + cfg.batch_size]
            if len(idx) < 2:
                continue
            xb, yb = aug(xtr[idx] if warp is None else warp(xtr[idx])), ytr[idx]  # the warp first, as the trainer
            if eq is not None:
                xb = xb + eq(len(xb))
            if alpha:
                lam, other = float(np.random.beta(alpha, alpha)), torch.randperm(len(idx))
                out = net(lam * xb + (1 - lam) * xb[other])
                loss = lam * F.cross_entropy(out, yb) + (1 - lam) * F.cross_entropy(out, yb[other])
            elif adv is not None:
                h = encoder(xb)  # (B, latent)
                ramp = adv_scale * (2 / (1 + np.exp(-10 * step / steps)) - 1)
                loss = F.cross_entropy(head(h), yb) + F.cross_entropy(adv(_Reverse.apply(h, ramp)), speaker[idx])
            elif "sam" in spec:  # sharpness-aware: the gradient taken at the worst point within rho of the weights
                opt.zero_grad(set_to_none=True)
                F.cross_entropy(net(xb), yb).backward()
                params = [p for p in net.parameters() if p.grad is not None]
                norm = torch.norm(torch.stack([p.grad.norm() for p in params])) + 1e-12
                with torch.no_grad():
                    eps = [spec["sam"] * p.grad / norm for p in params]
                    for p, e in zip(params, eps):
                        p.add_(e)
                opt.zero_grad(set_to_none=True)
                loss = F.cross_entropy(net(xb), yb)
                loss.backward()
                with torch.no_grad():
                    for p, e in zip(params, eps):
                        p.sub_(e)
                opt.step()
                step += 1
                continue
            else:
                loss = F.cross_entropy(net(xb), yb, label_smoothing=smooth)
            step += 1
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if ema is not None:
                ema.update_parameters(net)
    final = ema.module if ema is not None else net
    return final.eval()


def _job(args) -> tuple:
    torch.set_num_threads(1)
    prepared, variant, speaker, seed, epochs = args
    return variant, speaker, seed, probe(prepared, variant, seed, epochs)


def main() -> None:
    class Help(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
        pass

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=Help)
    ap.add_argument("--variants", default="recipe", help=f"comma list of {', '.join(VARIANTS)}")
    ap.add_argument("--seeds", default="0,1,2", help="training seeds (the split is always seed 0)")
    ap.add_argument("--epochs", type=int, default=40, help="epochs per training (bench_quality's plain defaults: 40)")
    ap.add_argument("--folds", default=",".join(SPEAKERS), help="the speakers held out in turn")
    ap.add_argument("--jobs", type=int, default=2, help="processes, one thread each")
    ap.add_argument("--shared-data", type=Path, default=SHARED_DATA, help="folder with fsdd/ and mnist/")
    args = ap.parse_args()
    variants = [v for v in args.variants.split(",") if v]
    bad = [v for v in variants if v not in VARIANTS]
    if bad or not variants:
        ap.error(f"--variants {args.variants!r}: choose from {', '.join(VARIANTS)}")
    folds = [s for s in args.folds.split(",") if s]
    if not folds or any(s not in SPEAKERS for s in folds):
        ap.error(f"--folds {args.folds!r}: a comma list of {', '.join(SPEAKERS)}")
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
        if any(s < 0 for s in seeds):
            raise ValueError
    except ValueError:
        ap.error(f"--seeds {args.seeds!r}: a comma list of whole numbers, 0 or more")
    if not seeds or args.epochs < 1 or not 1 <= args.jobs <= 64 or max(seeds) > MAX_SEED:
        ap.error(f"give at least one seed (at most {MAX_SEED}), one epoch and 1 to 64 jobs")
    if not has_digits_data(args.shared_data):
        ap.error(f"--shared-data {args.shared_data}: needs fsdd/*.wav and mnist/mnist_digits_a.npz (../shared/data)")

    with tempfile.TemporaryDirectory(prefix="a2i-voice-probe-") as tmp:
        work = Path(tmp)
        digits = make_digits(work / "digits", args.shared_data, 32)
        prepared = {s: fold(digits, work, s) for s in folds}
        jobs = [(prepared[s], v, s, seed, args.epochs) for v in variants for s in folds for seed in seeds]
        t0 = time.perf_counter()
        with mp.get_context("fork").Pool(args.jobs) as pool:
            results = pool.map(_job, jobs, chunksize=1)
    acc = {(v, s): np.mean([a for v2, s2, _, a in results if (v2, s2) == (v, s)]) for v in variants for s in folds}
    print(f"\nclass head accuracy on the held-out speaker ({args.epochs} epochs, mean over training seeds "
          f"{', '.join(map(str, seeds))}; {time.perf_counter() - t0:.0f} s)\n")
    print("| variant | " + " | ".join(folds) + " | mean | worst |\n|---|" + "---:|" * (len(folds) + 2))
    for v in variants:
        row = [acc[v, s] for s in folds]
        print(f"| {v} | " + " | ".join(f"{a:.1%}" for a in row) + f" | {np.mean(row):.1%} | {min(row):.1%} |")


if __name__ == "__main__":
    main()
