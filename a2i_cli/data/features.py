"""Audio -> 104 MFCC features (8 frames x 13 coefficients, frame-major).

The one place that knows the feature recipe (docs DATASET.md): audio at 16 kHz, one
second per row, 8 windows of 0.25 s (4,000 samples) spread evenly over the second (the
4 non-overlapping quarter-second windows plus the overlapping ones in between), 13 MFCCs
per window, the first replaced by the window's log energy (the Kaggle rows show a first
coefficient near 15 in every frame). Row layout: mfcc_1..mfcc_13 is window 1, etc.

`RECIPE` is written next to every dataset a2i makes, so features stay comparable.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from math import gcd

import numpy as np

from ..core.config import N_COEFFS, N_FRAMES


@dataclass(frozen=True)
class FeatureRecipe:
    sample_rate: int = 16000
    clip_seconds: float = 1.0
    n_windows: int = N_FRAMES
    window_samples: int = 4000  # 0.25 s
    n_fft: int = 4096
    n_mels: int = 26
    n_coeffs: int = N_COEFFS
    fmin: float = 0.0
    fmax: float = 8000.0
    preemphasis: float = 0.97
    window: str = "hamming"
    int16_scale: bool = True  # energies computed on int16-range samples, as most MFCC tools do
    first_coeff: str = "log_energy"
    layout: str = "frame-major: mfcc_1..mfcc_13 = window 1"

    @property
    def clip_samples(self) -> int:
        return int(round(self.sample_rate * self.clip_seconds))

    def window_starts(self) -> np.ndarray:
        """Evenly spread window starts: 0, 1714, ..., 12000 at the defaults."""
        last = self.clip_samples - self.window_samples
        return np.round(np.linspace(0, last, self.n_windows)).astype(np.int64)

    def to_dict(self) -> dict:
        return {**asdict(self), "window_starts": self.window_starts().tolist()}


RECIPE = FeatureRecipe()


def _hz_to_mel(hz):
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def _mel_to_hz(mel):
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


@lru_cache(maxsize=8)
def mel_filterbank(recipe: FeatureRecipe = RECIPE) -> np.ndarray:
    """(n_mels, n_fft//2 + 1) triangular HTK-mel filters."""
    n_bins = recipe.n_fft // 2 + 1
    mels = np.linspace(_hz_to_mel(recipe.fmin), _hz_to_mel(recipe.fmax), recipe.n_mels + 2)
    hz = _mel_to_hz(mels)
    freqs = np.linspace(0, recipe.sample_rate / 2, n_bins)
    fb = np.zeros((recipe.n_mels, n_bins))
    for m in range(recipe.n_mels):
        lo, mid, hi = hz[m], hz[m + 1], hz[m + 2]
        up = (freqs - lo) / max(mid - lo, 1e-9)
        down = (hi - freqs) / max(hi - mid, 1e-9)
        fb[m] = np.clip(np.minimum(up, down), 0, None)
    return fb


@lru_cache(maxsize=8)
def _dct_matrix(n_in: int, n_out: int) -> np.ndarray:
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


def clips_to_features(clips: np.ndarray, recipe: FeatureRecipe = RECIPE) -> np.ndarray:
    """(N, clip_samples) float audio in [-1, 1] at recipe.sample_rate -> (N, 104) float32."""
    clips = np.asarray(clips, dtype=np.float64)
    if clips.ndim == 1:
        clips = clips[None]
    if clips.shape[1] != recipe.clip_samples:
        raise ValueError(f"clips must have {recipe.clip_samples} samples, got {clips.shape[1]}")
    if recipe.int16_scale:
        clips = clips * 32768.0
    idx = recipe.window_starts()[:, None] + np.arange(recipe.window_samples)[None, :]
    frames = clips[:, idx]  # (N, 8, 4000)
    energy = np.maximum((frames**2).sum(axis=-1), 1e-10)  # (N, 8)
    emph = np.concatenate([frames[..., :1], frames[..., 1:] - recipe.preemphasis * frames[..., :-1]], axis=-1)
    emph *= np.hamming(recipe.window_samples)
    spec = np.abs(np.fft.rfft(emph, n=recipe.n_fft, axis=-1)) ** 2 / recipe.n_fft  # (N, 8, 2049)
    mel = np.maximum(spec @ mel_filterbank(recipe).T, 1e-10)  # (N, 8, 26)
    ceps = np.log(mel) @ _dct_matrix(recipe.n_mels, recipe.n_coeffs).T  # (N, 8, 13)
    ceps[..., 0] = np.log(energy)
    return ceps.reshape(len(clips), -1).astype(np.float32)  # frame-major (N, 104)


def fit_clip(audio: np.ndarray, recipe: FeatureRecipe = RECIPE) -> np.ndarray:
    """Cut or zero-pad a 16 kHz mono signal to exactly one clip."""
    n = recipe.clip_samples
    audio = np.asarray(audio, dtype=np.float32)[:n]
    return np.pad(audio, (0, n - len(audio))) if len(audio) < n else audio


def audio_features(audio: np.ndarray, sr: int, recipe: FeatureRecipe = RECIPE) -> np.ndarray:
    """Features of the first second of a recording (shorter ones zero-padded): (104,)."""
    return clips_to_features(fit_clip(resample(to_mono(audio), sr, recipe.sample_rate), recipe)[None], recipe)[0]


def sliding_features(
    audio: np.ndarray, sr: int, hop_seconds: float = 1.0, recipe: FeatureRecipe = RECIPE
) -> tuple[np.ndarray, np.ndarray]:
    """Features of every full 1-s window [t, t+1) with t = 0, hop, 2*hop, ...

    Returns (starts in seconds (T,), features (T, 104)). A recording shorter than one
    second gives one zero-padded window.
    """
    x = resample(to_mono(audio), sr, recipe.sample_rate)
    n, sr16 = recipe.clip_samples, recipe.sample_rate
    count = max(1, int(np.floor((len(x) - n) / (hop_seconds * sr16) + 1e-9)) + 1) if len(x) >= n else 1
    starts = np.arange(count) * hop_seconds
    clips = np.stack([fit_clip(x[int(round(s * sr16)) :], recipe) for s in starts])
    out = [clips_to_features(clips[i : i + 256], recipe) for i in range(0, len(clips), 256)]
    return starts, np.concatenate(out)
