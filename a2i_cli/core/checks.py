"""Checks every config value goes through: a choice among an enum's values, finite numbers in range, seeds, run names.

Each raises `UserError` naming the option, so the library gives the same one-line messages
as the CLI. Only the standard library is imported here (config.py, which the CLI imports at
start-up, re-exports these).
"""
from __future__ import annotations

import math
import numbers
import re
from dataclasses import MISSING, fields
from enum import StrEnum

from .errors import UserError, short

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def choice(enum: type[StrEnum], value, option: str) -> StrEnum:
    """`value` as a member of `enum`, or a UserError naming the option and the choices."""
    try:
        return enum(value)
    except ValueError:
        raise UserError(f"unknown {option} {value!r}; choose one of {', '.join(e.value for e in enum)}")


MAX_SEED = 2**32 - 1  # numpy's seeds stop here


def not_blank(value, option: str, advice: str) -> None:
    """Refuse empty or blank text from the command line: as a Path it would quietly be the current folder."""
    if isinstance(value, str) and not value.strip():
        raise UserError(f"{option} is empty; {advice}")


def finite(value, option: str) -> None:
    if value is not None and not math.isfinite(value):
        raise UserError(f"{option} must be a finite number, got {value}")


def number(value, option: str) -> float | None:
    """None, or the value as a float (-0.0 -> 0.0 for args.yaml and the log); true or text from a file (--resume) is refused."""
    if type(value) is bool or not (value is None or isinstance(value, numbers.Real)):  # numpy's numbers pass
        raise UserError(f"{option} must be a number, got {short(repr(value), 40)}")
    return None if value is None else float(value) + 0.0


def at_least(value, low, option: str) -> None:
    finite(value, option)
    if value is not None and value < low:
        raise UserError(f"{option} must be at least {low}, got {value}")


def check_seed(seed: int, option: str = "--seed") -> None:
    between(seed, 0, MAX_SEED, option)


def between(value, low, high, option: str) -> None:
    finite(value, option)
    if value is not None and not low <= value <= high:
        raise UserError(f"{option} must be between {low} and {high}, got {value}")


def check_name(name: str | None, option: str = "--name") -> str:
    """A run name is one plain folder name: letters, digits, '.', '_' or '-', not starting with '.' or '-'."""
    if not NAME.fullmatch(name or "") or len(name) > 100:
        raise UserError(f"{option} {name!r} must be letters, digits, '.', '_' or '-', start with a letter or digit, "
                        "and be at most 100 characters")
    return name


def defaults(cls) -> dict:
    """{field: default} of a config dataclass (factories called), for CLI signatures."""
    out = {}
    for f in fields(cls):
        if f.default_factory is not MISSING:
            out[f.name] = f.default_factory()
        elif f.default is not MISSING:
            out[f.name] = f.default
    return out
