"""Synthetic one-second soundscapes for the demo dataset (see demo.py).

Every class mixes a few components (shaped noise, chirps, tones, beeps, clicks, amplitude
modulation). The levels and event rates of the components are set by the same per-second
scene parameters in [0, 1] that drive the picture (demo_scenes.py), so the sound predicts
the image. All synthesis is vectorised over the rows of one source folder: noise is shaped
in the frequency domain, events are impulse trains convolved with a short kernel.
"""
from __future__ import annotations

import numpy as np

from .classes import OUTDOOR

SR = 16000
N = SR  # one second


def db(level_db) -> np.ndarray:
    return 10.0 ** (np.asarray(level_db, dtype=np.float64) / 20.0)


def lvl(p, lo: float = -42.0, hi: float = -12.0) -> np.ndarray:
    """Parameter in [0, 1] -> RMS amplitude, linear in dB (so log-mel is ~linear in p)."""
    return db(lo + (hi - lo) * np.asarray(p, dtype=np.float64))


def shaped_noise(rng: np.random.Generator, n: int, lo: float, hi: float, tilt: float = 0.0) -> np.ndarray:
    """(n, N) unit-RMS noise band-limited to [lo, hi] Hz with a spectral tilt f**tilt."""
    f = np.arange(N // 2 + 1, dtype=np.float64)  # 1 Hz bins
    mask = 1.0 / (1.0 + np.exp(-(f - lo) / (0.08 * lo + 15.0))) / (1.0 + np.exp((f - hi) / (0.08 * hi + 15.0)))
    mask *= np.maximum(f, 20.0) ** tilt
    spec = (rng.standard_normal((n, f.size)) + 1j * rng.standard_normal((n, f.size))) * mask
    x = np.fft.irfft(spec, n=N, axis=1)
    return x / (np.sqrt((x**2).mean(axis=1, keepdims=True)) + 1e-12)


def slow_am(rng: np.random.Generator, n: int, rate_lo: float, rate_hi: float, depth: float) -> np.ndarray:
    """(n, N) smooth amplitude envelope 1 +- depth at a random rate per row (mean ~1)."""
    t = np.arange(N) / SR
    rate = rng.uniform(rate_lo, rate_hi, (n, 1))
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    return 1.0 + depth * np.sin(2 * np.pi * rate * t + phase)


def events(rng: np.random.Generator, counts: np.ndarray, kernel: np.ndarray, amp_jitter: float = 0.3) -> np.ndarray:
    """(n, N): `counts[i]` copies of `kernel` at random times in row i (FFT convolution)."""
    n = len(counts)
    kmax = int(max(counts.max(initial=0), 1))
    pos = rng.integers(0, N, (n, kmax))
    amp = np.exp(amp_jitter * rng.standard_normal((n, kmax))) * (np.arange(kmax)[None] < counts[:, None])
    imp = np.zeros((n, N))
    np.add.at(imp, (np.repeat(np.arange(n), kmax), pos.ravel()), amp.ravel())
    m = N + len(kernel)
    y = np.fft.irfft(np.fft.rfft(imp, m, axis=1) * np.fft.rfft(kernel, m)[None], m, axis=1)[:, :N]
    return y


def tone(freqs, dur: float, harmonics=(1.0,), decay: float = 0.0, fm: float = 0.0, fm_rate: float = 0.0) -> np.ndarray:
    """A short event: a (possibly gliding) harmonic tone with a smooth attack/release.

    freqs: (start, end) Hz glide. decay: exponential decay rate (1/s). fm: vibrato depth Hz.
    """
    t = np.arange(int(dur * SR)) / SR
    f0 = np.linspace(freqs[0], freqs[1], t.size) + fm * np.sin(2 * np.pi * fm_rate * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    y = sum(a * np.sin((h + 1) * phase) for h, a in enumerate(harmonics))
    env = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.008) * np.exp(-decay * t)
    y = y * env
    return y / (np.sqrt((y**2).mean()) + 1e-12)


def babble(rng: np.random.Generator, n: int, voices: np.ndarray, f0_range=(100.0, 260.0)) -> np.ndarray:
    """(n, N) crowd-of-voices: harmonic buzz with syllable-rate AM, `voices[i]` talkers in row i."""
    t = np.arange(N) / SR
    out = np.zeros((n, N))
    vmax = int(max(voices.max(initial=0), 1))
    for v in range(vmax):
        on = (v < voices)[:, None].astype(np.float64)
        f0 = rng.uniform(*f0_range, (n, 1)) * (1 + 0.06 * np.sin(2 * np.pi * rng.uniform(0.5, 2, (n, 1)) * t))
        buzz = (np.cumsum(np.broadcast_to(f0, (n, N)), axis=1) / SR) % 1.0 - 0.5  # sawtooth: all harmonics
        syll = np.clip(np.sin(2 * np.pi * rng.uniform(3, 6, (n, 1)) * t + rng.uniform(0, 6.3, (n, 1))), 0, None)
        out += on * buzz * syll
    f = np.arange(N // 2 + 1)
    out = np.fft.irfft(np.fft.rfft(out, axis=1) / (1 + (f / 3000.0) ** 4), n=N, axis=1)  # voices stay below ~3.5 kHz
    return out / (np.sqrt((out**2).mean(axis=1, keepdims=True)) + 1e-12)


def _rate(rng, p, lo, hi):
    """Event count per row: lo..hi by p, stochastically rounded (so counts follow p closely)."""
    return np.floor(lo + (hi - lo) * np.asarray(p) + rng.random(np.shape(p))).astype(np.int64)


def synth_class(class2: str, params: np.ndarray, style: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n, 3) parameters (a, b, light) of consecutive seconds -> (n, N) float audio in [-1, 1].

    style: the source folder's 8 fixed numbers in [0, 1] (background hum, noise floor, ...).
    """
    n = len(params)
    a, b, light = (params[:, i : i + 1] for i in range(3))
    ac, bc = params[:, 0], params[:, 1]
    t = np.arange(N) / SR
    if class2 == "BEACH":  # a: surf, b: gulls
        x = lvl(a, -40, -10) * shaped_noise(rng, n, 60, 1500, -0.3) * slow_am(rng, n, 0.2, 0.6, 0.6)
        x += lvl(a, -50, -24) * shaped_noise(rng, n, 2500, 5500)
        x += lvl(b, -44, -16) * events(rng, _rate(rng, bc, 0, 7), tone((2800, 1500), 0.22, (1, 0.5, 0.25)))
    elif class2 == "FOREST":  # a: birdsong, b: wind
        x = lvl(a, -46, -14) * events(rng, _rate(rng, ac, 1, 16), tone((4200, 5600), 0.08, (1, 0.2), fm=300, fm_rate=40))
        x += lvl(b, -44, -14) * shaped_noise(rng, n, 80, 900, -0.5) * slow_am(rng, n, 0.3, 1.2, 0.7)
        x += lvl(b, -54, -26) * shaped_noise(rng, n, 3000, 5500)
    elif class2 == "CITY":  # a: traffic, b: horns
        x = lvl(a, -40, -10) * shaped_noise(rng, n, 30, 700, -0.8) * slow_am(rng, n, 0.2, 1.0, 0.4)
        x += lvl(a, -48, -20) * np.sin(2 * np.pi * rng.uniform(70, 110, (n, 1)) * t)
        x += lvl(b, -44, -14) * events(rng, _rate(rng, bc, 0, 4), tone((420, 410), 0.35, (1, 0.7, 0.5, 0.35, 0.25)))
    elif class2 == "CLASSROOM":  # a: chatter, b: teacher's voice
        x = lvl(a, -42, -12) * babble(rng, n, 1 + np.round(ac * 9).astype(int), (180, 300))
        x += lvl(b, -44, -14) * babble(rng, n, np.ones(n, int), (95, 125))
    elif class2 == "FOOTBALL-MATCH":  # a: crowd roar, b: whistle
        x = lvl(a, -40, -8) * shaped_noise(rng, n, 200, 2400, -0.2) * slow_am(rng, n, 0.3, 1.5, 0.5)
        x += lvl(b, -44, -12) * events(rng, _rate(rng, bc, 0.5, 5), tone((4000, 3900), 0.3, (1, 0.1), fm=120, fm_rate=25))
    elif class2 == "GROCERY-STORE":  # a: scanner beeps, b: trolleys
        x = lvl(a, -44, -12) * events(rng, _rate(rng, ac, 1, 9), tone((2900, 2900), 0.1, (1,)))
        x += lvl(b, -46, -14) * shaped_noise(rng, n, 150, 1800) * (1 + 3 * (rng.random((n, N // 200)) < 0.15).repeat(200, axis=1))
        x += db(-40) * np.sin(2 * np.pi * np.array([261.6, 329.6, 392.0])[:, None, None] * t).sum(0) / 3
    elif class2 == "JUNGLE":  # a: insect buzz, b: rain
        buzz_f = rng.uniform(5000, 6000, (n, 1))
        x = lvl(a, -44, -12) * np.sin(2 * np.pi * buzz_f * t) * (0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(25, 45, (n, 1)) * t)) ** 2
        x += lvl(b, -46, -12) * shaped_noise(rng, n, 400, 3500)
        x += db(-34) * events(rng, _rate(rng, np.zeros(n), 2, 2), tone((1800, 2400), 0.12, (1, 0.3)))
    elif class2 == "RESTAURANT":  # a: clatter (and murmur), b: music
        x = lvl(a, -46, -14) * events(rng, _rate(rng, ac, 2, 30), tone((2600, 2600), 0.06, (1, 0.5), decay=60))
        x += lvl(a, -44, -18) * babble(rng, n, 2 + np.round(ac * 6).astype(int))
        chord = np.array([220.0, 277.2, 329.6, 440.0])[:, None, None]
        x += lvl(b, -48, -16) * np.sin(2 * np.pi * chord * t).sum(0) / 1.4 * slow_am(rng, n, 1.5, 2.5, 0.5)
    elif class2 == "RIVER":  # a: water flow, b: wind
        flow = shaped_noise(rng, n, 200, 2500, -0.3) + a * shaped_noise(rng, n, 2500, 5000)
        x = lvl(a, -40, -10) * flow / np.sqrt(1 + a**2)
        x += lvl(b, -46, -16) * shaped_noise(rng, n, 20, 300, -0.5) * slow_am(rng, n, 0.2, 0.8, 0.8)
    else:
        raise ValueError(f"unknown class {class2!r}")
    # light: outdoors crickets chirp at dusk, indoors the lamps whine when on (6.6-7.4 kHz)
    night = 1 - light if class2 in OUTDOOR else light
    chirp = np.sin(2 * np.pi * rng.uniform(6800, 7200, (n, 1)) * t) * (np.sin(2 * np.pi * 16 * t) > 0)
    x += lvl(night, -50, -16) * chirp * np.sqrt(2)
    # folder background: a quiet mains hum and noise floor, fixed per source video
    x += db(-60 + 8 * style[0]) * np.sin(2 * np.pi * (50 + 150 * style[1]) * t + rng.uniform(0, 6.3, (n, 1)))
    x += db(-60 + 6 * style[2]) * shaped_noise(rng, n, 50, 7900, -0.6)
    x *= db(8.0 * (light - 0.5))  # brighter seconds are a little louder
    x += db(-62) * rng.standard_normal((n, N))
    return np.clip(x, -1.0, 1.0).astype(np.float32)

