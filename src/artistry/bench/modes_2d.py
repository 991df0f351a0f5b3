"""The 2-D suite of `artistry bench modes`: ring and grid mixtures (see metrics/modes.py).

G: the mlp family's MLPGenerator, 2-D standard normal noise -> 4 hidden layers of 128 (batch
norm, LeakyReLU 0.2) -> linear 2-D output (no tanh); 51k parameters.
D: MLPDiscriminator, 3 hidden layers of 64 (LeakyReLU 0.2, no normalisation unless a recipe
asks) -> 1 logit; 8.6k parameters. PyTorch's default init (see `toy_model`).
PacGAN's were 4x400 (batch norm, ReLU) / 3x200 (maxout, 5 pieces), trained for 400 epochs of
100k points (400k steps); ours are smaller and train for far fewer steps (CPU budget). The data
are scaled by 1 / (the largest |mean coordinate|) for the networks, as images are scaled to
[-1, 1]; samples are scaled back before scoring. `pack` folds PACK samples into one D input;
like PacGAN, D still sees `batch` packed inputs per step, so the step draws batch * pack real
and fake samples. 2,500 samples from G (the EMA copy when kept, eval mode) are scored per trial.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from ..config import Config
from ..metrics.modes import mixture, score_mixture
from ..models.layers import apply_spectral_norm_
from ..models.mlp import MLPGAN
from ..registry import LOSSES
from ..training.state import TrainState, build_optimizers, make_ema
from .mode_recipes import Recipe, parse_recipe, recipe_config, train_loop
from .trials import headline, run_jobs, summarize_trials

TOY_G = [128, 128, 128, 128]
TOY_D = [64, 64, 64]
TOY_BATCH = 100
TOY_STEPS = 3000
TOY_EVAL = 2500
DRS_WIDTHS = [256, 256, 256]  # the rejection classifier's hidden layers


def toy_model(cfg: Config, g_widths: list[int] | None = None, d_widths: list[int] | None = None) -> MLPGAN:
    """The 2-D benchmark networks from the mlp family; the critic as the loss declares it.

    PyTorch's default init replaces the DCGAN init here: with N(0, 0.02) weights and zero
    biases every ReLU kink of D starts at the origin, and Adam needs thousands of steps of
    ~lr to move them out to the modes (radius 1 to 4).
    """
    spec = LOSSES.get(cfg.loss.loss)(cfg).critic_spec()
    model = MLPGAN(
        cfg.model.nz,
        (2,),
        list(g_widths or TOY_G),
        list(d_widths or TOY_D),
        dataclasses.replace(spec, spectral=False),
        final_tanh=False,
    )
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.BatchNorm1d, nn.LayerNorm)):
            m.reset_parameters()
    if spec.spectral:
        apply_spectral_norm_(model.D)
    return model


def train_2d(
    spec: str,
    data: str,
    steps: int = TOY_STEPS,
    seed: int = 0,
    batch: int = TOY_BATCH,
    n_eval: int | None = None,
    g_widths: list[int] | None = None,
    d_widths: list[int] | None = None,
    keep_samples: bool = False,
) -> dict:
    """Train one recipe on the 'ring' or 'grid' mixture and score 2,500 samples.

    Returns the ModeScore as a dict plus `seconds` (training + scoring wall time); with
    `keep_samples`, also the scored samples (and G's own under `samples_before_drs`).
    """
    t0 = time.perf_counter()
    recipe = parse_recipe(spec)
    means, sigma = mixture(data)
    torch.manual_seed(seed)
    nz, kb = recipe.bench.get("nz", 2), recipe.bench
    batch = kb.get("batch", batch)
    g_widths = [kb["gw"]] * len(TOY_G) if "gw" in kb else g_widths
    d_widths = [kb["dw"]] * len(TOY_D) if "dw" in kb else d_widths
    cfg = recipe_config(
        recipe,
        model="mlp",
        size=32,
        channels=1,
        batch=batch * recipe.pack,
        nz=nz,
        d_norm=recipe.settings.get("d_norm", "none"),
    )
    model = toy_model(cfg, g_widths, d_widths)
    state = TrainState(
        model,
        build_optimizers(cfg, model),
        make_ema(model) if cfg.train.ema else None,
        fixed_z=torch.zeros(1, nz),
        fixed_real=torch.zeros(1, 2),
    )
    # The networks see the data in units of the mixture's extent (ring 1, grid 4), as images are
    # scaled to [-1, 1]; samples are scaled back before scoring.
    extent = float(np.abs(means).max())
    m = torch.as_tensor(means / extent, dtype=torch.float32)
    gen = torch.Generator().manual_seed(10_000 + seed)  # data stream independent of the model RNG
    b = cfg.train.batch

    def next_batch() -> torch.Tensor:
        k = torch.randint(len(m), (b,), generator=gen)
        return m[k] + (sigma / extent) * torch.randn(b, 2, generator=gen)  # [B, 2]

    train_loop(state, cfg, next_batch, steps)
    # One batch of 2,500 with batch-norm batch statistics: the running averages lag the last
    # steps' weights (and the EMA copy's buffers belong to the raw G), which costs precision.
    G = state.sampling_generator().train()
    zgen = torch.Generator().manual_seed(20_000 + seed)
    extra: dict[str, Any] = {}
    with torch.no_grad():
        x = G(torch.randn(n_eval or TOY_EVAL, nz, generator=zgen)).numpy() * extent
        if "drs" in kb:  # score G alone too, so a table can show what the rejection step adds
            extra["before_drs"] = headline(score_mixture(x, data))
            if keep_samples:
                extra["samples_before_drs"] = x
            kept, extra["acceptance"] = _rejection_2d(G, nz, next_batch, kb["drs"], n_eval or TOY_EVAL, zgen)
            x = kept.numpy() * extent
    if keep_samples:
        extra["samples"] = x
    score = score_mixture(x, data)
    return {**score.to_dict(), **extra, "seconds": time.perf_counter() - t0, "finite": bool(np.isfinite(x).all())}


class FourierCritic(nn.Module):
    """The real-vs-G classifier for rejection sampling in 2-D: random Fourier features
    (Tancik et al. 2020) then a LeakyReLU MLP. A plain MLP on (x, y) cannot place sharp bumps at
    25 spots a few hundredths wide and left DRS at ~55 % HQ in our check; features with periods
    down to about the mode width let it."""

    def __init__(self, features: int = 128, scale: float = 10.0, widths: list[int] | None = None):
        super().__init__()
        self.register_buffer("B", 2 * math.pi * scale * torch.randn(2, features))
        layers: list[nn.Module] = []
        cin = 2 * features
        for w in widths or DRS_WIDTHS:
            layers += [nn.Linear(cin, w), nn.LeakyReLU(0.2)]
            cin = w
        self.net = nn.Sequential(*layers, nn.Linear(cin, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [N, 2] -> [N]
        h = x @ self.B
        return self.net(torch.cat([h.sin(), h.cos()], dim=1)).reshape(-1)


def _rejection_2d(
    G: nn.Module, nz: int, next_batch: Callable[[], torch.Tensor], steps: int, n: int, zgen: torch.Generator
) -> tuple[torch.Tensor, float]:
    """`n` samples of G kept by discriminator rejection sampling (see artistry.rejection), with a
    fresh FourierCritic fitted for `steps` on the training stream against the frozen G.
    Returns (samples, acceptance rate)."""
    from ..rejection import fit_ratio_classifier, rejection_sample, stream_sampler

    def fake(k: int) -> torch.Tensor:
        return G(torch.randn(k, nz, generator=zgen))

    torch.manual_seed(30_000)
    clf = FourierCritic()
    with torch.enable_grad():
        fit_ratio_classifier(stream_sampler(next_batch), fake, clf, steps=steps)
    res = rejection_sample(fake, clf, n, generator=zgen)
    return res.samples, res.acceptance


def run_2d_suite(
    recipes: list[Recipe],
    *,
    trials: int = 10,
    steps: int = TOY_STEPS,
    seed: int = 0,
    workers: int = 1,
    datasets=("ring", "grid"),
    log: Callable[[str], None] = print,
) -> dict:
    """Every recipe on every mixture for `trials` seeds. Returns {spec: {data: summary}}."""
    jobs = [(r.spec, d, steps, seed + t) for r in recipes for d in datasets for t in range(trials)]
    t0 = time.perf_counter()
    results = run_jobs(jobs, train_2d, workers, log)
    out: dict[str, dict] = {}
    for job, r in zip(jobs, results):
        out.setdefault(job[0], {}).setdefault(job[1], []).append(r)
    summary = {spec: {d: summarize_trials(rs) for d, rs in per.items()} for spec, per in out.items()}
    # defaults only: a recipe's batch=, gw= and dw= knobs override them
    summary["_meta"] = {
        "suite": "2d",
        "trials": trials,
        "steps": steps,
        "default_batch": TOY_BATCH,
        "default_G": TOY_G,
        "default_D": TOY_D,
        "workers": workers,
        "wall_seconds": time.perf_counter() - t0,
    }
    return summary
