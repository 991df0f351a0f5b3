"""Recipes: named sets of model, loss and training options chosen together (`--recipe`).

A recipe fills config fields first; every flag the user gives then overrides it, so
`--recipe best --ngf 64` is the best recipe with a wider generator. Optimizer settings are left
to the loss (its paper's defaults), so `--recipe best --loss hinge` still gets hinge's Adam betas.

- classic: Radford et al.'s DCGAN exactly: bce, nz 100, widths 64, batch 128, Adam 2e-4 (0.5, 0.999),
  no augmentation, no EMA, no tricks.
- fast: the cheapest recipe that still looks good: half-width networks (about 3x the images
  per second of classic on a CPU), mirrored data, generator EMA.
- best (default): fast, plus a resize+conv generator (no checkerboard lattice), minibatch-std
  in D, DiffAugment on every batch, learning rates that decay over the last 20% of the budget,
  and KID evaluations (250 images) at 70% of the budget and at the end, so the run ends with the
  best checkpoint. Each option earned its place in an ablation, and the recipe is measured
  against classic by `artistry bench quality` (docs/benchmarks.md). Adaptive augmentation
  (--ada-target) lost to a fixed probability there: on CPU budgets D's sign statistic says
  "overfitting" from the start because G is still weak, so p saturated anyway, later.
  With --conditional, best also sets --class-loss 0.5 (D's auxiliary classifier): on 19
  painting styles it beat the projection critic alone and --balanced on both FID and label
  agreement, and 0.25 on agreement at the same FID (docs/benchmarks.md, "Conditional training
  by style").

- hires: FastGAN (Liu et al. 2021, `--model fastgan`) for 128-1024 px few-shot sets: hinge
  loss, one critic step per generator step, batch-normalised D with its reconstruction term,
  DiffAugment, EMA and best's budget rules (lr tail, KID at 70% and the end). The optimizer is
  the paper's (batch 8, Adam 2e-4, betas (0.5, 0.999)) rather than hinge's SNGAN defaults;
  widths are a quarter of the paper's (ngf = ndf = 16: a 128 px step costs about a third of
  what it does at 32, and a CPU hour then sees a few thousand images rather than one); on a
  GPU pass the paper's --ngf 64 --ndf 64. nz is the paper's 256. Measured on two CPU cores,
  best wins: 64 px, 30 minutes, FID 186 against 134; 128 px, 60 minutes, 299 against 168
  (hires sees a quarter to a sixth of the images and is still in FastGAN's early blurry
  phase). Half widths (ngf = ndf = 8) did better at 128 px, 60 minutes: 232 against best's 153,
  ratio 1.51 against 1.78, but on another CPU (an AMX Xeon, not the EPYC), so the widths
  stay until both run on one machine; batch 16 at half widths ended level (228 against
  best's 153), and with D at the authors' widths (ngf 8, ndf 16, batch 16) 224. best stays
  the default; hires is for GPUs.

Recipes are for the GAN families (dcgan, mlp, fastgan); the VAE and DAE have their own losses.
"""

from __future__ import annotations

from typing import Any

from .config import Config, parse_field
from .errors import ConfigError

_CLASSIC = {
    "model": "dcgan",
    "loss": "bce",
    "nz": 100,
    "ngf": 64,
    "ndf": 64,
    "batch": 128,
    "mbstd": False,
    "pack": 1,
    "r1": 0.0,
    "label_smoothing": 0.0,
    "mirror": False,
    "ema": False,
    "augment": "",
    "ada_target": 0.0,
    "lr_tail": 0.0,
    "eval_at": "",
    "upsample": "transpose",
}
_FAST = {**_CLASSIC, "ngf": 32, "ndf": 32, "batch": 64, "mirror": True, "ema": True, "ema_kimg": 5.0}
_BEST = {
    **_FAST,
    "upsample": "resize",
    "mbstd": True,
    "augment": "color,translation,cutout",
    "lr_tail": 0.2,
    "eval_at": "0.7",
    "eval_n": 250,
    "eval_metric": "kid",
}

_HIRES = {
    **_BEST,
    "model": "fastgan",
    "loss": "hinge",
    "n_critic": 1,
    "d_norm": "batch",
    "mbstd": False,
    "nz": 256,
    "ngf": 16,
    "ndf": 16,
    "batch": 8,
    "lr_g": 2e-4,
    "lr_d": 2e-4,
    "beta1": 0.5,
    "beta2": 0.999,
}

