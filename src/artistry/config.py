"""Typed training configuration: one dataclass per concern, validated before anything is built.

Every field maps to a `train` flag of the same name (underscores become dashes). `None` means
"the loss or recipe decides" and is filled in by `resolve()`, so `--dry-run` shows real values.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

CONFIG_VERSION = 1
SIZES = (32, 64, 128, 256, 512, 1024)
FITS = ("crop", "pad", "stretch")
PRECISIONS = ("auto", "bf16", "fp32")
UPSAMPLES = ("transpose", "resize")
D_WIDTHS = ("paper", "generator")  # fastgan D: the authors' width table, or G's (runs before 2026-12-05)
RESOLVED_FIELDS = ("label_names", "num_classes")  # filled from the data at train start, never set by hand


@dataclass
class DataConfig:
    path: str = ""
    size: int = 64
    fit: str = "crop"
    channels: int = 3
    mirror: bool = False
    cache_dir: str | None = None
    min_images: int = 8
    conditional: bool = False  # class-conditional training on the dataset's labels (issue 27)
    labels: str | None = None  # a CSV (header; a `file` column relative to the folder) instead of subfolders
    label_column: str = "label"  # the CSV column holding each file's label
    min_label_images: int = 20  # labels with fewer images are merged into "other"
    balanced: bool = False  # class-balanced sampling: every label equally often
    label_names: list[str] = field(default_factory=list)  # resolved at train start (sorted, "other" last)


@dataclass
class ModelConfig:
    model: str = "dcgan"
    nz: int = 100  # latent size (GAN noise, VAE latent)
    ngf: int = 64  # generator / decoder width
    ndf: int = 64  # discriminator / encoder width
    mbstd: bool = False  # minibatch standard deviation layer in D
    mbdisc: int = 0  # minibatch discrimination kernels in D (Salimans et al. 2016); 0 = off
    upsample: str = "transpose"  # dcgan G: transpose (the paper) or resize (nearest + 3x3 conv)
    d_norm: str | None = None  # batch|layer|none; None = whatever the loss allows
    d_widths: str = "paper"  # fastgan: the discriminator's width table (D_WIDTHS)
    num_classes: int = 0  # resolved at train start from the labels; 0 = unconditional


@dataclass
class LossConfig:
    loss: str | None = None  # None: the model family's default (bce for GANs)
    label_smoothing: float = 0.0  # one-sided: real targets become 1 - s
    clip: float | None = None  # WGAN weight clipping bound
    gp: float | None = None  # WGAN-GP penalty weight
    r1: float = 0.0  # R1 penalty weight on real images
    fm: float = 0.0  # generator feature-matching weight (Salimans et al. 2016)
    class_loss: float = 0.0  # conditional GANs: weight of the auxiliary classifier term (AC-GAN), 0 = off
    n_critic: int | None = None
    pack: int = 1  # PacGAN: D sees `pack` samples at once
    beta: float = 1.0  # VAE KL weight
    kl_warmup: int = 0  # VAE: images over which beta ramps from 0
    noise: str = "gaussian:0.2"  # DAE corruptions


@dataclass
class OptimConfig:
    optimizer: str | None = None  # adam|rmsprop
    lr_g: float | None = None
    lr_d: float | None = None
    beta1: float | None = None
    beta2: float | None = None


@dataclass
class TrainConfig:
    batch: int = 64
    steps: int | None = None
    epochs: float | None = None
    max_minutes: float | None = None
    seed: int = 0
    precision: str = "auto"  # auto: bf16 where the hardware has fast bf16, else fp32
    device: str = "auto"
    compile: bool = False  # torch.compile G and D (opt-in: minutes of compiling first)
    sync_bn: bool = False  # many processes: batch norm over the global batch (see distributed.py)
    ema: bool = False
    ema_kimg: float = 10.0  # EMA half-life in thousands of images (StyleGAN)
    augment: str = ""  # DiffAugment policy, e.g. "color,translation,cutout"
    ada_target: float = 0.0  # >0: adapt the augment probability so E[sign D(real)] stays here (ADA)
    ada_kimg: float = 10.0  # thousands of images for the probability to move 0 -> 1
    lr_tail: float = 0.0  # final share of the budget over which learning rates decay to 0
    sample_every: int | None = None  # images between sample grids (None: 40 per budget, by time under max_minutes)
    checkpoint_every: int | None = None  # images between checkpoints (None: 5 per budget, likewise)
    keep: int = 3
    n_samples: int = 64  # size of the fixed noise batch shown in grids
    eval_every: int | None = None
    eval_at: str = ""  # evaluate at these shares of the budget, e.g. "0.5,0.75" (and at the end if one ran)
    eval_n: int = 1000
    eval_metric: str = "fid"  # fid or kid: picks the best checkpoint
    recipe: str = ""  # the recipe the settings came from (recorded; see recipes.py)
    name: str = ""
    runs_dir: str = "runs"


# Fields added after runs were saved without them, with the value those runs were built with, so
# that their checkpoints still load: a fastgan run from before the authors' D widths has G's.
SAVED_BEFORE: dict[str, dict[str, Any]] = {"model": {"d_widths": "generator"}}


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    version: int = CONFIG_VERSION

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Config:
        """Build from a saved dict; unknown keys are an error naming them, and a key added after
        the dict was saved takes the value that rebuilds what it was saved with (SAVED_BEFORE)."""
        version = d.get("version", CONFIG_VERSION)
        if version != CONFIG_VERSION:
            raise ConfigError(f"config version {version} is not supported by this artistry (expects {CONFIG_VERSION})")
        parts = {}
        for f in dataclasses.fields(cls):
            if f.name == "version":
                continue
            sub_cls = f.default_factory  # type: ignore[misc]
            raw = d.get(f.name, {})
            known = {x.name for x in dataclasses.fields(sub_cls)}
            unknown = set(raw) - known
            if unknown:
                raise ConfigError(f"unknown config key(s) in '{f.name}': {', '.join(sorted(unknown))}")
            parts[f.name] = sub_cls(**{**SAVED_BEFORE.get(f.name, {}), **raw})
        return cls(**parts)

    def flat(self) -> dict[str, Any]:
        """All fields keyed by field name (the flag name with underscores)."""
        out = {}
        for section in (self.data, self.model, self.loss, self.optim, self.train):
            out.update(dataclasses.asdict(section))
        return out

    def set(self, name: str, value: Any) -> None:
        """Set a field by its flat name, e.g. set("lr_g", 1e-4)."""
        for section in (self.data, self.model, self.loss, self.optim, self.train):
            if name in {f.name for f in dataclasses.fields(section)}:
                setattr(section, name, value)
                return
        raise ConfigError(f"unknown option '{name}'")


def field_type(annotation: str) -> type:
    """The Python type behind a field's annotation ("float | None" -> float)."""
    base = annotation.replace(" | None", "").strip()
    return {"int": int, "float": float, "str": str, "bool": bool}[base]


