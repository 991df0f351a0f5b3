"""`artistry bench modes`: mode coverage of each loss/option on the PacGAN/VEEGAN benchmarks.

Both suites train with the project's own Loss objects and `training.step.train_step`, so they
measure the real training code; only the networks and the data stream are the benchmark's.

2-D suite (ring: 8 modes, sigma 0.01; grid: 25 modes, sigma 0.05; see metrics/modes.py):
    G: the mlp family's MLPGenerator, 2-D standard normal noise -> 4 hidden layers of 128
       (batch norm, LeakyReLU 0.2) -> linear 2-D output (no tanh); 51k parameters;
    D: MLPDiscriminator, 3 hidden layers of 64 (LeakyReLU 0.2, no normalisation unless a recipe
       asks) -> 1 logit; 8.6k parameters. PyTorch's default init (see `toy_model`).
    PacGAN's were 4x400 (batch norm, ReLU) / 3x200 (maxout, 5 pieces), trained for 400 epochs
    of 100k points (400k steps); ours are smaller and train for far fewer steps (CPU budget).
    The data are scaled by 1 / (the largest |mean coordinate|) for the networks, as images are
    scaled to [-1, 1]; samples are scaled back before scoring.
    `pack` folds PACK samples into one D input; like PacGAN, D still sees `batch` packed
    inputs per step, so the step draws batch * pack real and fake samples.
    2,500 samples from G (the EMA copy when kept, eval mode) are scored per trial.

Stacked MNIST (1,000 modes): three MNIST digits (train + test pool, as PacGAN) zero-padded to
32x32 and stacked as RGB; a fixed set of 128,000 triples as in PacGAN. The DCGAN family at
32 px trains on it (ngf = ndf = 16 by default: G 144k, D 43k parameters; PacGAN used 64/64
at 28 px); 26,000 samples are labelled channel by channel by our own CNN (>= 99 % test
accuracy, trained once and cached as safetensors under the cache dir).

Recipes are written LOSS[+OPTION...]: pack2, pack4, mbstd, ema, r1=10, gp=10, clip=0.01,
ncritic=5, lr=1e-4 (both nets), lrg=.., lrd=.., beta1=.., beta2=.., dnorm=batch|layer|none,
ls=0.1 (label smoothing), emakimg=2, tail=0.3 (learning rates decay to 0 over the last 30% of
the steps), the harness's own knobs batch=N (D inputs per step), nz=N (2-D noise size), gw=W and
dw=W (2-D: every hidden layer of G / D this wide; Stacked MNIST: ngf / ndf), and drs[=STEPS]:
score samples kept by discriminator rejection sampling (artistry.rejection) with a classifier
fitted for STEPS on the frozen G, reporting G alone too. E.g. `bce+pack2+ema+drs`.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from ..config import UPSAMPLES, Config, resolve
from ..errors import ConfigError
from ..metrics.modes import ModeScore, mean_sd, mixture, score_mixture, score_stacked
from ..models.layers import apply_spectral_norm_
from ..models.mlp import MLPGAN
from ..registry import LOSSES
from ..training.schedules import lr_scale, set_learning_rates
from ..training.state import TrainState, build_optimizers, ema_beta, make_ema
from ..training.step import train_step

# --- the published numbers we compare against (PacGAN paper, Tables 1 and 2) ---------------------
PUBLISHED = [
    ("GAN (VEEGAN paper)", "1 / 99.3", "3.3 / 0.5", "99 / 3.4"),
    ("VEEGAN", "8 / 52.9", "24.6 / 40", "150 / 2.95"),
    ("PacGAN2", "7.9 / 95.6", "23.8 / 91.3", "1000 / 0.06"),
    ("PacGAN4", "7.8 / 95.9", "24.8 / 93.6", "1000 / 0.07"),
]
GOAL = ("goal (best recipe)", "8.0 / >= 99", "25.0 / >= 97", "1000 / <= 0.05")

DEFAULT_RECIPES = ["bce", "bce+pack2", "bce+pack4", "bce+mbstd", "wgan", "wgan-gp", "hinge"]

# 2-D networks (see the module doc) and their training budget.
TOY_G = [128, 128, 128, 128]
TOY_D = [64, 64, 64]
TOY_BATCH = 100
TOY_STEPS = 3000
TOY_EVAL = 2500
DRS_STEPS = 2000      # classifier steps for the `drs` option (rejection sampling when scoring)
DRS_WIDTHS = [256, 256, 256]

# Stacked MNIST
STACKED_TRAIN = 128_000
STACKED_EVAL = 26_000
STACKED_STEPS = 1500
STACKED_BATCH = 64
STACKED_NGF = 16
STACKED_NDF = 16


# --- recipes ---------------------------------------------------------------------------------------
@dataclass
class Recipe:
    """A loss plus option overrides, parsed from 'LOSS[+OPTION...]'."""
    spec: str
    loss: str
    settings: dict[str, Any] = field(default_factory=dict)  # config field -> value
    bench: dict[str, int] = field(default_factory=dict)     # the harness's own knobs: batch, nz, gw, dw

    @property
    def pack(self) -> int:
        return int(self.settings.get("pack", 1))


_BENCH_OPTS = ("batch", "nz", "gw", "dw")  # batch per D input, noise size, G / D hidden width
_FLOAT_OPTS = {"r1": "r1", "gp": "gp", "clip": "clip", "lrg": "lr_g", "lrd": "lr_d", "beta1": "beta1",
               "beta2": "beta2", "ls": "label_smoothing", "emakimg": "ema_kimg", "tail": "lr_tail"}


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
            raise ConfigError(f"--options: cannot read '{opt}' in '{spec}'; use packN, mbstd, ema, r1=G, gp=L, "
                              "clip=C, ncritic=N, lr=X, lrg=X, lrd=X, beta1=X, beta2=X, dnorm=batch|layer|none, "
                              "up=transpose|resize, ls=S, emakimg=K, tail=S, batch=N, nz=N, gw=W, dw=W") from None
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


def recipe_config(recipe: Recipe, *, model: str, size: int, channels: int, batch: int, nz: int,
                  ngf: int = 8, ndf: int = 8, d_norm: str | None = None) -> Config:
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


def _loop(state: TrainState, cfg: Config, next_batch: Callable[[], torch.Tensor], steps: int,
          on_step: Callable[[int, dict], None] | None = None) -> None:
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


# --- 2-D suite -------------------------------------------------------------------------------------
def toy_model(cfg: Config, g_widths: list[int] | None = None, d_widths: list[int] | None = None) -> MLPGAN:
    """The 2-D benchmark networks from the mlp family; the critic as the loss declares it.

    PyTorch's default init replaces the DCGAN init here: with N(0, 0.02) weights and zero
    biases every ReLU kink of D starts at the origin, and Adam needs thousands of steps of
    ~lr to move them out to the modes (radius 1 to 4).
    """
    spec = LOSSES.get(cfg.loss.loss)(cfg).critic_spec()
    model = MLPGAN(cfg.model.nz, (2,), list(g_widths or TOY_G), list(d_widths or TOY_D), dataclasses.replace(spec, spectral=False),
                   final_tanh=False)
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.BatchNorm1d, nn.LayerNorm)):
            m.reset_parameters()
    if spec.spectral:
        apply_spectral_norm_(model.D)
    return model


def train_2d(spec: str, data: str, steps: int = TOY_STEPS, seed: int = 0, batch: int = TOY_BATCH,
             n_eval: int | None = None, g_widths: list[int] | None = None,
             d_widths: list[int] | None = None, keep_samples: bool = False) -> dict:
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
    cfg = recipe_config(recipe, model="mlp", size=32, channels=1, batch=batch * recipe.pack, nz=nz,
                        d_norm=recipe.settings.get("d_norm", "none"))
    model = toy_model(cfg, g_widths, d_widths)
    state = TrainState(model, build_optimizers(cfg, model), make_ema(model) if cfg.train.ema else None,
                       fixed_z=torch.zeros(1, nz), fixed_real=torch.zeros(1, 2))
    # The networks see the data in units of the mixture's extent (ring 1, grid 4), as images are
    # scaled to [-1, 1]; samples are scaled back before scoring.
    extent = float(np.abs(means).max())
    m = torch.as_tensor(means / extent, dtype=torch.float32)
    gen = torch.Generator().manual_seed(10_000 + seed)  # data stream independent of the model RNG
    b = cfg.train.batch

    def next_batch() -> torch.Tensor:
        k = torch.randint(len(m), (b,), generator=gen)
        return m[k] + (sigma / extent) * torch.randn(b, 2, generator=gen)  # [B, 2]

    _loop(state, cfg, next_batch, steps)
    # One batch of 2,500 with batch-norm batch statistics: the running averages lag the last
    # steps' weights (and the EMA copy's buffers belong to the raw G), which costs precision.
    G = state.sampling_generator().train()
    zgen = torch.Generator().manual_seed(20_000 + seed)
    extra: dict[str, Any] = {}
    with torch.no_grad():
        x = G(torch.randn(n_eval or TOY_EVAL, nz, generator=zgen)).numpy() * extent
        if "drs" in kb:  # score G alone too, so a table can show what the rejection step adds
            extra["before_drs"] = _headline(score_mixture(x, data))
            if keep_samples:
                extra["samples_before_drs"] = x
            kept, extra["acceptance"] = _rejection_2d(G, nz, next_batch, kb["drs"], n_eval or TOY_EVAL, zgen)
            x = kept.numpy() * extent
    if keep_samples:
        extra["samples"] = x
    score = score_mixture(x, data)
    return {**score.to_dict(), **extra, "seconds": time.perf_counter() - t0, "finite": bool(np.isfinite(x).all())}


def _headline(score: ModeScore) -> dict:
    """The numbers a table reports for one scored sample set (G alone, next to its drs score)."""
    return {"modes": score.modes, "high_quality": score.high_quality, "reverse_kl": score.reverse_kl}


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


def _rejection_2d(G: nn.Module, nz: int, next_batch: Callable[[], torch.Tensor], steps: int, n: int,
                  zgen: torch.Generator) -> tuple[torch.Tensor, float]:
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


def _worker_init() -> None:
    torch.set_num_threads(1)  # small networks: one thread per process beats oversubscribed cores


def _run_jobs(jobs: list[tuple], fn: Callable, workers: int, log: Callable[[str], None]) -> list:
    """Run fn(*job) for every job, in `workers` processes (1 = in this process), keeping order."""
    results: list = [None] * len(jobs)
    if workers <= 1:
        for i, job in enumerate(jobs):
            results[i] = fn(*job)
            log(_job_line(job, results[i], i + 1, len(jobs)))
        return results
    import concurrent.futures as cf
    import multiprocessing as mp

    with cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_worker_init) as ex:
        futures = {ex.submit(fn, *job): i for i, job in enumerate(jobs)}
        done = 0
        for fut in cf.as_completed(futures):
            i = futures[fut]
            results[i] = fut.result()
            done += 1
            log(_job_line(jobs[i], results[i], done, len(jobs)))
    return results


def _job_line(job, r: dict, done: int, total: int) -> str:
    spec, data, _steps, seed = job[:4]
    quality = (f"{100 * r['confident']:.0f}% confident labels" if "confident" in r
               else f"{100 * r['high_quality']:.1f}% HQ")
    return (f"[{done}/{total}] {spec:<22} {data:<7} seed {seed}: {r['modes']}/{r['n_modes']} modes, "
            f"{quality}, KL {r['reverse_kl']:.3f}  ({r['seconds']:.0f}s)")


def run_2d_suite(recipes: list[Recipe], *, trials: int = 10, steps: int = TOY_STEPS, seed: int = 0,
                 workers: int = 1, datasets=("ring", "grid"), log: Callable[[str], None] = print) -> dict:
    """Every recipe on every mixture for `trials` seeds. Returns {spec: {data: summary}}."""
    jobs = [(r.spec, d, steps, seed + t) for r in recipes for d in datasets for t in range(trials)]
    t0 = time.perf_counter()
    results = _run_jobs(jobs, train_2d, workers, log)
    out: dict[str, dict] = {}
    for job, r in zip(jobs, results):
        out.setdefault(job[0], {}).setdefault(job[1], []).append(r)
    summary = {spec: {d: summarize_trials(rs) for d, rs in per.items()} for spec, per in out.items()}
    # defaults only: a recipe's batch=, gw= and dw= knobs override them
    summary["_meta"] = {"suite": "2d", "trials": trials, "steps": steps, "default_batch": TOY_BATCH,
                        "default_G": TOY_G, "default_D": TOY_D, "workers": workers,
                        "wall_seconds": time.perf_counter() - t0}
    return summary


def summarize_trials(rs: list[dict]) -> dict:
    """Mean and sd over trials of modes, HQ % and reverse KL."""
    modes = mean_sd([r["modes"] for r in rs])
    hq = mean_sd([100 * r["high_quality"] for r in rs])
    kl = mean_sd([r["reverse_kl"] for r in rs])
    out = {"trials": len(rs), "modes": modes, "hq": hq, "kl": kl, "n_modes": rs[0]["n_modes"],
           "seconds": float(np.mean([r["seconds"] for r in rs])),
           "per_trial": [{k: r[k] for k in ("modes", "high_quality", "reverse_kl", "acceptance", "curve") if k in r}
                         for r in rs]}
    if all("before_drs" in r for r in rs):  # the same generators scored without rejection sampling
        out["before_drs"] = summarize_trials([{**r["before_drs"], "n_modes": r["n_modes"], "seconds": 0.0} for r in rs])
        out["acceptance"] = mean_sd([r["acceptance"] for r in rs])
    return out


# --- Stacked MNIST ---------------------------------------------------------------------------------
MNIST_CANDIDATES = ("data/mnist/mnist.npz", "../shared/data/mnist/mnist.npz", "/work/shared/data/mnist/mnist.npz")


def find_mnist(path: str | None = None) -> Path:
    """mnist.npz from --mnist, $ARTISTRY_MNIST, or the usual places; ConfigError when absent."""
    cands = [path] if path else [os.environ.get("ARTISTRY_MNIST")] + list(MNIST_CANDIDATES)
    for c in cands:
        if c and Path(c).is_file():
            return Path(c)
    raise ConfigError(f"--mnist: no mnist.npz found (looked at {', '.join(c for c in cands if c)}); "
                      "give the file with --mnist (keys train_images, train_labels, test_images, test_labels)")


def load_mnist(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as d:
        return {k: d[k] for k in ("train_images", "train_labels", "test_images", "test_labels")}


class DigitClassifier(nn.Module):
    """A small CNN for 28x28 digits in [-1, 1]: two 5x5 conv blocks and two dense layers."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),   # [N, 16, 14, 14]
            nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),  # [N, 32, 7, 7]
            nn.Flatten(), nn.Dropout(0.25), nn.Linear(32 * 49, 128), nn.ReLU(), nn.Dropout(0.25),
            nn.Linear(128, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [N, 1, 28, 28] -> [N, 10]
        return self.net(x)

    @torch.no_grad()
    def predict(self, x: torch.Tensor, batch: int = 2000) -> torch.Tensor:
        self.eval()
        return torch.cat([self(x[i:i + batch]).argmax(1) for i in range(0, x.shape[0], batch)])


def _to_unit(u8: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(u8).float().div_(127.5).sub_(1.0)


def train_classifier(mnist: dict[str, np.ndarray], epochs: int = 3, seed: int = 0,
                     log: Callable[[str], None] = print) -> tuple[DigitClassifier, float]:
    """Adam, batch 128, random +-2 px shifts; returns (classifier, test accuracy)."""
    torch.manual_seed(seed)
    clf = DigitClassifier()
    opt = torch.optim.Adam(clf.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=epochs * math.ceil(60000 / 128))
    x = _to_unit(mnist["train_images"])[:, None]   # [60000, 1, 28, 28]
    y = torch.from_numpy(mnist["train_labels"].astype(np.int64))
    xt = _to_unit(mnist["test_images"])[:, None]
    yt = torch.from_numpy(mnist["test_labels"].astype(np.int64))
    for ep in range(epochs):
        clf.train()
        t0 = time.perf_counter()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 128):
            idx = perm[i:i + 128]
            xb = x[idx]
            dx, dy = (int(v) for v in torch.randint(-2, 3, (2,)))
            xb = torch.roll(xb, shifts=(dy, dx), dims=(2, 3))
            loss = nn.functional.cross_entropy(clf(xb), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        acc = float((clf.predict(xt) == yt).float().mean())
        log(f"  classifier epoch {ep + 1}/{epochs}: test accuracy {100 * acc:.2f}% ({time.perf_counter() - t0:.0f}s)")
    return clf, acc


def mnist_classifier(mnist_path: Path, cache_dir: str | Path | None = None, epochs: int = 3,
                     log: Callable[[str], None] = print) -> tuple[DigitClassifier, float]:
    """The cached digit classifier for this mnist.npz (trained on first use), and its test accuracy."""
    from safetensors.torch import load_file

    from ..data.cache import default_cache_dir
    from ..io.checkpoint import save_atomic

    digest = hashlib.sha1(Path(mnist_path).read_bytes()).hexdigest()[:16]
    folder = Path(cache_dir) if cache_dir else default_cache_dir() / "mnist_classifier"
    weights, meta = folder / f"{digest}-e{epochs}.safetensors", folder / f"{digest}-e{epochs}.json"
    clf = DigitClassifier()
    if weights.is_file() and meta.is_file():
        clf.load_state_dict(load_file(weights))
        acc = json.loads(meta.read_text())["test_accuracy"]
        log(f"  classifier: cached {weights} (test accuracy {100 * acc:.2f}%)")
        return clf.eval(), acc
    log(f"  classifier: training a digit CNN on {mnist_path} ({epochs} epochs)")
    clf, acc = train_classifier(load_mnist(mnist_path), epochs=epochs, log=log)
    save_atomic(weights, clf.state_dict(), {})  # the .json beside it holds the accuracy
    meta.write_text(json.dumps({"test_accuracy": acc, "epochs": epochs, "mnist_sha1_16": digest}))
    return clf.eval(), acc


def stacked_pool(mnist: dict[str, np.ndarray]) -> np.ndarray:
    """All 70,000 MNIST digits zero-padded to 32x32 (background -1 after scaling), uint8 [N, 32, 32]."""
    d = np.concatenate([mnist["train_images"], mnist["test_images"]])
    return np.pad(d, ((0, 0), (2, 2), (2, 2)))


def classify_stacked(clf: DigitClassifier, images: torch.Tensor, confidence: list | None = None) -> np.ndarray:
    """Digits per channel of 32x32 stacked images in [-1, 1], [N, 3, 32, 32] -> [N, 3].

    With `confidence` (a list), appends the fraction of channels labelled with softmax >= 0.9.
    """
    x = images[:, :, 2:30, 2:30].float()            # undo the padding: [N, 3, 28, 28]
    out = []
    for c in range(3):
        xc = x[:, c:c + 1].contiguous()
        if confidence is not None and isinstance(clf, DigitClassifier):
            with torch.no_grad():
                clf.eval()
                p = torch.softmax(clf(xc), dim=1)
            confidence.append(float((p.max(1).values >= 0.9).float().mean()))
            out.append(p.argmax(1).numpy())
        else:
            out.append(clf.predict(xc).numpy())
    return np.stack(out, axis=1)


def stacked_stream(mnist: dict[str, np.ndarray], seed: int, batch: int) -> Callable[[], torch.Tensor]:
    """Batches of `batch` stacked digits in [-1, 1] from a fixed set of 128,000 random triples
    (PacGAN's training set), [B, 3, 32, 32] channels-last."""
    pool = torch.from_numpy(stacked_pool(mnist))                                   # [70000, 32, 32]
    rng = np.random.default_rng(seed)
    triples = torch.from_numpy(rng.integers(0, len(pool), size=(STACKED_TRAIN, 3)))  # [128000, 3]
    gen = torch.Generator().manual_seed(10_000 + seed)

    def next_batch() -> torch.Tensor:
        rows = triples[torch.randint(len(triples), (batch,), generator=gen)]        # [B, 3]
        x = pool[rows].float().div_(127.5).sub_(1.0)                                # [B, 3, 32, 32]
        return x.contiguous(memory_format=torch.channels_last)
    return next_batch


def stacked_sizes(recipe: Recipe, batch: int = STACKED_BATCH, ngf: int = STACKED_NGF,
                  ndf: int = STACKED_NDF) -> dict[str, int]:
    """The batch (D inputs per step), ngf and ndf a Stacked MNIST run uses: the recipe's
    batch=, gw= and dw= knobs override the given defaults."""
    return {"batch": recipe.bench.get("batch", batch), "ngf": recipe.bench.get("gw", ngf),
            "ndf": recipe.bench.get("dw", ndf)}


def train_stacked(spec: str, mnist: dict[str, np.ndarray], steps: int = STACKED_STEPS, seed: int = 0,
                  batch: int = STACKED_BATCH, ngf: int = STACKED_NGF, ndf: int = STACKED_NDF,
                  log: Callable[[str], None] = print, curve_every: int = 0,
                  on_curve: Callable[[int, TrainState], None] | None = None) -> TrainState:
    """Train the DCGAN family at 32 px on Stacked MNIST with `spec`'s loss and options;
    with `curve_every`, `on_curve(step, state)` runs every that many steps (not at the end)."""
    from ..build import build_model

    recipe = parse_recipe(spec)
    torch.manual_seed(seed)
    sizes = stacked_sizes(recipe, batch, ngf, ndf)
    batch, ngf, ndf = sizes["batch"], sizes["ngf"], sizes["ndf"]
    cfg = recipe_config(recipe, model="dcgan", size=32, channels=3, batch=batch * recipe.pack, nz=100,
                        ngf=ngf, ndf=ndf, d_norm=recipe.settings.get("d_norm"))
    device = torch.device("cpu")
    model, _ = build_model(cfg, device)
    state = TrainState(model, build_optimizers(cfg, model), make_ema(model) if cfg.train.ema else None,
                       fixed_z=torch.zeros(1, 100), fixed_real=torch.zeros(1, 3, 32, 32))
    next_batch = stacked_stream(mnist, seed, cfg.train.batch)
    t0 = time.perf_counter()

    def on_step(i: int, logs: dict) -> None:
        if (i + 1) % max(1, steps // 10) == 0:
            shown = ", ".join(f"{k} {v:.3f}" for k, v in sorted(logs.items())[:4])
            log(f"  {spec}: step {i + 1}/{steps} ({time.perf_counter() - t0:.0f}s) {shown}")
        if curve_every and on_curve is not None and (i + 1) % curve_every == 0 and i + 1 < steps:
            on_curve(i + 1, state)
            state.model.train()

    _loop(state, cfg, next_batch, steps, on_step)
    return state


@torch.no_grad()
def stacked_samples(G: nn.Module, n: int = STACKED_EVAL, nz: int = 100, seed: int = 0,
                    batch: int = 500) -> torch.Tensor:
    """n samples of G in eval mode, [n, 3, 32, 32]."""
    G.eval()
    gen = torch.Generator().manual_seed(20_000 + seed)
    return torch.cat([G(torch.randn(min(batch, n - i), nz, generator=gen)) for i in range(0, n, batch)])


@torch.no_grad()
def score_stacked_images(images: torch.Tensor, clf: DigitClassifier, batch: int = 500,
                         confidence: list | None = None) -> ModeScore:
    """Label each channel of generated stacked images and count the 1,000 modes.

    With `confidence` (a list), it ends up holding the fraction of channels the classifier
    labels with softmax >= 0.9: blurry non-digits get labels too, so a low value flags
    inflated counts.
    """
    digits = [classify_stacked(clf, images[i:i + batch], confidence) for i in range(0, len(images), batch)]
    if confidence is not None and confidence:
        confidence[:] = [float(np.mean(confidence))]
    return score_stacked(np.concatenate(digits))


def score_stacked_generator(G: nn.Module, clf: DigitClassifier, n: int = STACKED_EVAL, nz: int = 100,
                            seed: int = 0, batch: int = 500, confidence: list | None = None) -> ModeScore:
    """Label each channel of n samples of G (eval mode) and count the 1,000 modes."""
    return score_stacked_images(stacked_samples(G, n, nz, seed, batch), clf, batch, confidence)


def stacked_critic(width: int = 32) -> nn.Module:
    """The real-vs-G classifier for rejection sampling on Stacked MNIST: three stride-2 convs
    (no normalisation, so each image's logit is its own) and a linear head."""
    w = width
    return nn.Sequential(
        nn.Conv2d(3, w, 4, 2, 1), nn.LeakyReLU(0.2),           # [N, w, 16, 16]
        nn.Conv2d(w, 2 * w, 4, 2, 1), nn.LeakyReLU(0.2),       # [N, 2w, 8, 8]
        nn.Conv2d(2 * w, 4 * w, 4, 2, 1), nn.LeakyReLU(0.2),   # [N, 4w, 4, 4]
        nn.Flatten(), nn.Linear(4 * w * 16, 1), nn.Flatten(0))


def _rejection_stacked(G: nn.Module, real: Callable[[], torch.Tensor], steps: int, n: int,
                       seed: int, width: int = 32) -> tuple[torch.Tensor, float]:
    """`n` samples of the frozen G kept by discriminator rejection sampling with a fresh
    `stacked_critic(width)` fitted for `steps`; returns (samples, acceptance rate)."""
    from ..rejection import fit_ratio_classifier, rejection_sample, stream_sampler

    G.eval()
    zgen = torch.Generator().manual_seed(20_000 + seed)

    def fake(k: int) -> torch.Tensor:
        return torch.cat([G(torch.randn(min(500, k - i), 100, generator=zgen)) for i in range(0, k, 500)])

    torch.manual_seed(30_000 + seed)
    clf = stacked_critic(width)
    with torch.enable_grad():
        fit_ratio_classifier(stream_sampler(real), fake, clf, steps=steps, batch=64, lr=2e-4)

    def logit(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([clf(x[i:i + 1000]) for i in range(0, len(x), 1000)])

    res = rejection_sample(fake, logit, n, quantile=0.99, burn_in=min(20_000, 4 * n), chunk=min(10_000, 4 * n),
                           max_draws=2_000_000, generator=zgen)
    return res.samples, res.acceptance


def stacked_trial(spec: str, data: str, steps: int, seed: int, ngf: int = STACKED_NGF, ndf: int = STACKED_NDF,
                  mnist_path: str | None = None, cache_dir: str | None = None, curve_every: int = 0,
                  save_dir: str | None = None, log: Callable[[str], None] = print) -> dict:
    """One Stacked MNIST trial (`data` is 'stacked'): train, then label 26,000 samples.

    With `curve_every`, G alone is also scored every that many steps (the result's `curve`:
    [step, modes, KL, confident share] rows); with `save_dir`, the final sampling G is saved
    there as safetensors for later study."""
    t0 = time.perf_counter()
    path = find_mnist(mnist_path)
    clf, _ = mnist_classifier(path, cache_dir, log=lambda s: None)
    mnist = load_mnist(path)
    curve: list[list[float]] = []

    def on_curve(step: int, state: TrainState) -> None:
        c: list[float] = []
        s = score_stacked_generator(state.sampling_generator(), clf, seed=seed, confidence=c)
        curve.append([step, s.modes, s.reverse_kl, c[0]])
        log(f"  {spec}: step {step}: G alone {s.modes} modes, KL {s.reverse_kl:.3f}, {100 * c[0]:.0f}% confident")

    state = train_stacked(spec, mnist, steps, seed, ngf=ngf, ndf=ndf, log=log, curve_every=curve_every,
                          on_curve=on_curve)
    t_train = time.perf_counter() - t0
    recipe = parse_recipe(spec)
    G, kb = state.sampling_generator(), recipe.bench
    if save_dir:
        from ..io.checkpoint import save_atomic

        saved = Path(save_dir) / f"{spec}_{steps}_seed{seed}.safetensors"
        save_atomic(saved, G.state_dict(), {"recipe": spec, "steps": steps, "seed": seed})
        log(f"  saved the generator to {saved}")
    conf: list[float] = []
    score = score_stacked_generator(G, clf, seed=seed, confidence=conf)
    extra: dict[str, Any] = {}
    if curve_every:
        extra["curve"] = curve + [[steps, score.modes, score.reverse_kl, conf[0]]]
    if "drs" in kb:  # keep G's own score for the table, then score the kept samples
        extra["before_drs"] = _headline(score)
        kept, extra["acceptance"] = _rejection_stacked(G, stacked_stream(mnist, seed + 1, STACKED_BATCH), kb["drs"],
                                                       STACKED_EVAL, seed)
        conf = []
        score = score_stacked_images(kept, clf, confidence=conf)
    return {**score.to_dict(), **extra, "seconds": time.perf_counter() - t0, "train_seconds": t_train,
            "confident": float(np.mean(conf)), "sizes": stacked_sizes(recipe, ngf=ngf, ndf=ndf)}


def run_stacked_suite(recipes: list[Recipe], *, steps: int = STACKED_STEPS, trials: int = 1, seed: int = 0,
                      workers: int = 1, mnist_path: str | None = None, cache_dir: str | None = None,
                      ngf: int = STACKED_NGF, ndf: int = STACKED_NDF, curve_every: int = 0,
                      save_dir: str | None = None, log: Callable[[str], None] = print) -> dict:
    """Every recipe on Stacked MNIST for `trials` seeds. Returns {spec: {'stacked': summary}}."""
    t_all = time.perf_counter()
    path = find_mnist(mnist_path)
    clf, acc = mnist_classifier(path, cache_dir, log=log)  # trained here once, cached for the workers
    if acc < 0.99:
        log(f"warning: the digit classifier reaches only {100 * acc:.2f}% (< 99%); mode counts are less reliable")
    t_clf = time.perf_counter() - t_all
    jobs = [(r.spec, "stacked", steps, seed + t, ngf, ndf, str(path), cache_dir, curve_every, save_dir)
            for r in recipes for t in range(trials)]
    results = _run_jobs(jobs, stacked_trial, workers, log)
    out: dict[str, Any] = {}
    for job, r in zip(jobs, results):
        out.setdefault(job[0], []).append(r)
    summary: dict[str, Any] = {}
    for spec, rs in out.items():
        summary[spec] = {"stacked": {**summarize_trials(rs), "confident": float(np.mean([r["confident"] for r in rs])),
                                     "train_seconds": float(np.mean([r["train_seconds"] for r in rs])),
                                     "sizes": rs[0]["sizes"]}}
    # defaults only: each recipe's own batch / ngf / ndf are in its "sizes"
    summary["_meta"] = {"suite": "stacked", "steps": steps, "trials": trials, "default_batch": STACKED_BATCH,
                        "default_ngf": ngf, "default_ndf": ndf, "classifier_accuracy": acc, "classifier_seconds": t_clf,
                        "workers": workers, "wall_seconds": time.perf_counter() - t_all}
    return summary


# --- reporting -------------------------------------------------------------------------------------
def _cell_2d(s: dict | None) -> str:
    if not s:
        return "-"
    (m, msd), (h, hsd) = s["modes"], s["hq"]
    return f"{m:.1f} ± {msd:.1f} / {h:.1f} ± {hsd:.1f}"


def _cell_stacked(s: dict | None) -> str:
    if not s:
        return "-"
    (m, msd), (k, ksd) = s["modes"], s["kl"]
    if s["trials"] > 1:
        return f"{m:.0f} ± {msd:.0f} / {k:.2f} ± {ksd:.2f}"
    return f"{m:.0f} / {k:.2f}"


def format_tables(results: dict) -> str:
    """Markdown: the published comparison table, then reverse KL and time per recipe."""
    rows = [k for k in results if not k.startswith("_")]
    lines = ["| method | ring modes / HQ% | grid modes / HQ% | Stacked MNIST modes / KL |",
             "|---|---|---|---|"]
    for name, ring, grid, st in PUBLISHED + [GOAL]:
        lines.append(f"| {name} | {ring} | {grid} | {st} |")
    for spec in rows:
        r = results[spec]
        lines.append(f"| **ours: {spec}** | {_cell_2d(r.get('ring'))} | {_cell_2d(r.get('grid'))} | "
                     f"{_cell_stacked(r.get('stacked'))} |")
        before = {d: (r.get(d) or {}).get("before_drs") for d in ("ring", "grid", "stacked")}
        if any(before.values()):
            lines.append(f"| ours: {spec}, G alone (no rejection) | {_cell_2d(before['ring'])} | "
                         f"{_cell_2d(before['grid'])} | {_cell_stacked(before['stacked'])} |")
    lines += ["", "| recipe | ring reverse KL | grid reverse KL | s/trial ring | s/trial grid | s/run stacked "
                  "| stacked: confident labels | drs: samples kept ring / grid / stacked |",
              "|---|---|---|---|---|---|---|---|"]
    for spec in rows:
        r = results[spec]

        def kl(d):
            s = r.get(d)
            return f"{s['kl'][0]:.3f} ± {s['kl'][1]:.3f}" if s else "-"

        def secs(d):
            s = r.get(d)
            return f"{s['seconds']:.0f}" if s else "-"
        st = r.get("stacked")
        conf = f"{100 * st['confident']:.0f}%" if st and "confident" in st else "-"
        acc = " / ".join(f"{100 * r[d]['acceptance'][0]:.1f}%" if "acceptance" in (r.get(d) or {}) else "-"
                         for d in ("ring", "grid", "stacked"))
        lines.append(f"| {spec} | {kl('ring')} | {kl('grid')} | {secs('ring')} | {secs('grid')} | {secs('stacked')} "
                     f"| {conf} | {acc} |")
    return "\n".join(lines) + "\n"


def machine_line() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads, python {platform.python_version()}")


def merge_results(path: Path, results: dict, runs: list[dict]) -> dict:
    """Merge per-recipe `results` into the JSON at `path` (newer numbers win per recipe and
    suite) and append this invocation's run records to its `_runs` list."""
    old = json.loads(path.read_text()) if path.is_file() else {}
    previous = old.pop("_runs", [])
    for spec, per in results.items():
        old.setdefault(spec, {}).update(per)
    old["_runs"] = previous + runs
    return old


def run_modes(suite: str, recipes: list[Recipe], *, trials: int, steps: int | None,
              stacked_steps: int | None, stacked_trials: int, workers: int, seed: int, out: str | None,
              mnist: str | None, cache_dir: str | None, command: str = "", curve_every: int = 0,
              save_generators: str | None = None, log: Callable[[str], None] = print) -> dict:
    """Run the chosen suites, print the tables, and (with `out`) write/merge markdown + JSON."""
    log(f"machine: {machine_line()}")
    results: dict[str, Any] = {}
    metas = {}
    if suite in ("2d", "all"):
        r2 = run_2d_suite(recipes, trials=trials, steps=steps or TOY_STEPS, seed=seed, workers=workers, log=log)
        metas["2d"] = r2.pop("_meta")
        for k, v in r2.items():
            results.setdefault(k, {}).update(v)
    if suite in ("stacked", "all"):
        rs = run_stacked_suite(recipes, steps=stacked_steps or STACKED_STEPS, trials=stacked_trials, seed=seed,
                               workers=workers, mnist_path=mnist, cache_dir=cache_dir, curve_every=curve_every,
                               save_dir=save_generators, log=log)
        metas["stacked"] = rs.pop("_meta")
        for k, v in rs.items():
            results.setdefault(k, {}).update(v)
    for name, meta in metas.items():
        meta["command"] = command
        meta["machine"] = machine_line()
        log(f"{name} suite: {meta['wall_seconds'] / 60:.1f} min wall")
    table = format_tables(results)
    print(table)
    if out:
        md, js = Path(out), Path(out).with_suffix(".json")
        merged = merge_results(js, results, [{**meta, "suite": name} for name, meta in metas.items()])
        md.parent.mkdir(parents=True, exist_ok=True)
        js.write_text(json.dumps(merged, indent=1))
        md.write_text(report_markdown(merged))
        print(f"wrote {md} and {js}", file=sys.stderr)
    return results


def report_markdown(merged: dict) -> str:
    """The --out markdown for merged results: one line per run, then the tables."""
    lines = ["<!-- written by `artistry bench modes`; raw numbers in the .json next to it -->", ""]
    for meta in merged.get("_runs", []):
        lines.append(f"- {meta['suite']} suite: `{meta.get('command', '')}` — {meta['wall_seconds'] / 60:.1f} min "
                     f"wall on {meta.get('machine', '')}")
    lines += ["", format_tables(merged), *_curve_lines(merged)]
    return "\n".join(lines)


def _curve_lines(merged: dict) -> list[str]:
    """Stacked MNIST generators (alone) scored along training, for runs with --stacked-curve."""
    out = []
    for spec, per in merged.items():
        trials = [] if spec.startswith("_") else (per.get("stacked") or {}).get("per_trial", [])
        for t, trial in enumerate(trials):
            if trial.get("curve"):
                cells = ", ".join(f"{int(st)}: {int(m)} / {kl:.3f} ({100 * c:.0f}%)" for st, m, kl, c in trial["curve"])
                out.append(f"- {spec}, trial {t}: {cells}")
    if out:
        out = ["", "Stacked MNIST, the generator alone along training — step: modes / KL (confident labels):", ""] + out
    return out