# What a recipe adds for a --conditional run of a family with an auxiliary classifier (dcgan):
# best's conditional runs score the samples' labels with one (see docs/conditional.md).
_BEST_CONDITIONAL = {"class_loss": 0.5}

RECIPES: dict[str, dict[str, Any]] = {"classic": _CLASSIC, "fast": _FAST, "best": _BEST, "hires": _HIRES}
CONDITIONAL_RECIPES: dict[str, dict[str, Any]] = {"best": _BEST_CONDITIONAL}
DEFAULT_RECIPE = "best"
MODEL_RECIPES = {"fastgan": "hires"}  # a family's own default recipe, when it is not DEFAULT_RECIPE
GAN_MODELS = ("dcgan", "mlp", "fastgan")


def recipe_settings(name: str) -> dict[str, Any]:
    """The field values a recipe sets; a clear error naming --recipe for unknown names."""
    if name not in RECIPES:
        raise ConfigError(f"--recipe: unknown recipe '{name}'; choose from {', '.join(RECIPES)}")
    return dict(RECIPES[name])


def split_variants(text: str) -> list[str]:
    """`classic,best[mbstd=false,lr_tail=0]` -> ["classic", "best[mbstd=false,lr_tail=0]"]."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text + ","):
        depth += (c == "[") - (c == "]")
        if c == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    return [p for p in parts if p]


def parse_variant(spec: str, where: str = "--compare") -> tuple[str, dict[str, Any]]:
    """A recipe with changed settings, `best[mbstd=false,lr_tail=0]` -> ("best", {...}), for ablations.

    Names are config fields (dashes or underscores); values are parsed to the field's type. A
    value may itself hold commas (`best[augment=color,translation,batch=32]`): an item without
    '=' continues the value before it.
    """
    name, _, rest = spec.partition("[")
    recipe_settings(name.strip())  # unknown recipe: a clear error
    if rest and not rest.endswith("]"):
        raise ConfigError(f"{where}: '{spec}' must end with ']' (e.g. best[mbstd=false])")
    raw: dict[str, str] = {}
    for item in filter(None, (x.strip() for x in rest[:-1].split(","))):
        key, eq, value = item.partition("=")
        if eq:
            raw[key.strip().replace("-", "_")] = value
        elif raw:  # a comma inside the value before it
            raw[next(reversed(raw))] += "," + item
        else:
            raise ConfigError(f"{where}: '{item}' in '{spec}' must be NAME=VALUE")
    return name.strip(), {key: parse_field(key, value, where) for key, value in raw.items()}


def config_from(data_path: str, given: dict[str, Any], recipe: str | None = None) -> Config:
    """The Config for training on `data_path`: the recipe's settings, then the given fields.

    Args:
        data_path: the image folder.
        given: config fields the user set (flat names, e.g. {"ngf": 64}); they win over the recipe.
        recipe: a recipe name; None means the model's default recipe for GAN models (hires for
            fastgan, best for the others) and none for the VAE/DAE, whose settings come from
            their own losses.
    """
    model = given.get("model", "dcgan")
    if recipe is None:
        recipe = MODEL_RECIPES.get(model, DEFAULT_RECIPE) if model in GAN_MODELS else ""
    elif model not in GAN_MODELS:
        raise ConfigError(f"--recipe: recipes are for GAN models ({', '.join(GAN_MODELS)}), not --model {model}")
    cfg = Config()
    cfg.data.path = data_path
    settings = recipe_settings(recipe) if recipe else {}
    if given.get("conditional") or given.get("labels"):
        settings.update(_conditional_settings(recipe, given.get("model", settings.get("model", "dcgan"))))
    for k, v in {**settings, **given}.items():
        cfg.set(k, v)
    cfg.train.recipe = recipe
    return cfg


def _conditional_settings(recipe: str, model: str) -> dict[str, Any]:
    """The recipe's extra settings for a conditional run, those the model family can use."""
    from .registry import MODELS

    extra = CONDITIONAL_RECIPES.get(recipe, {})
    if "class_loss" in extra and not MODELS.get(model, flag="--model").supports_class_loss:
        extra = {k: v for k, v in extra.items() if k != "class_loss"}
    return dict(extra)
