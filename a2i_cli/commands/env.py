"""`a2i env`: versions, whether the C++ ops are built, whether Ray and PyAV are importable, which PNG codecs run."""
from __future__ import annotations

import typer

from ._common import cli_errors, console


def register(app: typer.Typer) -> None:
    @app.command("env")
    @cli_errors
    def env_cmd() -> None:
        """Print versions, whether the C++ ops are built, whether Ray and PyAV are importable, and the PNG codecs."""
        from ..core.png import codecs
        from ..inference.environment import environment_report

        report = environment_report()
        report.update({f"png {role}": library for role, library in codecs().items()})
        for key, value in report.items():
            console.print(f"{key:<14} {value}", markup=False, highlight=False)
