"""Benchmark recipes: 'LOSS[+OPTION...]' strings, their Config, and the bare training loop.

Options: pack2, pack4, mbstd, mbdisc=100 (minibatch discrimination kernels), ema, r1=10, fm=0.05
(generator feature matching), gp=10,
clip=0.01, ncritic=5, lr=1e-4 (both nets), lrg=.., lrd=.., beta1=.., beta2=..,
dnorm=batch|layer|none, up=transpose|resize (the dcgan generator's up-sampling), ls=0.1 (label
smoothing), emakimg=2, tail=0.3 (learning rates decay to 0 over the last 30% of the steps), the
harness's own knobs batch=N (D inputs per step), nz=N (2-D noise size), gw=W and dw=W (2-D: every
hidden layer of G / D this wide; Stacked MNIST: ngf / ndf), and drs[=STEPS]: score samples kept by
discriminator rejection sampling (artistry.rejection) with a classifier fitted for STEPS on the
frozen G, reporting G alone too. E.g. `bce+pack2+ema+drs`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from ..config import UPSAMPLES, Config, resolve
from ..errors import ConfigError
from ..registry import LOSSES
from ..training.schedules import lr_scale, set_learning_rates
from ..training.state import TrainState, ema_beta
from ..training.step import train_step

DEFAULT_RECIPES = ["bce", "bce+pack2", "bce+pack4", "bce+mbstd", "wgan", "wgan-gp", "hinge"]
DRS_STEPS = 2000  # classifier steps for the `drs` option (rejection sampling when scoring)


@dataclass
class Recipe:
    """A loss plus option overrides, parsed from 'LOSS[+OPTION...]'."""

    spec: str
    loss: str
    settings: dict[str, Any] = field(default_factory=dict)  # config field -> value
    bench: dict[str, int] = field(default_factory=dict)  # the harness's own knobs: batch, nz, gw, dw

    @property
    def pack(self) -> int:
        return int(self.settings.get("pack", 1))


_BENCH_OPTS = ("batch", "nz", "gw", "dw")  # batch per D input, noise size, G / D hidden width
_FLOAT_OPTS = {
    "r1": "r1",
    "fm": "fm",
    "gp": "gp",
    "clip": "clip",
    "lrg": "lr_g",
    "lrd": "lr_d",
    "beta1": "beta1",
    "beta2": "beta2",
    "ls": "label_smoothing",
    "emakimg": "ema_kimg",
    "tail": "lr_tail",
}


def parse_recipe(spec: str) -> Recipe:
    """'bce+pack2+ema' -> Recipe('bce', {'pack': 2, 'ema': True}); errors name the bad part."""
    parts = [p.strip() for p in spec.split("+") if p.strip()]
    if not parts:
        raise ConfigError("--recipes: empty recipe")
    loss = parts[0]
    LOSSES.get(loss, flag="--losses")
    settings: dict[str, Any] = {}
    bench: dict[str, int] = {}
    for opt in parts[1:]:
        key, _, val = opt.partition("=")
        try:
            if key.startswith("pack") and not val:
                settings["pack"] = int(key[4:])
            elif key in ("mbstd", "ema") and not val:
                settings[key] = True
            elif key == "drs":  # refit-classifier steps for rejection sampling at scoring time
                bench["drs"] = int(val) if val else DRS_STEPS
                if bench["drs"] < 1:
                    raise ValueError
            elif key in _BENCH_OPTS:
                bench[key] = int(val)
                if bench[key] < 1:
                    raise ValueError
            elif key == "ncritic":
                settings["n_critic"] = int(val)
            elif key == "mbdisc":  # minibatch discrimination kernels in D
                settings["mbdisc"] = int(val)
                if settings["mbdisc"] < 1:
                    raise ValueError
            elif key == "lr":
                settings["lr_g"] = settings["lr_d"] = float(val)
            elif key == "dnorm":
                settings["d_norm"] = val
            elif key == "up":  # the dcgan generator's up-sampling: transpose or resize
                if val not in UPSAMPLES:
                    raise ValueError
                settings["upsample"] = val
            elif key in _FLOAT_OPTS:
                settings[_FLOAT_OPTS[key]] = float(val)
            else:
                raise ValueError
        except ValueError:
            raise ConfigError(
                f"--options: cannot read '{opt}' in '{spec}'; use packN, mbstd, ema, r1=G, fm=W, gp=L, "
                "clip=C, ncritic=N, mbdisc=K, lr=X, lrg=X, lrd=X, beta1=X, beta2=X, dnorm=batch|layer|none, "
                "up=transpose|resize, ls=S, emakimg=K, tail=S, batch=N, nz=N, gw=W, dw=W"
            ) from None
    return Recipe(spec, loss, settings, bench)


def expand_recipes(losses: str | None, options: str | None, recipes: str | None) -> list[Recipe]:
    """The recipes to run: --recipes as given, plus every loss in --losses with every option set
    in --options ('none' = no option); the default set when nothing is given."""
    specs: list[str] = []
    if recipes:
        specs += [r for r in recipes.split(",") if r.strip()]
    if losses:
        opts = [o.strip() for o in (options or "none").split(",") if o.strip()]
        for loss in losses.split(","):
            for o in opts:
                specs.append(loss.strip() if o == "none" else f"{loss.strip()}+{o}")
    elif options:
        raise ConfigError("--options needs --losses (or write full recipes with --recipes)")
    if not specs:
        specs = list(DEFAULT_RECIPES)
    seen, out = set(), []
    for s in specs:
        r = parse_recipe(s)
        if r.spec not in seen:
            seen.add(r.spec)
            out.append(r)
    return out


def recipe_config(
    recipe: Recipe,
    *,
    model: str,
    size: int,
    channels: int,
    batch: int,
    nz: int,
    ngf: int = 8,
    ndf: int = 8,
    d_norm: str | None = None,
) -> Config:
    """A resolved Config for `recipe` (the loss fills what the recipe leaves unset)."""
    cfg = Config()
    cfg.data.path, cfg.data.size, cfg.data.channels = "bench", size, channels
    cfg.model.model, cfg.model.nz, cfg.model.ngf, cfg.model.ndf = model, nz, ngf, ndf
    cfg.model.d_norm = d_norm
    cfg.loss.loss = recipe.loss
    cfg.train.batch, cfg.train.steps, cfg.train.precision = batch, 1, "fp32"
    for k, v in recipe.settings.items():
        cfg.set(k, v)
    return resolve(cfg)


def train_loop(
    state: TrainState,
    cfg: Config,
    next_batch: Callable[[], torch.Tensor],
    steps: int,
    on_step: Callable[[int, dict], None] | None = None,
) -> None:
    """`steps` calls of the project's train_step with the loss from `cfg`, fp32."""
    loss = LOSSES.get(cfg.loss.loss)(cfg)
    phases = loss.phases()
    beta = (lambda seen: ema_beta(cfg, seen)) if state.ema is not None else None
    for opt in state.optimizers.values():  # multi-tensor kernels: same arithmetic, less overhead
        for group in opt.param_groups:
            group["foreach"] = True
    state.model.train()
    o = cfg.optim
    for i in range(steps):
        if cfg.train.lr_tail:  # lr decays to 0 over the last `tail` share of the steps
            set_learning_rates(state.optimizers, o.lr_g, o.lr_d, lr_scale(i / steps, cfg.train.lr_tail))
        logs, _ = train_step(state, phases, next_batch, contextlib.nullcontext, beta)
        if on_step is not None:
            on_step(i, logs)
