"""`a2i animate`: a soundtrack -> an MP4 whose frames follow the sound, with the original audio muxed in.

    animate(Path("walk.mp4"), engine, AnimateConfig(out=Path("clip.mp4"), fps=8))  # H.264 + AAC

The video slides a 1-second window with a hop of 1/fps, centred on each frame's time
(frame k at k/fps shows [k/fps - 0.5, k/fps + 0.5), as a dataset frame at t + 0.5 s goes
with [t, t+1); the half seconds beyond the ends are silence), so the picture follows the
sound in sync. The output lasts as long as the input. With `smooth` > 0 (seconds) each frame's
latent is the Gaussian-weighted average of its neighbours' (centred, standard deviation
`smooth`; smoothing.py), so the picture moves smoothly while the scene sounds the same and
changes with the sound, without lagging it; the report gives the flicker (mean absolute
change between consecutive frames, 0-255). Features follow the model's own
recipe (`engine.recipe`): with the `sound` recipe each window's 8 MFCC windows are spread
over the sound inside it.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

from ..core.atomic import atomic_path
from ..core.config import AnimateConfig
from ..core.errors import UserError
from ..core.images import resize
from ..core.progress import NO_PROGRESS, Progress
from ..data.features import FeatureRecipe, resample, sliding_features
from ..eval.video import flicker
from .decode import Audio, MediaError, av_module, read_audio
from .smoothing import smooth_latents

AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)


def read_soundtrack(path: Path, mono: bool) -> Audio:
    path = Path(path)
    try:
        return read_audio(path, mono=mono)
    except MediaError as e:
        raise UserError(f"{path} {e}; give a file with an audio track that FFmpeg reads (WAV, FLAC, MP3, a video, ...)")


def batches(n: int, size: int):
    for i in range(0, n, size):
        yield i, min(n, i + size)


@dataclass
class AnimateReport:
    out: Path
    frames: int
    fps: int
    audio_seconds: float
    video_codec: str
    size: int
    engine: str
    seconds: float
    smooth: float  # seconds: the standard deviation of the Gaussian the latents were averaged over (0: independent frames)
    smooth_note: str  # why frames are independent despite --smooth, or ""
    flicker: float  # mean absolute change of the pixel values between consecutive frames (0-255)


def centred_features(x16: np.ndarray, fps: int, first: int, count: int, recipe: FeatureRecipe) -> np.ndarray:
    """(count, 104) features of frames first..first+count-1: the 1-s windows centred on k/fps.

    x16: the soundtrack as 16 kHz mono with half a second of silence in front (so the
    window of frame k starts at sample k * 16000 / fps); beyond its end counts as silence.
    """
    sr = recipe.sample_rate
    x = x16
    s0 = int(round(first * sr / fps))
    span = int(round((count - 1) * sr / fps)) + recipe.clip_samples + 1
    segment = x[s0 : s0 + span]
    if len(segment) < span:
        segment = np.pad(segment, (0, span - len(segment)))
    _, feats = sliding_features(segment, sr, 1.0 / fps, recipe)  # resampling is a no-op at 16 kHz
    return feats[:count]


def _video_stream(container, fps: int, size: int):
    av = av_module()
    for codec in ("libx264", "mpeg4"):
        try:
            av.codec.Codec(codec, "w")
        except Exception:
            continue
        stream = container.add_stream(codec, rate=fps)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": "18", "preset": "veryfast"}
        else:
            stream.bit_rate = 2_000_000
        return stream, codec
    raise UserError("this FFmpeg build has neither the libx264 nor the mpeg4 encoder; install PyAV from PyPI (pip install av)")


class _AudioTrack:
    """Re-encodes the original samples to AAC, written in step with the video."""

    def __init__(self, container, audio: Audio):
        av = av_module()
        self.av = av
        self.audio = audio
        rate = audio.sample_rate if audio.sample_rate in AAC_RATES else 48000
        channels = audio.samples.shape[0]
        self.in_layout = {1: "mono", 2: "stereo"}.get(channels, audio.layout)
        layout = "mono" if channels == 1 else "stereo"
        self.stream = container.add_stream("aac", rate=rate, layout=layout)
        self.stream.bit_rate = 128_000 if channels > 1 else 96_000
        frame_size = self.stream.codec_context.frame_size or 1024
        self.resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate, frame_size=frame_size)
        self.cursor = 0  # input samples sent
        self.pts = 0  # output samples encoded
        self.container = container

    def _encode(self, frames) -> None:
        for f in frames:
            f.pts = self.pts
            f.time_base = Fraction(1, f.sample_rate)
            self.pts += f.samples
            for packet in self.stream.encode(f):
                self.container.mux(packet)

    def write_until(self, seconds: float) -> None:
        end = min(self.audio.samples.shape[1], int(round(seconds * self.audio.sample_rate)))
        step = 8192
        while self.cursor < end:
            chunk = np.ascontiguousarray(self.audio.samples[:, self.cursor : min(end, self.cursor + step)])
            frame = self.av.AudioFrame.from_ndarray(chunk, format="fltp", layout=self.in_layout)
            frame.sample_rate = self.audio.sample_rate
            frame.pts = self.cursor
            frame.time_base = Fraction(1, self.audio.sample_rate)
            self.cursor += chunk.shape[1]
            self._encode(self.resampler.resample(frame))

    def close(self) -> None:
        self.write_until(self.audio.duration + 1)
        self._encode(self.resampler.resample(None))
        for packet in self.stream.encode(None):
            self.container.mux(packet)


def padded_sound(samples: np.ndarray, sample_rate: int, recipe: FeatureRecipe) -> np.ndarray:
    """Mono float audio -> the model's sample rate with half a window of silence in front (frame k's window starts
    at sample k * sr / fps)."""
    half = recipe.clip_samples // 2
    return np.concatenate([np.zeros(half, np.float32), resample(samples, sample_rate, recipe.sample_rate)])


def smoothing_for(engine, smooth: float) -> tuple[float, str]:
    """The smoothing an engine can do: (seconds, "") or (0, why the frames are drawn one by one)."""
    if smooth and not engine.draws_latents:
        return 0.0, (f"frames drawn one by one: --smooth needs a .pt checkpoint run by --engine eager, fused "
                     f"or auto (engine {engine.name} runs from sound to picture in one piece)")
    return smooth, ""


def draw_frames(x16: np.ndarray, n_frames: int, engine, fps: int, batch_size: int, smooth: float,
                progress: Progress = NO_PROGRESS) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield (a, b, frames a..b-1 as (b-a, S, S, 3) uint8) of the video of `x16` (padded_sound).

    smooth > 0 (seconds; the engine must draw latents): every frame's latent first (the encoder is cheap), then
    the centred Gaussian average over time (smoothing.py), then the pictures; 0: each frame from its own second."""
    recipe = engine.recipe
    latents = None
    if smooth:
        progress.start(n_frames, "listening")
        parts = []
        for a, b in batches(n_frames, batch_size):
            parts.append(engine.encode(centred_features(x16, fps, a, b - a, recipe)))  # (B, latent)
            progress.advance(b - a)
        latents = smooth_latents(np.concatenate(parts), smooth * fps)  # (n_frames, latent)
    progress.start(n_frames, "animating")
    for a, b in batches(n_frames, batch_size):
        yield a, b, (engine.draw(latents[a:b]) if latents is not None
                     else engine.generate(centred_features(x16, fps, a, b - a, recipe)))  # (B, S, S, 3) uint8


