"""Every option of every command, typed and with its default, in one place (the CLI reads defaults from here).

One word, one meaning: `engine` is how a model runs (auto/eager/fused/export/onnx), `backend`
is where work runs (auto/local/ray). Choices are enums, so `--help` lists them and a bad
value is refused before any work. Each dataclass checks its values in `__post_init__` and
raises `UserError` naming the option, so the library gives the same messages as the CLI.

Only the standard library is imported here: the CLI imports this module at start-up.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .choices import Arch, Backend, Device, Engine, ExportFormat, ImageFormat, Loss, Schedule, SplitMethod, Window  # noqa: F401
from .class_encoders import CLASS_LATENT, MAX_CLASS_ENCODERS, resolve_class_encoders  # noqa: F401
from .checks import MAX_SEED, at_least, between, check_name, check_seed, choice, defaults, finite, not_blank, number  # noqa: F401
from .errors import UserError, short
from .recipes import RECIPE_FIELDS, RECIPES, SOUND_RECIPES  # noqa: F401

N_FRAMES = 8  # windows per row
N_COEFFS = 13  # MFCC coefficients per window
N_FEATURES = N_FRAMES * N_COEFFS  # 104, frame-major: mfcc_1..mfcc_13 is window 1
IMAGE_SIZES = (32, 64, 128, 256)  # sizes a model can draw (decoder of log2(size) layers)
RUNS = Path("runs")
MAX_WORKERS = 256  # more processes than this only exhaust memory
DEMO_CLASSES = ("BEACH", "CITY", "CLASSROOM", "FOOTBALL-MATCH", "FOREST", "GROCERY-STORE", "JUNGLE", "RESTAURANT", "RIVER")


def check_image_size(size: int, option: str = "--image-size") -> int:
    if size not in IMAGE_SIZES:
        raise UserError(f"{option} must be a power of two from 32 to 256 (one of {list(IMAGE_SIZES)}), got {size}")
    return size


# --------------------------------------------------------------------------- data


@dataclass
class SplitConfig:
    method: SplitMethod = SplitMethod.source
    test_fraction: float = 0.25  # share of rows on the test side
    train_size: int | None = None  # random split only
    test_size: int | None = None  # random split only
    seed: int = 0
    blocks: int = 8  # contiguous blocks a single-folder class is cut into
    test_folders: tuple[str, ...] = ()  # source split: these folders (and only these) are test
    val_fraction: float = 0.1  # validation rows that choose best.pt, carved from the non-test rows (0 = none)

    def __post_init__(self) -> None:
        self.method = choice(SplitMethod, self.method, "--split")
        if not 0.0 < self.test_fraction < 1.0:
            raise UserError(f"--test-fraction must be between 0 and 1 (exclusive), got {self.test_fraction}")
        if not 0.0 <= self.val_fraction < 0.5:
            raise UserError(f"--val-fraction must be from 0 to 0.5 (exclusive), got {self.val_fraction}")
        self.test_folders = tuple(self.test_folders)
        if self.test_folders and self.method != SplitMethod.source:
            raise UserError("--test-folder needs --split source")
        if self.method == SplitMethod.source and (self.train_size or self.test_size):
            raise UserError("--train-size/--test-size need --split random (the source split assigns whole folders)")
        at_least(self.train_size, 1, "--train-size")
        at_least(self.test_size, 1, "--test-size")
        check_seed(self.seed)


@dataclass
class PrepareConfig:
    data: Path = Path("data")  # dataset folder: dataset.csv + images/
    classes: list[str] = field(default_factory=lambda: ["BEACH"])
    split: SplitConfig = field(default_factory=SplitConfig)
    image_size: int = 256
    skip_bad: bool = False
    allow_outside_paths: bool = False  # read IMAGE paths that lead outside the dataset folder
    name: str | None = None  # default: the class names, lower case
    exist_ok: bool = False
    runs_root: Path = RUNS

    def __post_init__(self) -> None:
        self.data = Path(self.data)
        check_image_size(self.image_size)
        if self.name is not None:
            check_name(self.name)


@dataclass
class DemoDataConfig:
    out: Path | str = Path("data")  # text from the command line: "" is refused, not read as the current folder
    rows: int = 2000  # all classes together
    seed: int = 0
    image_size: int = 256  # side of the square PNGs
    exist_ok: bool = False  # replace an existing demo dataset in `out`

    def __post_init__(self) -> None:
        not_blank(self.out, "--out", "give the folder to write the demo dataset into (default: data)")
        self.out = Path(self.out)
        between(self.rows, 9, 10_000_000, "--rows")
        check_seed(self.seed)
        between(self.image_size, 8, 2048, "--image-size")


# --------------------------------------------------------------------------- model and training


SEED_ENCODER = (1024, 768, 512, 256)
MAX_WIDTH = 8192  # a config asking for wider layers is refused (a hostile checkpoint must not exhaust memory)
MAX_PARAMS = 100_000_000


@dataclass
class ModelConfig:
    arch: Arch = Arch.seed
    latent: int = 128
    image_size: int = 256
    n_features: int = N_FEATURES
    encoder_widths: tuple[int, ...] = field(default=SEED_ENCODER)
    vae: bool = False
    temporal_channels: int = 128  # a2i encoder width
    n_classes: int = 0  # a2i: > 0 = class codes: the decoder draws the class the latent predicts (network.ClassCodes)
    frame_order: bool = True  # a2i: the encoder's head also reads the 8 frames in order (False: their mean and max only)
    class_encoders: int = 0  # a2i with class codes: the class is read from this many encoders of its own (network.ClassCodes)

    def __post_init__(self) -> None:
        self.encoder_widths = tuple(self.encoder_widths)
        self.arch = choice(Arch, self.arch, "--arch")  # `auto` is resolved by TrainConfig.resolved
        for name in ("latent", "image_size", "temporal_channels", "n_classes", "class_encoders"):  # from a file: any JSON value
            if type(getattr(self, name)) is not int:
                raise UserError(f"model_config {name} must be a whole number, got {short(repr(getattr(self, name)), 40)}")
        if type(self.frame_order) is not bool:
            raise UserError(f"model_config frame_order must be true or false, got {short(repr(self.frame_order), 40)}")
        check_image_size(self.image_size, "image_size")
        between(self.latent, 1, MAX_WIDTH, "--latent")
        between(self.temporal_channels, 1, MAX_WIDTH, "temporal_channels")
        between(self.n_classes, 0, MAX_WIDTH, "n_classes")
        between(self.class_encoders, 0, MAX_CLASS_ENCODERS, "class_encoders")
        if self.class_encoders and (self.arch == Arch.seed or self.vae or self.latent <= self.class_encoders * CLASS_LATENT):
            raise UserError(f"class_encoders {self.class_encoders} needs the a2i architecture without a VAE and a latent "
                            f"above {self.class_encoders * CLASS_LATENT}; got arch {self.arch}, vae {self.vae}, latent {self.latent}")
        if self.n_classes and (self.n_classes < 2 or self.arch == Arch.seed):
            raise UserError(f"n_classes (class codes) must be 0, or 2+ with the a2i architecture; got n_classes "
                            f"{self.n_classes} with arch {self.arch}")
        if self.n_features != N_FEATURES:
            raise UserError(f"a model reads {N_FEATURES} features, not {self.n_features}")
        if not 1 <= len(self.encoder_widths) <= 8 or not all(isinstance(w, int) and 1 <= w <= MAX_WIDTH
                                                            for w in self.encoder_widths):
            raise UserError(f"encoder widths must be 1 to 8 layers of 1..{MAX_WIDTH}, got {self.encoder_widths}")
        chain = [N_FEATURES, *self.encoder_widths, self.latent * 2]
        params = sum(a * b for a, b in zip(chain[:-1], chain[1:])) + self.latent * 256 * 16 + 2 * self.n_classes * self.latent
        if self.arch == Arch.a2i:  # the temporal encoders: 3 convolutions and a 512-wide head each
            c = self.temporal_channels
            params += (1 + self.class_encoders) * (39 * c + 6 * c * c + (10 * c + 2 * self.latent) * 512)
        if params > MAX_PARAMS:
            raise UserError(f"a model of about {params / 1e6:.0f} M parameters is more than a2i builds (at most "
                            f"{MAX_PARAMS / 1e6:.0f} M)")

    @property
    def decoder_layers(self) -> int:
        return int(math.log2(self.image_size))

    def to_dict(self) -> dict:
        return {**asdict(self), "arch": str(self.arch)}


@dataclass
class TrainConfig:
    prepared: Path | None = None  # default: the newest runs/prepare/*
    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    seed: int = 0
    device: Device = Device.auto
    model: ModelConfig = field(default_factory=lambda: ModelConfig(arch=Arch.auto))
    name: str = "exp"
    exist_ok: bool = False
    runs_root: Path = RUNS
    n_samples: int = 8  # test rows drawn in samples.png
    loss: Loss | None = None  # None here and in each recipe field below (RECIPE_FIELDS): the architecture's recipe (core/recipes.py)
    ssim_weight: float | None = None  # with --loss mse+ssim: the weight of 1 - SSIM beside the MSE (losses.py)
    adv_weight: float | None = None  # > 0 adds a patch-discriminator (adversarial) term
    class_weight: float | None = None  # > 0: the latent also predicts CLASS2 (cross-entropy, training only)
    kl_weight: float = 1e-3  # VAE only
    aug_noise: float | None = None  # feature noise, in normalised units
    aug_shift: int | None = None  # random shift of the 8 frames by up to this many frames
    aug_offset: float | None = None  # std of a per-coefficient offset shared by the 8 frames (normalised units)
    aug_mask: float | None = None  # probability of masking one frame, and (apart) two coefficients 2-13 in every frame
    aug_warp: float | None = None  # spectra stretched by a random factor in [1 - w, 1 + w] (vocal tract length; model/warp.py)
    aug_stretch: float | None = None  # the 8 frames read at a random tempo, log-uniform in [1/(1 + s), 1 + s] (losses.py)
    image_class_weight: float | None = None  # > 0: the scene classifier must read the generated image's class
    ema: float | None = None  # > 0: score and save an exponential moving average of the weights with this decay per step
    lr_schedule: Schedule | None = None  # constant or cosine
    class_codes: bool | None = None  # the decoder draws the predicted class from a learnt code per class (needs class_weight > 0)
    frame_order: bool | None = None  # the a2i encoder's head reads the frames in order as well as pooled (ModelConfig)
    class_encoders: int | None = None  # with class codes: encoders of the class's own, trained by the class term alone (ModelConfig)
    class_sam: float | None = None  # > 0: the class encoders trained sharpness-aware (SAM) with this radius (model/sam.py)
    classifier: bool = True  # score class accuracy with a scene classifier (2+ classes)
    time_budget: float | None = None  # seconds: stop after the epoch that reaches it
    tensorboard: bool = False  # also log to <run>/tensorboard (needs the tensorboard extra)

    def __post_init__(self) -> None:
        self.loss = None if self.loss is None else choice(Loss, self.loss, "--loss")
        self.lr_schedule = None if self.lr_schedule is None else choice(Schedule, self.lr_schedule, "--lr-schedule")
        self.device = choice(Device, self.device, "--device")
        for name in ("ema", "aug_noise", "aug_offset", "aug_mask", "aug_warp", "aug_stretch", "class_sam", "adv_weight",
                     "class_weight", "image_class_weight", "ssim_weight"):  # first: a file (--resume) may hold any JSON value
            setattr(self, name, number(getattr(self, name), "--" + name.replace("_", "-")))
        for option, value in (("--class-weight", self.class_weight), ("--adv-weight", self.adv_weight), ("--ssim-weight", self.ssim_weight),
                              ("--kl-weight", self.kl_weight), ("--image-class-weight", self.image_class_weight)):
            between(value, 0, 1000, option)  # None (the recipe's value) passes; above 1000 the image term is lost
        for option, value in (("--aug-noise", self.aug_noise), ("--aug-offset", self.aug_offset)):
            between(value, 0, 100, option)  # in standard deviations of the normalised features
        between(self.aug_shift, 0, 4, "--aug-shift")
        if self.class_encoders is not None and type(self.class_encoders) is not int:  # from a file (--resume)
            raise UserError(f"--class-encoders must be a whole number, got {short(repr(self.class_encoders), 40)}")
        between(self.class_encoders, 0, MAX_CLASS_ENCODERS, "--class-encoders")
        for option, value, high in (("--aug-mask", self.aug_mask, 1), ("--aug-warp", self.aug_warp, 0.5), ("--aug-stretch", self.aug_stretch, 1),
                                    ("--class-sam", self.class_sam, 1), ("--ema", self.ema, 0.9999)):  # EMA 0.9999: 1/10000 per step
            between(value, 0, high, option)
        for option, value in (("--class-codes", self.class_codes), ("--frame-order", self.frame_order)):
            if value is not None and type(value) is not bool:  # from a file (--resume): any JSON value
                raise UserError(f"{option} must be on or off, got {short(repr(value), 40)}")
        between(self.epochs, 1, 1_000_000, "--epochs")
        between(self.batch_size, 2, 65_536, "--batch-size")  # BatchNorm: a batch of 1 trains nothing
        check_seed(self.seed)
        finite(self.lr, "--lr")
        if not 0 < self.lr <= 10:
            raise UserError(f"--lr must be above 0 and at most 10, got {self.lr}")
        at_least(self.time_budget, 0, "--time-budget")
        check_name(self.name)

    def resolved(self, n_classes: int, over_sound: bool = False) -> "TrainConfig":
        """A copy with `--arch auto` and every unset option decided (data of n_classes classes; `sound` features?)."""
        arch = self.model.arch
        if arch == Arch.auto:
            arch = Arch.a2i if n_classes >= 2 else Arch.seed
        if arch == Arch.seed and self.frame_order is False:
            why = "" if self.model.arch == Arch.seed else " (what --arch auto trains on data of one class)"
            raise UserError(f"--no-frame-order: --arch seed{why} is the student project's model exactly and reads the "
                            "features with an MLP, not as frames; use --arch a2i, or leave the option out")
        recipe = RECIPES[arch.value] | (SOUND_RECIPES[arch.value] if over_sound else {})
        values = {k: recipe[k] if getattr(self, k) is None else getattr(self, k) for k in RECIPE_FIELDS}
        values["class_encoders"] = resolve_class_encoders(self.class_encoders, values["class_encoders"], arch,
                                                          self.model.arch == Arch.auto, self.model.vae, self.model.latent)
        model = ModelConfig(**{**asdict(self.model), "arch": arch, **{k: values[k] for k in ("frame_order", "class_encoders")}})
        return TrainConfig(**{**{f.name: getattr(self, f.name) for f in fields(self)}, **values, "model": model})


# --------------------------------------------------------------------------- inference and jobs


@dataclass
class GenerateConfig:
    out: Path | None = None  # a .png; with audio input a folder (default generated.png / generated/)
    model: Path | None = None  # default: the newest runs/train/*/weights/best.pt
    engine: Engine = Engine.auto
    row: int = 1  # with a CSV: the 1-based data row

    def __post_init__(self) -> None:
        self.engine = choice(Engine, self.engine, "--engine")
        if self.row < 1:
            raise UserError(f"--row is 1-based (the first data row is 1), got {self.row}")


@dataclass
class BatchConfig:
    out: Path | str | None = None  # a folder or a URI; default: a new runs/batch-generate/<name>
    name: str = "exp"
    exist_ok: bool = False
    model: Path | str | None = None  # a path or a URI
    engine: Engine = Engine.auto
    backend: Backend = Backend.auto
    ray_address: str | None = None
    workers: int | None = None  # default: every core
    batch_size: int = 64  # rows per inference batch (and per manifest write)
    format: ImageFormat = ImageFormat.png
    png_level: int = 1  # zlib level 0-9
    quality: int = 90  # JPEG/WebP

    def __post_init__(self) -> None:
        self.engine = choice(Engine, self.engine, "--engine")
        if self.backend != "inline":  # inline (this process) is for library callers and tests
            self.backend = choice(Backend, self.backend, "--backend")
        self.format = choice(ImageFormat, self.format, "--format")
        between(self.png_level, 0, 9, "--png-level")
        between(self.quality, 1, 100, "--quality")
        between(self.batch_size, 1, 65_536, "--batch-size")
        between(self.workers, 1, MAX_WORKERS, "--workers")
        if self.ray_address and self.backend not in (Backend.auto, Backend.ray):
            raise UserError(f"--ray-address needs --backend ray (or auto); --backend {self.backend} runs here")
        not_blank(self.out, "--out", "give a folder or a URI (or leave it out: a new runs/batch-generate/<name>)")
        if self.out is None:
            check_name(self.name)


@dataclass
class ScoreConfig:
    targets: Path | str = Path("data")  # a folder of targets, or a dataset folder / CSV for a manifest's IMAGE paths (or a URI)
    out: Path | None = None  # default: runs/score/<name>
    name: str = "exp"
    exist_ok: bool = False
    backend: Backend = Backend.auto
    ray_address: str | None = None
    workers: int | None = None
    examples: int = 6  # pairs per group (best, median, worst) in report.md
    chunk: int = 32  # pairs per task
    allow_outside_paths: bool = False  # follow manifest paths that lead outside GENERATED / TARGETS
    classifier: Path | None = None  # a scene classifier.pt: the summary also gets the Fréchet distance (FD)

    def __post_init__(self) -> None:
        if self.backend != "inline":
            self.backend = choice(Backend, self.backend, "--backend")
        between(self.workers, 1, MAX_WORKERS, "--workers")
        between(self.examples, 0, 1000, "--examples")
        at_least(self.chunk, 1, "chunk")
        if self.ray_address and self.backend not in (Backend.auto, Backend.ray):
            raise UserError(f"--ray-address needs --backend ray (or auto); --backend {self.backend} runs here")
        if self.out is None:
            check_name(self.name)


@dataclass
class ExportConfig:
    model: Path | None = None  # default: the newest best.pt
    out: Path | None = None  # default: next to the checkpoint, with the format's suffix
    format: ExportFormat | None = None  # default: from --out's suffix, else pt2 (it needs only torch)


# --------------------------------------------------------------------------- media


@dataclass
class ExtractConfig:
    out: Path = Path("data")
    image_size: int = 256  # pictures are centre-cropped to a square and resized to this
    class2: str | None = None  # extract videos: CLASS2 of every row
    class1: str | None = None  # default: INDOORS for indoor classes, else OUTDOORS
    window: Window = Window.sound  # extract audio: where the 8 windows sit (videos always use `second`)
    hop: float = 1.0  # extract videos: seconds between rows (each row: the frame at the middle of its 1-s window)

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        self.window = choice(Window, self.window, "--window")
        between(self.image_size, 8, 2048, "--image-size")
        between(self.hop, 0.05, 60.0, "--hop")


@dataclass
class AnimateConfig:
    out: Path = Path("animation.mp4")
    fps: int = 8
    model: Path | None = None
    engine: Engine = Engine.auto
    image_size: int | None = None  # video side; default: the model's image size
    batch_size: int = 64  # frames per engine call
    smooth: float = 0.5  # seconds: std of the centred Gaussian each frame's latent is averaged over; 0 = independent frames

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        self.engine = choice(Engine, self.engine, "--engine")
        between(self.fps, 1, 60, "--fps")
        between(self.smooth, 0, 10, "--smooth")
        self.smooth = float(self.smooth) + 0.0
        between(self.image_size, 16, 4096, "--image-size")
        at_least(self.batch_size, 1, "--batch-size")


# --------------------------------------------------------------------------- the demo


@dataclass
class DemoConfig:
    # all nine classes with the a2i recipe (class codes, mse+ssim, the discriminator, cosine over 20 epochs): a
    # model that beats the mean image on every score in a few minutes; `--class BEACH --arch seed --image-size 128
    # --epochs 80 --loss mse+ssim` is the one-class seed demo of before (which lost to the mean image on SSIM)
    classes: list[str] = field(default_factory=lambda: ["all"])
    rows: int = 2000
    epochs: int = 20
    arch: Arch = Arch.auto
    loss: Loss | None = None  # None: the architecture's recipe
    image_size: int = 64
    batch_size: int = 32
    seed: int = 0
    engine: Engine = Engine.auto
    name: str = "demo"
    exist_ok: bool = False
    runs_root: Path = RUNS

    def __post_init__(self) -> None:
        self.loss = None if self.loss is None else choice(Loss, self.loss, "--loss")
        self.arch = choice(Arch, self.arch, "--arch")
        self.engine = choice(Engine, self.engine, "--engine")
        check_image_size(self.image_size)
        between(self.rows, 9, 10_000_000, "--rows")
        between(self.epochs, 1, 1_000_000, "--epochs")
        between(self.batch_size, 2, 65_536, "--batch-size")  # it trains: as TrainConfig
        check_seed(self.seed)
        check_name(self.name)
        from_demo = {c.upper() for c in DEMO_CLASSES}
        for c in self.classes:
            if c.strip().lower() != "all" and c.strip().upper() not in from_demo:
                raise UserError(f"--class {c!r} is not a demo class; choose from {', '.join(DEMO_CLASSES)} or all")
