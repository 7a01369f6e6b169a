"""`a2i animate`: a soundtrack -> an MP4 whose pictures follow the sound, with the sound muxed in."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..core.config import AnimateConfig, Engine, defaults
from ._common import cli_errors, console, pick, progress_bar

D = defaults(AnimateConfig)


def register(app: typer.Typer) -> None:
    @app.command("animate")
    @cli_errors
    def animate_cmd(
        audio: Annotated[Optional[Path], typer.Argument(help="Anything FFmpeg reads with an audio track (WAV, FLAC, MP3, a video, ...).", show_default=False)] = None,
        out: Annotated[Path, typer.Option(help="MP4 file to write (H.264 or MPEG-4 video, AAC audio).")] = D["out"],
        fps: Annotated[int, typer.Option(help="Frames per second (1-60); each frame comes from the second of sound centred on it.")] = D["fps"],
        model: Annotated[Optional[Path], typer.Option(help="Checkpoint .pt or exported .pt2 (default: the newest runs/train/*/weights/best.pt).")] = D["model"],
        engine: Annotated[Engine, typer.Option(help="How the model runs: auto picks the fastest of fused, onnx (with the a2i\\[onnx] extra) and eager measured on this CPU (a2i env shows which and why).")] = D["engine"],
        image_size: Annotated[Optional[int], typer.Option(help="Video side in pixels, 16-4096 (frames are resized; default: the model's image size).")] = D["image_size"],
        batch_size: Annotated[int, typer.Option(help="Frames generated per engine call.")] = D["batch_size"],
        smooth: Annotated[float, typer.Option(help="Seconds, 0-10: each frame's latent is averaged with its neighbours' (a centred Gaussian of this standard deviation), so the picture holds still while the scene sounds the same and still changes with the sound; 0 = every frame on its own.")] = D["smooth"],
        audio_old: Annotated[Optional[Path], typer.Option("--audio", hidden=True, help="Old spelling: pass AUDIO.")] = None,
        size: Annotated[Optional[int], typer.Option(hidden=True, help="Old spelling of --image-size.")] = None,
        backend: Annotated[Optional[Engine], typer.Option(hidden=True, help="Old spelling of --engine.")] = None,
    ) -> None:
        """Turn a soundtrack into a video: slide a 1-second window along it (hop 1/fps) and draw each step."""
        from ..core.errors import UserError
        from ..core.runs import newest_best
        from ..inference.engine import load_engine
        from ..media.animate import animate

        audio = pick(audio, audio_old, "--audio", "AUDIO")
        if audio is None:
            raise UserError("pass the soundtrack: a2i animate AUDIO --out clip.mp4")
        cfg = AnimateConfig(out=out, fps=fps, model=model, batch_size=batch_size, smooth=smooth,
                            engine=pick(engine, backend, "--backend", "--engine", D["engine"]),
                            image_size=pick(image_size, size, "--size", "--image-size"))
        eng = load_engine(cfg.model or newest_best(), cfg.engine, latents=cfg.smooth > 0)
        with progress_bar("animating") as bar:
            report = animate(audio, eng, cfg, progress=bar)
        console.print(
            f"wrote {report.out}: {report.frames} frames at {report.fps} fps ({report.size}x{report.size}, "
            f"{report.video_codec}) + AAC audio, {report.audio_seconds:.2f} s; engine {report.engine}"
            f"{f' ({eng.choice})' if eng.choice else ''}, "
            f"{report.seconds:.1f} s"
        )
        frames = (f"latents averaged over a centred Gaussian of {report.smooth:g} s" if report.smooth
                  else "each drawn on its own")
        console.print(f"frames: {frames}; flicker {report.flicker:.2f} (mean change of a pixel value between consecutive frames, 0-255)")
        if report.smooth_note:
            console.print(f"note: {report.smooth_note}")