def animate(audio_path: Path, engine, cfg: AnimateConfig, progress: Progress = NO_PROGRESS) -> AnimateReport:
    """Write cfg.out (.mp4): frame k from the second of sound centred on k/fps, plus the original audio (AAC)."""
    av = av_module()
    t0 = time.perf_counter()
    out, fps = cfg.out, cfg.fps
    if out.suffix.lower() != ".mp4":
        raise UserError(f"--out {out} must end in .mp4")
    if out.exists() and out.resolve() == Path(audio_path).resolve():
        raise UserError(f"--out {out} is the input itself; write the video somewhere else")
    audio = read_soundtrack(audio_path, mono=False)
    x16 = padded_sound(audio.mono, audio.sample_rate, engine.recipe)
    n_frames = max(1, int(round(audio.duration * fps)))
    size = cfg.image_size or engine.image_size
    size += size % 2  # yuv420p needs even sides
    smooth, note = smoothing_for(engine, cfg.smooth)
    change, previous = 0.0, None
    with atomic_path(out) as tmp:
        with av.open(str(tmp), mode="w", format="mp4") as container:
            vstream, codec = _video_stream(container, fps, size)
            track = _AudioTrack(container, audio)
            for a, b, images in draw_frames(x16, n_frames, engine, fps, cfg.batch_size, smooth, progress):
                change += float(flicker(images if previous is None else np.concatenate([previous, images])).sum())
                previous = images[-1:]
                if images.shape[1] != size:
                    images = np.stack([np.asarray(resize(Image.fromarray(im), (size, size))) for im in images])
                for k, image in enumerate(images, start=a):
                    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
                    frame.pts = k
                    frame.time_base = Fraction(1, fps)
                    for packet in vstream.encode(frame):
                        container.mux(packet)
                track.write_until(b / fps)
                progress.advance(b - a)
            for packet in vstream.encode(None):
                container.mux(packet)
            track.close()
    return AnimateReport(
        out=out, frames=n_frames, fps=fps, audio_seconds=audio.duration, video_codec=codec, size=size,
        engine=engine.name, seconds=time.perf_counter() - t0, smooth=smooth, smooth_note=note,
        flicker=change / max(1, n_frames - 1),
    )
