"""Decoding audio and video with PyAV (FFmpeg): any container and codec FFmpeg reads.

    audio = read_audio(path, mono=True)      # Audio(samples (C, n) float32 in [-1, 1], rate, start)
    for i, image in frames_at(path, times):  # the frame displayed at each time (by pts)
        ...

Times are seconds from the media's origin: the earliest decoded timestamp of its audio
and video streams (so a file whose streams both start at 3 ms has t = 0 at 3 ms).
Problems with a file raise `MediaError` whose message is the reason, for per-file reports.
Sample rates are left as the file has them: resample with data.features.resample.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from PIL import Image

from ..core.errors import UserError
from ..core.paths import NOT_REGULAR


class MediaError(Exception):
    """A file that cannot be used; str(e) is the reason, without the path."""


def av_module():
    try:
        import av
    except ImportError as e:  # pragma: no cover - av is a declared extra
        raise UserError(f"PyAV is needed to read audio and video ({e}); pip install 'a2i[media]' (or pip install av)")
    return av


def _reason(e: Exception) -> str:
    text = str(e).strip() or type(e).__name__
    return text.splitlines()[0]


def open_input(path: Path):
    """av.open for reading, with a MediaError naming what is wrong."""
    av = av_module()
    path = Path(path)
    if not path.exists():
        raise MediaError("file does not exist")
    if path.is_dir():
        raise MediaError("is a folder, not a media file")
    if not path.is_file():  # FFmpeg would wait on a pipe for ever
        raise MediaError(f"{NOT_REGULAR}; save it to a file first")
    try:
        return av.open(str(path), mode="r")
    except (av.FFmpegError, OSError, UnicodeDecodeError, ValueError) as e:
        raise MediaError(f"not a media file FFmpeg can read ({_reason(e)})")


@dataclass
class Audio:
    samples: np.ndarray  # (channels, n) float32 in [-1, 1]; channels == 1 when mono
    sample_rate: int
    start: float  # seconds: time of the first sample in the file's own timeline
    layout: str  # the file's channel layout, e.g. "stereo"

    @property
    def duration(self) -> float:
        return self.samples.shape[1] / self.sample_rate

    @property
    def mono(self) -> np.ndarray:
        """(n,) float32: channels averaged (as features.to_mono)."""
        return self.samples.mean(axis=0) if self.samples.shape[0] > 1 else self.samples[0]


def _frame_time(frame, fallback: float) -> float:
    t = frame.time
    return float(t) if t is not None else fallback


def read_audio(path: Path, mono: bool = False) -> Audio:
    """Decode the first audio track to float32 planar samples at the file's own rate.

    mono=True averages the channels while decoding (a long stereo track then needs half
    the memory). Raises MediaError for unreadable files and files without an audio track.
    """
    av = av_module()
    with open_input(path) as container:
        if not container.streams.audio:
            raise MediaError("has no audio track")
        stream = container.streams.audio[0]
        stream.thread_type = "AUTO"
        chunks: list[np.ndarray] = []
        resampler = rate = layout = start = None
        try:
            for frame in container.decode(stream):
                if rate is None:
                    rate, layout, start = frame.sample_rate, frame.layout, _frame_time(frame, 0.0)
                direct = None
                if resampler is None and frame.sample_rate == rate and frame.layout.name == layout.name:
                    direct = _to_float(frame)
                if direct is not None:
                    chunks.append(_mix(direct, mono))
                    continue
                if resampler is None:  # unusual sample format, or rate/layout changing mid-stream
                    resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
                for out in resampler.resample(frame):
                    chunks.append(_mix(_to_float(out), mono))
            if resampler is not None:
                for out in resampler.resample(None):
                    chunks.append(_mix(_to_float(out), mono))
        except av.FFmpegError as e:
            raise MediaError(f"audio could not be decoded ({_reason(e)})")
        if not chunks:
            raise MediaError("audio track is empty")
    samples = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
    if not np.isfinite(samples).all():
        bad = int((~np.isfinite(samples)).sum())
        raise MediaError(f"audio has {bad} NaN or infinite samples (a damaged float recording); features of it "
                         "would be meaningless")
    return Audio(samples=samples, sample_rate=int(rate), start=float(start), layout=str(layout.name))


# integer sample formats -> the divisor that maps them to [-1, 1) (as libswresample does)
_SCALE = {"u8": 128.0, "s16": 32768.0, "s32": 2147483648.0, "s64": 9223372036854775808.0}


def _to_float(frame) -> np.ndarray | None:
    """(channels, samples) float32 in [-1, 1] from a decoded frame; None for formats left to swresample."""
    fmt = frame.format.name
    base = fmt.rstrip("p")
    if base not in ("flt", "dbl", *_SCALE):
        return None
    channels = len(frame.layout.channels)
    a = frame.to_ndarray()
    if frame.format.is_planar:
        a = a.reshape(channels, -1)
    else:  # packed: (1, samples * channels), interleaved
        a = a.reshape(-1, channels).T
    if base == "u8":
        return (a.astype(np.float32) - 128.0) / 128.0
    if base in _SCALE:
        return (a / _SCALE[base]).astype(np.float32)
    return a.astype(np.float32, copy=False)


def _mix(a: np.ndarray, mono: bool) -> np.ndarray:
    return a.mean(axis=0, keepdims=True, dtype=np.float32) if mono and a.shape[0] > 1 else a


def first_video_time(path: Path) -> float | None:
    """Time of the first decoded video frame, or None without a video track."""
    with open_input(path) as container:
        if not container.streams.video:
            return None
        try:
            for frame in container.decode(video=0):
                return _frame_time(frame, 0.0)
        except av_module().FFmpegError as e:
            raise MediaError(f"video could not be decoded ({_reason(e)})")
    return None


def frames_at(path: Path, times: Sequence[float]) -> Iterator[tuple[int, Image.Image]]:
    """The frame displayed at each of the ascending `times` (seconds, file timeline), as RGB.

    Displayed at time x = the last frame whose pts <= x (variable frame rates handled by
    pts, not by index). Stops early when the video ends before a time (its last frame is
    shown until pts + frame duration). Decodes sequentially: robust for any codec.
    """
    av = av_module()
    times = list(times)
    if not times:
        return
    with open_input(path) as container:
        if not container.streams.video:
            raise MediaError("has no video track")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = stream.average_rate or stream.guessed_rate
        default_dur = 1.0 / float(rate) if rate else 1.0 / 25
        i, prev, prev_t = 0, None, None
        eps = 1e-6
        try:
            for frame in container.decode(stream):
                t = _frame_time(frame, (prev_t + default_dur) if prev_t is not None else 0.0)
                if prev_t is not None and t < prev_t:  # broken pts: keep the order of decoding
                    t = prev_t + eps
                while i < len(times) and t > times[i] + eps:
                    # `prev` is on screen at times[i]; before the first frame, show the first one
                    yield i, (prev if prev is not None else frame).to_image()
                    i += 1
                if i >= len(times):
                    return
                prev, prev_t = frame, t
                dur = getattr(frame, "duration", None)
                prev_dur = float(dur * frame.time_base) if dur and frame.time_base else default_dur
        except av.FFmpegError as e:
            raise MediaError(f"video could not be decoded ({_reason(e)})")
        while prev is not None and i < len(times) and times[i] < prev_t + prev_dur - eps:
            yield i, prev.to_image()
            i += 1