def parse_field(name: str, text: str, where: str) -> Any:
    """A field's value from text (as in `best[lr_tail=0]`); a clear error naming `where` otherwise."""
    types = {
        f.name: f.type
        for s in dataclasses.fields(Config)
        if s.name != "version"
        for f in dataclasses.fields(s.default_factory)
    }  # type: ignore[misc]
    if name not in types or name in RESOLVED_FIELDS:
        raise ConfigError(f"{where}: unknown setting '{name}'")
    kind, text = field_type(types[name]), text.strip()
    if kind is bool:
        if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise ConfigError(f"{where}: {name} must be true or false, got '{text}'")
        return text.lower() in ("true", "1", "yes")
    if text.lower() == "none" and "None" in types[name]:
        return None
    try:
        return kind(text)
    except ValueError:
        raise ConfigError(f"{where}: {name} must be {kind.__name__}, got '{text}'") from None


def _need(ok: bool, flag: str, msg: str) -> None:
    if not ok:
        raise ConfigError(f"{flag}: {msg}")


def validate(cfg: Config) -> None:
    """Check every value before anything is allocated; the message names the flag."""
    from . import registry  # late: registries fill on import of models/losses

    d, m, lo, o, t = cfg.data, cfg.model, cfg.loss, cfg.optim, cfg.train
    _need(d.size in SIZES, "--size", f"must be one of {', '.join(map(str, SIZES))}, got {d.size}")
    _need(d.fit in FITS, "--fit", f"must be one of {', '.join(FITS)}, got '{d.fit}'")
    _need(d.channels in (1, 3), "--channels", f"must be 1 or 3, got {d.channels}")
    _need(d.min_images >= 1, "--min-images", "must be at least 1")
    _validate_labels(cfg)
    registry.MODELS.get(m.model, flag="--model")
    _need(lo.loss is not None, "--loss", "was not resolved; call resolve() first")
    registry.LOSSES.get(lo.loss, flag="--loss")
    _need(1 <= m.nz <= 4096, "--nz", f"must be between 1 and 4096, got {m.nz}")
    _need(4 <= m.ngf <= 1024, "--ngf", f"must be between 4 and 1024, got {m.ngf}")
    _need(4 <= m.ndf <= 1024, "--ndf", f"must be between 4 and 1024, got {m.ndf}")
    _need(0 <= m.mbdisc <= 1024, "--mbdisc", f"must be between 0 (off) and 1024 kernels, got {m.mbdisc}")
    _need(m.upsample in UPSAMPLES, "--upsample", f"must be one of {', '.join(UPSAMPLES)}, got '{m.upsample}'")
    _need(m.d_norm in (None, "batch", "layer", "none"), "--d-norm", "must be batch, layer or none")
    _need(m.d_widths in D_WIDTHS, "--d-widths", f"must be one of {', '.join(D_WIDTHS)}, got '{m.d_widths}'")
    _need(0.0 <= lo.label_smoothing < 0.5, "--label-smoothing", "must be in [0, 0.5)")
    _need(lo.clip is None or lo.clip > 0, "--clip", "must be positive")
    _need(lo.gp is None or lo.gp >= 0, "--gp", "must be >= 0")
    _need(lo.r1 >= 0, "--r1", "must be >= 0")
    _need(lo.fm >= 0, "--fm", "must be >= 0")
    _need(lo.class_loss >= 0, "--class-loss", "must be >= 0")
    _need(lo.n_critic is None or 1 <= lo.n_critic <= 100, "--n-critic", "must be between 1 and 100")
    _need(1 <= lo.pack <= 16, "--pack", "must be between 1 and 16")
    _need(lo.beta >= 0, "--beta", "must be >= 0")
    _need(lo.kl_warmup >= 0, "--kl-warmup", "must be >= 0")
    _need(o.optimizer in (None, "adam", "rmsprop"), "--optimizer", "must be adam or rmsprop")
    for flag, v in (("--lr-g", o.lr_g), ("--lr-d", o.lr_d)):
        _need(v is None or 0 < v < 1, flag, f"must be in (0, 1), got {v}")
    for flag, v in (("--beta1", o.beta1), ("--beta2", o.beta2)):
        _need(v is None or 0 <= v < 1, flag, f"must be in [0, 1), got {v}")
    _need(1 <= t.batch <= 4096, "--batch", f"must be between 1 and 4096, got {t.batch}")
    _need(t.batch % lo.pack == 0, "--batch", f"must be a multiple of --pack ({lo.pack})")
    _need(t.steps is None or t.steps >= 1, "--steps", "must be at least 1")
    _need(t.epochs is None or t.epochs > 0, "--epochs", "must be positive")
    _need(t.max_minutes is None or t.max_minutes > 0, "--max-minutes", "must be positive")
    _need(t.precision in PRECISIONS, "--precision", f"must be one of {', '.join(PRECISIONS)}")
    _need(
        t.device == "auto" or t.device == "cpu" or t.device.startswith("cuda"),
        "--device",
        f"must be auto, cpu or cuda[:N], got '{t.device}'",
    )
    _need(t.ema_kimg > 0, "--ema-kimg", "must be positive")
    for flag, v in (
        ("--sample-every", t.sample_every),
        ("--checkpoint-every", t.checkpoint_every),
        ("--eval-every", t.eval_every),
    ):
        _need(v is None or v >= 1, flag, "must be a positive number of images")
    _need(t.keep >= 1, "--keep", "must be at least 1")
    _need(1 <= t.n_samples <= 256, "--n-samples", "must be between 1 and 256")
    _need(t.eval_n >= 10, "--eval-n", "must be at least 10")
    _need(t.eval_metric in ("fid", "kid"), "--eval-metric", f"must be fid or kid, got '{t.eval_metric}'")
    eval_shares(t.eval_at)
    _need(0 <= t.ada_target < 1, "--ada-target", "must be in [0, 1) (0 = fixed probability)")
    _need(t.ada_target == 0 or bool(t.augment), "--ada-target", "needs --augment (which augmentations to adapt)")
    _need(t.ada_kimg > 0, "--ada-kimg", "must be positive")
    _need(0 <= t.lr_tail <= 1, "--lr-tail", "must be in [0, 1]")
    _need(
        all(c.isalnum() or c in "-_." for c in t.name), "--name", "may contain only letters, digits, '-', '_' and '.'"
    )
    from .data.augment import parse_policy

    parse_policy(t.augment)
    family = registry.MODELS.get(m.model)
    _need(
        family.can_sample or not (t.eval_every or t.eval_at),
        "--eval-every" if t.eval_every else "--eval-at",
        f"the {m.model} model does not generate images from noise, so there is nothing to evaluate",
    )
    _need(
        family.supports_conditional or not d.conditional,
        "--labels" if d.labels else "--conditional",
        f"the {m.model} model cannot be trained class-conditionally yet (dcgan can)",
    )
    _need(not lo.class_loss or d.conditional, "--class-loss", "classifies images by label, so it needs --conditional")
    _need(
        not lo.class_loss or family.supports_class_loss,
        "--class-loss",
        f"the {m.model} model has no auxiliary classifier (dcgan has)",
    )
    family.check(cfg)
    registry.LOSSES.get(lo.loss).check(cfg)


