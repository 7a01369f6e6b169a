"""`a2i env`: versions, whether the C++ ops are built, whether Ray and PyAV are importable."""
from __future__ import annotations

import typer

from ._common import cli_errors, console


def register(app: typer.Typer) -> None:
    @app.command("env")
    @cli_errors
    def env_cmd() -> None:
        """Print versions, whether the C++ ops are built and whether Ray and PyAV are importable."""
        from ..inference.environment import environment_report

        for key, value in environment_report().items():
            console.print(f"{key:<14} {value}")
