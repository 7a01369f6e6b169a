"""Each architecture's training recipe: what the training options mean when they are not given."""
from __future__ import annotations

# Each architecture's training recipe (what the options mean when not given): `seed` the student project
# exactly; `a2i` what wins benchmarks/bench_quality.py (docs/quality.md); SOUND_RECIPES: on rows of the `sound`
# feature recipe (one recording each: many voices and microphones). `--arch auto` trains a2i on 2+ classes.
# adv_weight 0.04 with ssim_weight 1.0 (the spectral-norm patch discriminator, hinge loss; 1 - SSIM weighed as much as
# the MSE) won on the nine-class demo data: over training seeds 0-3 each run sharper than 0.95 of the targets, SSIM and
# MSE better than the class-mean oracle's and a lower Fréchet distance, where 0.03 with 0.5 fell below the oracle's SSIM
# in two seeds of four (docs/quality.md#the-discriminator). Sound rows keep adv_weight 0 and ssim_weight 0.5, what their
# leave-one-speaker-out folds were measured with (one fold with 0.03: sharper, MSE worse).
# aug_mask stays 0: masking a frame and two coefficients (0.5) lifted the mean read rate of voices never heard but
# lowered the worst voice's (docs/quality.md#voices-never-heard), and the worst voice is what the recipe must lift.
# aug_warp 0.1 on sound rows (each row's spectrum stretched by a factor in [0.9, 1.1], model/warp.py): over the
# leave-one-speaker-out folds it lifted the mean read rate of voices never heard and kept the worst voice's.
# frame_order stays True everywhere: pooling over the 8 frames only (--no-frame-order) lifted the worst unheard voice by
# 2-3 points in the class-head probe, but the full model by 0.3 and its mean by 0.1 over three seeds, inside the seed
# spread (docs/quality.md#pooling-over-time---no-frame-order).
# class_encoders 3 on sound rows: the class read by three encoders of its own, trained by the class term alone and pooled
# over time, lifted the leave-one-speaker-out mean from 82.9% to 84.6% over three seeds (every seed), the worst voice
# (george) from 71.3% to 71.9%
# (docs/quality.md#class-encoders---class-encoders-in-the-sound-recipe); not measured on scene rows, which keep 0 (the latent's own head).
# aug_stretch 0.25 and class_sam 0.05 on sound rows (a random tempo over the 8 frames; the class encoders trained
# sharpness-aware): over the same folds and seeds they lifted the worst voice (george) from 71.9% to 77.5% (76.4-78.4% by
# seed) and the mean from 84.6% to 84.9% (docs/quality.md#a-random-tempo-and-flat-minima---aug-stretch---class-sam-in-the-sound-recipe);
# not measured on scene rows, which keep 0.
RECIPES: dict[str, dict] = {
    "seed": dict(loss="mse", ssim_weight=0.5, class_weight=0.0, adv_weight=0.0, aug_noise=0.0, aug_shift=0, aug_offset=0.0, aug_mask=0.0, aug_warp=0.0, aug_stretch=0.0, lr_schedule="constant",
                 image_class_weight=0.0, ema=0.0, class_codes=False, frame_order=True, class_encoders=0, class_sam=0.0),
    "a2i": dict(loss="mse+ssim", ssim_weight=1.0, class_weight=1.0, adv_weight=0.04, aug_noise=0.2, aug_shift=1, aug_offset=0.0, aug_mask=0.0, aug_warp=0.0, aug_stretch=0.0, lr_schedule="cosine",
                image_class_weight=0.0, ema=0.0, class_codes=True, frame_order=True, class_encoders=0, class_sam=0.0),
}
SOUND_RECIPES: dict[str, dict] = {"seed": {}, "a2i": dict(ssim_weight=0.5, aug_offset=1.0, aug_warp=0.1, image_class_weight=1.0, adv_weight=0.0,
                                                        class_encoders=3, aug_stretch=0.25, class_sam=0.05)}
RECIPE_FIELDS = tuple(RECIPES["seed"])
