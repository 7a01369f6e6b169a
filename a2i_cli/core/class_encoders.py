"""How many class encoders a training run builds (`a2i train --class-encoders`, network.ClassCodes).

Each class encoder takes CLASS_LATENT dimensions of the latent; the main encoder gets the rest.
Only the standard library and core are imported here (config.py, which the CLI imports at start-up, uses it).
"""
from __future__ import annotations

from .choices import Arch
from .errors import UserError

CLASS_LATENT = 16  # latent dimensions of each class encoder (ModelConfig.class_encoders)
MAX_CLASS_ENCODERS = 7


def resolve_class_encoders(given: int | None, recipe: int, arch: Arch, auto: bool, vae: bool, latent: int) -> int:
    """The run's class encoders: `given` (--class-encoders; None = the recipe's) checked against the architecture
    (`auto`: picked by --arch auto), --vae and --latent; the recipe's shrink or switch off quietly instead."""
    if arch == Arch.seed and given:
        if not auto:
            raise UserError("--class-encoders: --arch seed is the student project's model exactly and has no class "
                            "codes; use --arch a2i, or leave the option out")
        raise UserError("--class-encoders: the class encoders read the class that class codes draw, which needs data "
                        "with 2+ classes (this data has one); leave the option out")
    if given is None:  # the recipe's: none with a VAE, and at least half the latent left to the main encoder
        return 0 if vae else min(recipe, latent // (2 * CLASS_LATENT))
    if vae and given:
        raise UserError("--class-encoders: the class encoders add fixed dimensions to the latent, which a VAE "
                        "samples; pass --class-encoders 0 with --vae")
    if arch == Arch.a2i and given and latent <= given * CLASS_LATENT:
        raise UserError(f"--latent {latent} leaves no room for --class-encoders {given} ({given} x {CLASS_LATENT} "
                        f"latent dimensions, and the main encoder gets the rest): pass a --latent above "
                        f"{given * CLASS_LATENT} (the recipe leaves the main encoder half), or fewer --class-encoders")
    return given