def _validate_labels(cfg: Config) -> None:
    """The class-conditional options; the labels themselves are checked when the data is read."""
    d, m = cfg.data, cfg.model
    _need(d.labels is None or d.conditional, "--labels", "needs --conditional (resolve() sets it)")
    _need(d.labels is None or Path(d.labels).is_file(), "--labels", f"file not found: '{d.labels}'")
    _need(bool(d.label_column.strip()), "--label-column", "must name a column of the --labels CSV")
    _need(d.min_label_images >= 1, "--min-label-images", "must be at least 1")
    _need(not d.balanced or d.conditional, "--balanced", "balances the labels, so it needs --conditional")
    _need(m.num_classes >= 0, "--conditional", f"num_classes must be >= 0, got {m.num_classes}")
    _need(
        d.conditional or (m.num_classes == 0 and not d.label_names),
        "--conditional",
        "this config has labels (num_classes/label_names) but is not conditional",
    )
    _need(
        m.num_classes == len(d.label_names),
        "--conditional",
        f"num_classes ({m.num_classes}) does not match label_names ({len(d.label_names)})",
    )


def eval_shares(text: str) -> list[float]:
    """'0.5,0.75' -> [0.5, 0.75]: shares of the budget at which to evaluate."""
    try:
        shares = sorted(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ConfigError(f"--eval-at: expected shares of the budget like 0.5,0.75, got '{text}'") from None
    _need(all(0 < x < 1 for x in shares), "--eval-at", "shares must be between 0 and 1 (the end is evaluated too)")
    return shares


DEFAULT_MINUTES = 30.0


def resolve(cfg: Config) -> Config:
    """Fill every `None` left for the model family and loss to decide, then validate.

    Returns a new Config; the input is not modified.
    """
    from . import registry

    cfg = Config.from_dict(cfg.to_dict())
    if cfg.data.labels:  # a label file means conditional training; kept absolute for resumes
        cfg.data.conditional = True
        cfg.data.labels = str(Path(cfg.data.labels).expanduser().resolve())
    family = registry.MODELS.get(cfg.model.model, flag="--model")
    if cfg.loss.loss is None:
        cfg.loss.loss = family.default_loss
    loss_cls = registry.LOSSES.get(cfg.loss.loss, flag="--loss")
    loss_cls.resolve(cfg)
    t = cfg.train
    if t.steps is None and t.epochs is None and t.max_minutes is None:
        t.max_minutes = DEFAULT_MINUTES
    total = total_images(cfg)
    # Counted budgets get image intervals here; epochs and time budgets are spaced when the
    # dataset size is known (training/callbacks/base.budget_every): by time under --max-minutes.
    if t.sample_every is None and total:
        t.sample_every = max(t.batch, total // 40)
    if t.checkpoint_every is None and total:
        t.checkpoint_every = max(t.batch, total // 5)
    validate(cfg)
    return cfg


def total_images(cfg: Config, dataset_size: int | None = None) -> int | None:
    """Images the run will draw, when the budget is counted (not timed). Epochs need the size."""
    t = cfg.train
    if t.steps is not None:
        return t.steps * t.batch * images_per_step_factor(cfg)
    if t.epochs is not None and dataset_size:
        return int(t.epochs * dataset_size)
    return None


def images_per_step_factor(cfg: Config) -> int:
    """Real batches one training step draws (n_critic for critic-heavy losses)."""
    from . import registry

    loss_cls = registry.LOSSES.get(cfg.loss.loss)
    return loss_cls.real_batches_per_step(cfg)
