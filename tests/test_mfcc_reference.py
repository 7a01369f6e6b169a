"""a2i's MFCCs (data/features.py, its own numpy code) against python_speech_features, on real recordings.

python_speech_features 0.6 ("psf") computes a2i's recipe with these settings (psf's defaults in brackets):

- one psf call per a2i window, winlen = winstep = the window (0.025 s / 0.01 s): a2i's 8 windows of
  4,000 samples start 1714.3 samples apart (evenly over the second), which psf's whole-sample step can't do
- nfft=4096 (512: psf would cut each 4,000-sample frame to its first 512 samples)
- winfunc=numpy.hamming (no window), ceplifter=0 (22: psf multiplies c_n by 1 + 11 sin(pi n / 22), up to 12x)
- appendEnergy=False, then c0 = log of the raw window's sum of squares, floored at 1e-10 (True: psf's c0 is
  the log of the summed power spectrum of the pre-emphasised, windowed frame: a few units lower)
- samples at int16 scale (float samples x 32768), samplerate=16000, highfreq=8000, lowfreq=0, nfilt=26,
  numcep=13, preemph=0.97 (psf's defaults)

No setting removes one difference: psf rounds the corners of each mel triangle down to whole FFT bins
(floor((nfft + 1) f / sr)), and a2i's triangles are exact. So the tight test gives psf exact triangles,
built here from psf's own mel scale, and everything else is psf's code. The psf-as-is test measures what the
rounding costs.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

psf = pytest.importorskip("python_speech_features", reason="the reference needs python_speech_features "
                          "(pip install 'a2i[test]')")
from python_speech_features import base as psf_base  # noqa: E402

from a2i_cli.data.features import RECIPE, SOUND_RECIPE, clips_to_features, features_of, sound_windows  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
FSDD, FILM = DATA / "fsdd", DATA / "video" / "big_buck_bunny_0_30.webm"
INT16 = 32768.0

# a2i returns float32: at |x| < 32 the spacing of float32 is at most 3.8e-6, so a2i and the float64
# reference can't agree more closely than that. Measured on these recordings: at most 9.5e-7 apart.
RTOL, ATOL = 1e-6, 1e-5


def psf_mfcc(window: np.ndarray) -> np.ndarray:
    """(13,) a2i coefficients of one window of int16-scale samples, by psf."""
    n = len(window)
    c = psf.mfcc(window, samplerate=16000, winlen=n / 16000, winstep=n / 16000, numcep=13, nfilt=26,
                 nfft=max(4096, 1 << int(np.ceil(np.log2(n)))), lowfreq=0, highfreq=8000, preemph=0.97,
                 ceplifter=0, appendEnergy=False, winfunc=np.hamming)[0]
    c[0] = np.log(max(np.sum(window**2), 1e-10))  # a2i's c0: the raw window's log energy
    return c


def psf_row(x: np.ndarray, starts, width: int) -> np.ndarray:
    """(104,) frame-major: mfcc_1..mfcc_13 are the window at starts[0]."""
    return np.concatenate([psf_mfcc(x[s : s + width]) for s in starts])


def exact_triangles(nfilt=20, nfft=512, samplerate=16000, lowfreq=0, highfreq=None):
    """psf's get_filterbanks with the corners left where psf's mel scale puts them (no floor to whole bins)."""
    highfreq = highfreq or samplerate / 2
    mels = np.linspace(psf_base.hz2mel(lowfreq), psf_base.hz2mel(highfreq), nfilt + 2)
    at = nfft * psf_base.mel2hz(mels) / samplerate  # corners in (fractional) FFT bins
    k = np.arange(nfft // 2 + 1)[None, :]
    lo, mid, hi = at[:-2, None], at[1:-1, None], at[2:, None]
    return np.clip(np.minimum((k - lo) / (mid - lo), (hi - k) / (hi - mid)), 0, None)


def fsdd_recordings(step: int = 10) -> list[np.ndarray]:
    """Every `step`-th FSDD recording at 16 kHz, float32 in [-1, 1] (a2i's own resampling: scipy's resample_poly)."""
    from scipy.io import wavfile
    from scipy.signal import resample_poly

    if not FSDD.is_dir():
        pytest.skip(f"real recordings not found at {FSDD} (see ../shared/data/README.md)")
    out = []
    for f in sorted(FSDD.glob("*.wav"))[::step]:
        sr, a = wavfile.read(f)
        assert sr == 8000 and a.dtype == np.int16, f
        out.append(resample_poly(a / INT16, 2, 1).astype(np.float32))
    return out


def seconds(recordings: list[np.ndarray]) -> np.ndarray:
    """(N, 16000): the first second of each recording, zero-padded (the `second` recipe of one recording)."""
    return np.stack([np.pad(x[:16000], (0, max(0, 16000 - len(x)))) for x in recordings])


def film_seconds() -> np.ndarray:
    """(30, 16000): the film clip's soundtrack (44.1 kHz Vorbis) at 16 kHz, cut into seconds."""
    from a2i_cli.data.features import resample

    if not FILM.is_file():
        pytest.skip(f"the film clip is not at {FILM} (see ../shared/data/README.md)")
    from a2i_cli.media.decode import read_audio  # PyAV: a2i[media], which install.sh installs

    audio = read_audio(FILM, mono=True)
    x = resample(audio.mono, audio.sample_rate)
    return np.stack([x[t * 16000 : (t + 1) * 16000] for t in range(len(x) // 16000)])


@pytest.fixture(scope="module")
def clips() -> np.ndarray:
    """200 spoken digits (each in a fixed second: 3-5 of its 8 windows are silence) and 30 s of a film soundtrack."""
    return np.concatenate([seconds(fsdd_recordings()), film_seconds()])


def second_windows() -> np.ndarray:
    """DATASET.md: 8 windows of 0.25 s (4,000 samples at 16 kHz) spread evenly over the second."""
    starts = np.round(np.linspace(0, 16000 - 4000, 8)).astype(int)
    assert starts.tolist() == RECIPE.window_starts().tolist() == [0, 1714, 3429, 5143, 6857, 8571, 10286, 12000]
    return starts


def test_second_recipe_equals_the_reference(clips, monkeypatch):
    monkeypatch.setattr(psf_base, "get_filterbanks", exact_triangles)
    ours = clips_to_features(clips)  # (N, 104) float32
    ref = np.stack([psf_row(c.astype(np.float64) * INT16, second_windows(), 4000) for c in clips])
    np.testing.assert_allclose(ours, ref, rtol=RTOL, atol=ATOL)
    loud = ours.reshape(-1, 8, 13)[..., 0] > 0  # not only silence: most windows carry sound
    assert loud.mean() > 0.5 and np.abs(ours).max() > 10


def test_sound_recipe_equals_the_reference_in_every_window(monkeypatch):
    """The `sound` recipe's windows (a quarter of the trimmed sound, placed by a2i) hold the same MFCCs."""
    monkeypatch.setattr(psf_base, "get_filterbanks", exact_triangles)
    for x in fsdd_recordings(step=40):
        starts, width, needed = sound_windows(x)
        assert 400 < width < 4000, width  # spoken digits: about 0.1-0.25 s per window
        padded = np.pad(x.astype(np.float64), (0, max(0, needed - len(x)))) * INT16
        np.testing.assert_allclose(features_of(x, 16000, SOUND_RECIPE), psf_row(padded, starts, width),
                                   rtol=RTOL, atol=ATOL)


def test_psf_as_is_differs_only_by_its_rounded_filterbank(clips):
    """With psf's own triangles (what a user of the README's call gets) the numbers differ a little.

    Measured here: median 0.011, 95% within 0.09, 99% within 0.22, at most 0.59, on coefficients whose
    spread over these rows is 0.8-7 (c1-c12). The big ones sit in the lowest filter (0-144 Hz, 37 FFT bins),
    where a voice's harmonic near 140 Hz, on the filter's upper corner, is weighted 0.04 by a2i and 0 by psf."""
    ours = clips_to_features(clips).astype(np.float64)
    ref = np.stack([psf_row(c.astype(np.float64) * INT16, second_windows(), 4000) for c in clips])
    diff = np.abs(ours - ref)
    assert diff[:, ::13].max() < 1e-5  # c0 is a2i's energy in both
    got = [np.median(diff), np.percentile(diff, 95), np.percentile(diff, 99), diff.max()]
    assert all(g < bound for g, bound in zip(got, [0.03, 0.15, 0.4, 1.0])), got  # margin over what was measured


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # psf's logging.warn: "frame will be truncated"
def test_psf_defaults_are_another_recipe(clips):
    """psf's defaults (lifter 22, its own energy, 512-point FFT, no window) are far from a2i's numbers."""
    x = clips[-1].astype(np.float64) * INT16  # one second of the film
    ours = clips_to_features(clips[-1:])[0].reshape(8, 13)
    theirs = psf.mfcc(x, samplerate=16000, winlen=0.25, winstep=12000 / 7 / 16000)[:8]  # 9 frames: the last padded
    assert np.median(np.abs(theirs[:, 1:] / np.where(ours[:, 1:] == 0, 1, ours[:, 1:]))) > 3
