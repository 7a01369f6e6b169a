"""Audio -> 104 MFCC features (8 windows x 13 coefficients, frame-major), by a recipe stored with the data.

The one place that knows a feature recipe (docs DATASET.md). Every recipe: audio at
16 kHz mono, 8 Hamming windows, 26 mel filters, 13 coefficients per window with the first
replaced by the window's log energy (the Kaggle rows show a first coefficient near 15 in
every frame); row layout mfcc_1..mfcc_13 = window 1, etc. Where the windows sit is the
recipe's `placement`:

- `second` (the Kaggle recipe): one fixed second per row, windows of 0.25 s (4,000
  samples) spread evenly over it (the 4 quarter-second windows plus the overlapping ones
  in between). Videos, the demo data and one-second sliding windows use it.
- `sound`: the windows are spread over the recording's sound itself, leading and trailing
  silence trimmed (frames more than `trim_db` below the loudest are silence), each window
  a quarter of the sound long, the same proportions as the Kaggle second. A spoken word
  of 0.4 s fills all 8 windows instead of 3 (a probe reading the spoken digit from the
  104 values of unseen speakers: 57% -> 73%, docs/data.md "Feature recipes").

A recipe is plain data (`to_dict` / `recipe_from_dict`): it is written to dataset.json,
the prepared meta.json and every checkpoint, and audio is always turned into features
with the recipe of the data or model at hand (`features_of`, `sliding_features`).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from functools import lru_cache
from math import gcd

import numpy as np

from ..core.config import N_COEFFS, N_FRAMES, Window, choice
from ..core.errors import UserError


@dataclass(frozen=True)
class FeatureRecipe:
    sample_rate: int = 16000
    clip_seconds: float = 1.0  # `second`: the clip a row covers; sliding windows are this long
    n_windows: int = N_FRAMES
    window_samples: int = 4000  # `second`: 0.25 s; `sound`: a quarter of the sound instead
    n_fft: int = 4096  # at least; longer windows use the next power of two
    n_mels: int = 26
    n_coeffs: int = N_COEFFS
    fmin: float = 0.0
    fmax: float = 8000.0
    preemphasis: float = 0.97
    window: str = "hamming"
    int16_scale: bool = True  # energies computed on int16-range samples, as most MFCC tools do
    first_coeff: str = "log_energy"
    layout: str = "frame-major: mfcc_1..mfcc_13 = window 1"
    placement: str = Window.second.value  # second | sound (see the module docstring)
    trim_db: float = 20.0  # `sound`: silence is quieter than the loudest 25 ms frame by this much
    min_sound_seconds: float = 0.1  # `sound`: shorter sounds are widened to this, around their centre

    @property
    def clip_samples(self) -> int:
        return int(round(self.sample_rate * self.clip_seconds))

    @property
    def over_sound(self) -> bool:
        return self.placement == Window.sound

    def window_starts(self) -> np.ndarray:
        """`second` window starts in the clip: 0, 1714, ..., 12000 at the defaults."""
        last = self.clip_samples - self.window_samples
        return np.round(np.linspace(0, last, self.n_windows)).astype(np.int64)

    def to_dict(self) -> dict:
        """Plain JSON data (what dataset.json, meta.json and checkpoints hold)."""
        d = asdict(self)
        if not self.over_sound:
            d["window_starts"] = self.window_starts().tolist()
        return d

    def describe(self) -> str:
        if self.over_sound:
            return f"8 windows over the sound (silence below -{self.trim_db:g} dB trimmed)"
        return f"8 windows over a fixed {self.clip_seconds:g} s"


RECIPE = FeatureRecipe()  # the Kaggle recipe: one fixed second
SOUND_RECIPE = FeatureRecipe(placement=Window.sound.value)  # `extract audio`'s default
KAGGLE_RECIPE = "Kaggle scene dataset: 16 kHz, 8 windows of 0.25 s, 13 MFCC, frame-major (authors' code not public)"


def recipe_for(window: Window | str) -> FeatureRecipe:
    return SOUND_RECIPE if choice(Window, window, "--window") == Window.sound else RECIPE


def recipe_from_dict(d: dict | str | None, where: str = "the data") -> FeatureRecipe:
    """A recipe as stored (dict), or the Kaggle description / nothing (-> the `second` recipe).

    Keys missing from older records take the values they had then (the `second` recipe);
    8 windows x 13 coefficients is the schema and cannot change."""
    if d is None or d == "unknown" or (isinstance(d, str) and d.startswith("Kaggle scene dataset")):
        return RECIPE  # Kaggle data (its description, KAGGLE_RECIPE), or an a2i record older than recipes
    if not isinstance(d, dict):
        raise UserError(f"{where}: the feature recipe is not a JSON object ({str(d)[:60]!r}); the file was edited or "
                        "is not from a2i: make the data (or model) again with a2i")
    names = {f.name for f in fields(FeatureRecipe)}
    recipe = replace(RECIPE, **{k: v for k, v in d.items() if k in names})
    for name, ok, want in _checks(recipe):
        if not ok:
            raise UserError(f"{where}: feature recipe {name} = {getattr(recipe, name)!r}, but it must be {want}; "
                            "the file was edited or is not from a2i: make the data (or model) again with a2i")
    return recipe


def _whole(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)


def _checks(r: FeatureRecipe) -> list[tuple[str, bool, str]]:
    """(field, holds?, what it must be) for every field, in order: the first that fails is reported."""
    rate = _whole(r.sample_rate) and 4000 <= r.sample_rate <= 192_000
    clip = _number(r.clip_seconds) and 0.25 <= r.clip_seconds <= 10
    return [
        ("sample_rate", rate, "a whole number of Hz from 4000 to 192000"),
        ("clip_seconds", clip, "a number of seconds from 0.25 to 10"),
        ("n_windows", _whole(r.n_windows) and r.n_windows == N_FRAMES, f"{N_FRAMES} (a2i reads {N_FRAMES} x {N_COEFFS} features)"),
        ("n_coeffs", _whole(r.n_coeffs) and r.n_coeffs == N_COEFFS, f"{N_COEFFS} (a2i reads {N_FRAMES} x {N_COEFFS} features)"),
        ("window_samples", _whole(r.window_samples) and rate and clip and 16 <= r.window_samples <= r.clip_samples,
         "a whole number of samples from 16 to those of clip_seconds"),
        ("n_fft", _whole(r.n_fft) and 16 <= r.n_fft <= 65536, "a whole number from 16 to 65536"),
        ("n_mels", _whole(r.n_mels) and N_COEFFS <= r.n_mels <= 256, f"a whole number from {N_COEFFS} to 256"),
        ("fmin", _number(r.fmin) and r.fmin >= 0, "a number of Hz, 0 or more"),
        ("fmax", _number(r.fmax) and _number(r.fmin) and rate and r.fmin < r.fmax <= r.sample_rate / 2,
         "a number of Hz above fmin and at most half the sample rate"),
        ("preemphasis", _number(r.preemphasis) and 0 <= r.preemphasis < 1, "a number from 0 to below 1"),
        ("window", r.window == RECIPE.window, repr(RECIPE.window)),
        ("int16_scale", isinstance(r.int16_scale, bool), "true or false"),
        ("first_coeff", r.first_coeff == RECIPE.first_coeff, repr(RECIPE.first_coeff)),
        ("layout", r.layout == RECIPE.layout, repr(RECIPE.layout)),
        ("placement", isinstance(r.placement, str) and r.placement in {w.value for w in Window},
         " or ".join(repr(w.value) for w in Window)),
        ("trim_db", _number(r.trim_db) and 0 < r.trim_db <= 200, "a number of dB above 0, at most 200"),
        ("min_sound_seconds", _number(r.min_sound_seconds) and 0 < r.min_sound_seconds <= 10,
         "a number of seconds above 0, at most 10"),
    ]


def recipe_dict(recipe: FeatureRecipe = RECIPE) -> dict:
    """The recipe as it reads back from JSON (tuples become lists): what stored records compare with."""
    return json.loads(json.dumps(recipe.to_dict()))


def recipe_difference(old: FeatureRecipe, new: FeatureRecipe) -> str:
    """'placement: 'sound' there, 'second' now, ...' for the fields that differ ('' when none)."""
    a, b = asdict(old), asdict(new)
    return ", ".join(f"{k}: {a[k]!r} there, {b[k]!r} now" for k in a if a[k] != b[k])


def _hz_to_mel(hz):
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def _mel_to_hz(mel):
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def mel_points(recipe: FeatureRecipe = RECIPE) -> np.ndarray:
    """(n_mels + 2,) Hz: filter m rises from point m to its centre m + 1 and falls to m + 2 (evenly spaced in mel)."""
    return _mel_to_hz(np.linspace(_hz_to_mel(recipe.fmin), _hz_to_mel(recipe.fmax), recipe.n_mels + 2))


@lru_cache(maxsize=16)
def mel_filterbank(recipe: FeatureRecipe = RECIPE) -> np.ndarray:
    """(n_mels, n_fft//2 + 1) triangular HTK-mel filters."""
    n_bins = recipe.n_fft // 2 + 1
    hz = mel_points(recipe)
    freqs = np.linspace(0, recipe.sample_rate / 2, n_bins)
    fb = np.zeros((recipe.n_mels, n_bins))
    for m in range(recipe.n_mels):
        lo, mid, hi = hz[m], hz[m + 1], hz[m + 2]
        up = (freqs - lo) / max(mid - lo, 1e-9)
        down = (hi - freqs) / max(hi - mid, 1e-9)
        fb[m] = np.clip(np.minimum(up, down), 0, None)
    return fb


@lru_cache(maxsize=8)
def dct_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Orthonormal DCT-II, (n_out, n_in)."""
    k = np.arange(n_out)[:, None]
    n = np.arange(n_in)[None, :]
    m = np.cos(np.pi * k * (2 * n + 1) / (2 * n_in)) * np.sqrt(2.0 / n_in)
    m[0] /= np.sqrt(2.0)
    return m


def resample(audio: np.ndarray, sr: int, target: int = RECIPE.sample_rate) -> np.ndarray:
    """Polyphase resampling of a mono signal to `target` Hz (float32)."""
    audio = np.asarray(audio, dtype=np.float32)
    if sr == target:
        return audio
    from scipy.signal import resample_poly

    g = gcd(int(sr), int(target))
    return resample_poly(audio, target // g, int(sr) // g).astype(np.float32)


def to_mono(audio: np.ndarray) -> np.ndarray:
    """(n,) or (channels, n) -> (n,) float32 by averaging channels."""
    audio = np.asarray(audio, dtype=np.float32)
    return audio.mean(axis=0) if audio.ndim == 2 else audio


def frames_to_features(frames: np.ndarray, recipe: FeatureRecipe) -> np.ndarray:
    """(N, 8, W) windows of int16-scaled samples -> (N, 104) float32 (energy, pre-emphasis, mel, DCT)."""
    n_fft = max(recipe.n_fft, 1 << int(np.ceil(np.log2(frames.shape[-1]))))
    energy = np.maximum((frames**2).sum(axis=-1), 1e-10)  # (N, 8)
    emph = np.concatenate([frames[..., :1], frames[..., 1:] - recipe.preemphasis * frames[..., :-1]], axis=-1)
    emph *= np.hamming(frames.shape[-1])
    spec = np.abs(np.fft.rfft(emph, n=n_fft, axis=-1)) ** 2 / n_fft  # (N, 8, n_fft/2 + 1)
    mel = np.maximum(spec @ mel_filterbank(replace(recipe, n_fft=n_fft)).T, 1e-10)  # (N, 8, 26)
    ceps = np.log(mel) @ dct_matrix(recipe.n_mels, recipe.n_coeffs).T  # (N, 8, 13)
    ceps[..., 0] = np.log(energy)
    return ceps.reshape(len(frames), -1).astype(np.float32)  # frame-major (N, 104)


def clips_to_features(clips: np.ndarray, recipe: FeatureRecipe = RECIPE) -> np.ndarray:
    """`second` recipe, batched: (N, clip_samples) float audio in [-1, 1] at 16 kHz -> (N, 104) float32."""
    clips = np.asarray(clips, dtype=np.float64)
    if clips.ndim == 1:
        clips = clips[None]
    if clips.shape[1] != recipe.clip_samples:
        raise ValueError(f"clips must have {recipe.clip_samples} samples, got {clips.shape[1]}")
    if recipe.int16_scale:
        clips = clips * 32768.0
    idx = recipe.window_starts()[:, None] + np.arange(recipe.window_samples)[None, :]
    return frames_to_features(clips[:, idx], recipe)  # windows (N, 8, 4000)


def sound_span(x: np.ndarray, recipe: FeatureRecipe = SOUND_RECIPE) -> tuple[int, int]:
    """[start, end) samples of the sound in a 16 kHz signal: from the first to the last 25 ms frame
    (10 ms hop) within `trim_db` of the loudest; a silent signal is all sound."""
    sr = recipe.sample_rate
    frame, hop = int(0.025 * sr), int(0.010 * sr)
    if len(x) <= frame:
        return 0, len(x)
    n = 1 + (len(x) - frame) // hop
    power = np.array([np.mean(np.square(x[i * hop : i * hop + frame], dtype=np.float64)) for i in range(n)])
    db = 10 * np.log10(np.maximum(power, 1e-12))
    loud = np.flatnonzero(db >= db.max() - recipe.trim_db)
    end = len(x) if loud[-1] == n - 1 else min(len(x), loud[-1] * hop + frame)  # the last frame: to the end
    return int(loud[0] * hop), int(end)


def sound_windows(x16: np.ndarray, recipe: FeatureRecipe = SOUND_RECIPE) -> tuple[np.ndarray, int, int]:
    """`sound` recipe: where its windows sit in a 16 kHz recording, (starts (8,), width, samples needed).

    The 8 windows, each a quarter of the sound long (n_windows / 2 = 4), are spread evenly
    from the sound's start to its end, as the Kaggle recipe spreads 0.25 s windows over a second.
    A short recording needs more samples than it has (`samples needed` > its length): it is
    widened into zero padding.
    """
    start, end = sound_span(np.asarray(x16, dtype=np.float64), recipe)
    span = max(end - start, int(round(recipe.min_sound_seconds * recipe.sample_rate)))
    start = max(0, (start + end) // 2 - span // 2)
    width = max(1, int(round(span * recipe.window_samples / recipe.clip_samples)))  # a quarter of the sound
    starts = np.round(np.linspace(start, start + span - width, recipe.n_windows)).astype(np.int64)
    return starts, width, start + span


def sound_features(x16: np.ndarray, recipe: FeatureRecipe = SOUND_RECIPE) -> np.ndarray:
    """`sound` recipe, one recording: (n,) 16 kHz mono -> (104,) float32 (windows: `sound_windows`)."""
    x = np.asarray(x16, dtype=np.float64)
    starts, width, needed = sound_windows(x, recipe)
    if needed > len(x):  # a short recording: widen into zero padding
        x = np.pad(x, (0, needed - len(x)))
    if recipe.int16_scale:
        x = x * 32768.0
    frames = x[starts[:, None] + np.arange(width)[None, :]]  # (8, width)
    return frames_to_features(frames[None], recipe)[0]


def fit_clip(audio: np.ndarray, recipe: FeatureRecipe = RECIPE) -> np.ndarray:
    """Cut or zero-pad a 16 kHz mono signal to exactly one clip."""
    n = recipe.clip_samples
    audio = np.asarray(audio, dtype=np.float32)[:n]
    return np.pad(audio, (0, n - len(audio))) if len(audio) < n else audio


def features_of(audio: np.ndarray, sr: int, recipe: FeatureRecipe = RECIPE) -> np.ndarray:
    """One row from one recording, (104,): `second` reads its first second (zero-padded),
    `sound` spreads the windows over the whole recording's sound."""
    x = resample(to_mono(audio), sr, recipe.sample_rate)
    if recipe.over_sound:
        return sound_features(x, recipe)
    return clips_to_features(fit_clip(x, recipe)[None], recipe)[0]


def audio_features(audio: np.ndarray, sr: int, recipe: FeatureRecipe = RECIPE) -> np.ndarray:
    """Features of the first second of a recording (shorter ones zero-padded): (104,). The `second` recipe."""
    return features_of(audio, sr, recipe)


def clip_batch_features(clips: np.ndarray, recipe: FeatureRecipe = RECIPE) -> np.ndarray:
    """(N, clip_samples) 16 kHz clips -> (N, 104) with the recipe: batched for `second`, one by one for `sound`."""
    if recipe.over_sound:
        return np.stack([sound_features(c, recipe) for c in clips]) if len(clips) else np.zeros((0, 104), np.float32)
    return np.concatenate([clips_to_features(clips[i : i + 256], recipe) for i in range(0, len(clips), 256)])


def sliding_features(
    audio: np.ndarray, sr: int, hop_seconds: float = 1.0, recipe: FeatureRecipe = RECIPE
) -> tuple[np.ndarray, np.ndarray]:
    """Features of every full clip [t, t + clip_seconds) with t = 0, hop, 2*hop, ...

    Returns (starts in seconds (T,), features (T, 104)). A recording shorter than one
    clip gives one zero-padded clip. With the `sound` recipe each clip's windows are
    spread over the sound inside it.
    """
    x = resample(to_mono(audio), sr, recipe.sample_rate)
    n, sr16 = recipe.clip_samples, recipe.sample_rate
    count = max(1, int(np.floor((len(x) - n) / (hop_seconds * sr16) + 1e-9)) + 1) if len(x) >= n else 1
    starts = np.arange(count) * hop_seconds
    clips = np.stack([fit_clip(x[int(round(s * sr16)) :], recipe) for s in starts])
    return starts, clip_batch_features(clips, recipe)
