"""`a2i animate`: a soundtrack -> an MP4 whose pictures follow the sound, with the sound muxed in."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ._common import cli_errors, console, progress_bar


def register(app: typer.Typer) -> None:
    @app.command("animate")
    @cli_errors
    def animate_cmd(
        audio: Annotated[Path, typer.Option(help="Anything FFmpeg reads with an audio track (WAV, FLAC, MP3, a video, ...).")],
        out: Annotated[Path, typer.Option(help="MP4 file to write (H.264 or MPEG-4 video, AAC audio).")] = Path("animation.mp4"),
        fps: Annotated[int, typer.Option(help="Frames per second; each frame comes from the second of sound centred on it.")] = 8,
        model: Annotated[Optional[Path], typer.Option(help="Checkpoint (default: the newest runs/train/*/weights/best.pt).")] = None,
        backend: Annotated[str, typer.Option(help="Inference backend: auto picks the fastest that works.")] = "auto",
        size: Annotated[Optional[int], typer.Option(help="Video side in pixels (frames are resized; default: the model's image size).")] = None,
        batch_size: Annotated[int, typer.Option(help="Frames generated per engine call.")] = 64,
    ) -> None:
        """Turn a soundtrack into a video: slide a 1-second window along it (hop 1/fps) and draw each step."""
        from ..animate import animate
        from ..checkpoint import newest_best
        from ..engine import load_engine
        from ..errors import UserError

        if batch_size < 1:
            raise UserError(f"--batch-size must be at least 1, got {batch_size}")
        engine = load_engine(model or newest_best(), backend)
        with progress_bar() as bar:
            task = bar.add_task("animating", total=None, rate="")
            report = animate(
                audio, out, engine, fps=fps, batch_size=batch_size, size=size,
                on_total=lambda n: bar.update(task, total=n), progress=lambda n: bar.advance(task, n),
            )
        console.print(
            f"wrote {report.out}: {report.frames} frames at {report.fps} fps ({report.size}x{report.size}, "
            f"{report.video_codec}) + AAC audio, {report.audio_seconds:.2f} s; backend {report.backend}, "
            f"{report.seconds:.1f} s"
        )
