"""The Stacked MNIST suite of `artistry bench modes` (1,000 modes).

Three MNIST digits (train + test pool, as PacGAN) zero-padded to 32x32 and stacked as RGB; a
fixed set of 128,000 triples as in PacGAN. The DCGAN family at 32 px trains on it (ngf = ndf = 16
by default: G 144k, D 43k parameters; PacGAN used 64/64 at 28 px); 26,000 samples are labelled
channel by channel by our own CNN (>= 99 % test accuracy, trained once and cached as safetensors
under the cache dir).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError
from ..metrics.modes import ModeScore, digit_bias_kl, digit_frequencies, score_stacked
from ..training.state import TrainState, build_optimizers, make_ema
from .mode_recipes import Recipe, parse_recipe, recipe_config, train_loop
from .trials import headline, run_jobs, summarize_trials

STACKED_TRAIN = 128_000
STACKED_EVAL = 26_000
STACKED_STEPS = 1500
STACKED_BATCH = 64
STACKED_NGF = 16
STACKED_NDF = 16
MNIST_CANDIDATES = ("data/mnist/mnist.npz", "../shared/data/mnist/mnist.npz", "/work/shared/data/mnist/mnist.npz")


def find_mnist(path: str | None = None) -> Path:
    """mnist.npz from --mnist, $ARTISTRY_MNIST, or the usual places; ConfigError when absent."""
    cands = [path] if path else [os.environ.get("ARTISTRY_MNIST")] + list(MNIST_CANDIDATES)
    for c in cands:
        if c and Path(c).is_file():
            return Path(c)
    raise ConfigError(
        f"--mnist: no mnist.npz found (looked at {', '.join(c for c in cands if c)}); "
        "give the file with --mnist (keys train_images, train_labels, test_images, test_labels; "
        "ARCHITECTURE.md, 'Development datasets', says how to get it)"
    )


def load_mnist(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as d:
        return {k: d[k] for k in ("train_images", "train_labels", "test_images", "test_labels")}


class DigitClassifier(nn.Module):
    """A small CNN for 28x28 digits in [-1, 1]: two 5x5 conv blocks and two dense layers."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 16, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),  # [N, 16, 14, 14]
            nn.Conv2d(16, 32, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),  # [N, 32, 7, 7]
            nn.Flatten(),
            nn.Dropout(0.25),
            nn.Linear(32 * 49, 128),
            nn.ReLU(),
            nn.Dropout(0.25),
            nn.Linear(128, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [N, 1, 28, 28] -> [N, 10]
        return self.net(x)

    @torch.no_grad()
    def predict(self, x: torch.Tensor, batch: int = 2000) -> torch.Tensor:
        self.eval()
        return torch.cat([self(x[i : i + batch]).argmax(1) for i in range(0, x.shape[0], batch)])


def _to_unit(u8: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(u8).float().div_(127.5).sub_(1.0)


def train_classifier(
    mnist: dict[str, np.ndarray], epochs: int = 3, seed: int = 0, log: Callable[[str], None] = print
) -> tuple[DigitClassifier, float]:
    """Adam, batch 128, random +-2 px shifts; returns (classifier, test accuracy).

    Trains on one thread: the thread count changes float reduction order, and with it the
    weights (two threads gave 99.19 % where one gives 99.20 %). Every machine then gets the same ruler."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train_classifier(mnist, epochs, seed, log)
    finally:
        torch.set_num_threads(threads)


def _train_classifier(
    mnist: dict[str, np.ndarray], epochs: int, seed: int, log: Callable[[str], None]
) -> tuple[DigitClassifier, float]:
    torch.manual_seed(seed)
    clf = DigitClassifier()
    opt = torch.optim.Adam(clf.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=epochs * math.ceil(60000 / 128))
    x = _to_unit(mnist["train_images"])[:, None]  # [60000, 1, 28, 28]
    y = torch.from_numpy(mnist["train_labels"].astype(np.int64))
    xt = _to_unit(mnist["test_images"])[:, None]
    yt = torch.from_numpy(mnist["test_labels"].astype(np.int64))
    for ep in range(epochs):
        clf.train()
        t0 = time.perf_counter()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 128):
            idx = perm[i : i + 128]
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


def mnist_classifier(
    mnist_path: Path, cache_dir: str | Path | None = None, epochs: int = 3, log: Callable[[str], None] = print
) -> tuple[DigitClassifier, float]:
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
    x = images[:, :, 2:30, 2:30].float()  # undo the padding: [N, 3, 28, 28]
    out = []
    for c in range(3):
        xc = x[:, c : c + 1].contiguous()
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
    pool = torch.from_numpy(stacked_pool(mnist))  # [70000, 32, 32]
    rng = np.random.default_rng(seed)
    triples = torch.from_numpy(rng.integers(0, len(pool), size=(STACKED_TRAIN, 3)))  # [128000, 3]
    gen = torch.Generator().manual_seed(10_000 + seed)

    def next_batch() -> torch.Tensor:
        rows = triples[torch.randint(len(triples), (batch,), generator=gen)]  # [B, 3]
        x = pool[rows].float().div_(127.5).sub_(1.0)  # [B, 3, 32, 32]
        return x.contiguous(memory_format=torch.channels_last)

    return next_batch


def stacked_sizes(
    recipe: Recipe, batch: int = STACKED_BATCH, ngf: int = STACKED_NGF, ndf: int = STACKED_NDF
) -> dict[str, int]:
    """The batch (D inputs per step), ngf and ndf a Stacked MNIST run uses: the recipe's
    batch=, gw= and dw= knobs override the given defaults."""
    return {
        "batch": recipe.bench.get("batch", batch),
        "ngf": recipe.bench.get("gw", ngf),
        "ndf": recipe.bench.get("dw", ndf),
    }


def train_stacked(
    spec: str,
    mnist: dict[str, np.ndarray],
    steps: int = STACKED_STEPS,
    seed: int = 0,
    batch: int = STACKED_BATCH,
    ngf: int = STACKED_NGF,
    ndf: int = STACKED_NDF,
    log: Callable[[str], None] = print,
    curve_every: int = 0,
    on_curve: Callable[[int, TrainState], None] | None = None,
) -> TrainState:
    """Train the DCGAN family at 32 px on Stacked MNIST with `spec`'s loss and options;
    with `curve_every`, `on_curve(step, state)` runs every that many steps (not at the end)."""
    from ..build import build_model

    recipe = parse_recipe(spec)
    torch.manual_seed(seed)
    sizes = stacked_sizes(recipe, batch, ngf, ndf)
    batch, ngf, ndf = sizes["batch"], sizes["ngf"], sizes["ndf"]
    cfg = recipe_config(
        recipe,
        model="dcgan",
        size=32,
        channels=3,
        batch=batch * recipe.pack,
        nz=100,
        ngf=ngf,
        ndf=ndf,
        d_norm=recipe.settings.get("d_norm"),
    )
    device = torch.device("cpu")
    model, _ = build_model(cfg, device)
    state = TrainState(
        model,
        build_optimizers(cfg, model),
        make_ema(model) if cfg.train.ema else None,
        fixed_z=torch.zeros(1, 100),
        fixed_real=torch.zeros(1, 3, 32, 32),
    )
    next_batch = stacked_stream(mnist, seed, cfg.train.batch)
    t0 = time.perf_counter()

    def on_step(i: int, logs: dict) -> None:
        if (i + 1) % max(1, steps // 10) == 0:
            shown = ", ".join(f"{k} {v:.3f}" for k, v in sorted(logs.items())[:4])
            log(f"  {spec}: step {i + 1}/{steps} ({time.perf_counter() - t0:.0f}s) {shown}")
        if curve_every and on_curve is not None and (i + 1) % curve_every == 0 and i + 1 < steps:
            on_curve(i + 1, state)
            state.model.train()

    train_loop(state, cfg, next_batch, steps, on_step)
    return state


@torch.no_grad()
def stacked_samples(
    G: nn.Module, n: int = STACKED_EVAL, nz: int = 100, seed: int = 0, batch: int = 500
) -> torch.Tensor:
    """n samples of G in eval mode, [n, 3, 32, 32]."""
    G.eval()
    gen = torch.Generator().manual_seed(20_000 + seed)
    return torch.cat([G(torch.randn(min(batch, n - i), nz, generator=gen)) for i in range(0, n, batch)])


@torch.no_grad()
def score_stacked_images(
    images: torch.Tensor, clf: DigitClassifier, batch: int = 500, confidence: list | None = None
) -> ModeScore:
    """Label each channel of generated stacked images and count the 1,000 modes.

    With `confidence` (a list), it ends up holding the fraction of channels the classifier
    labels with softmax >= 0.9: blurry non-digits get labels too, so a low value flags
    inflated counts.
    """
    digits = [classify_stacked(clf, images[i : i + batch], confidence) for i in range(0, len(images), batch)]
    if confidence is not None and confidence:
        confidence[:] = [float(np.mean(confidence))]
    return score_stacked(np.concatenate(digits))


def score_stacked_generator(
    G: nn.Module,
    clf: DigitClassifier,
    n: int = STACKED_EVAL,
    nz: int = 100,
    seed: int = 0,
    batch: int = 500,
    confidence: list | None = None,
) -> ModeScore:
    """Label each channel of n samples of G (eval mode) and count the 1,000 modes."""
    return score_stacked_images(stacked_samples(G, n, nz, seed, batch), clf, batch, confidence)


def stacked_critic(width: int = 32) -> nn.Module:
    """The real-vs-G classifier for rejection sampling on Stacked MNIST: three stride-2 convs
    (no normalisation, so each image's logit is its own) and a linear head."""
    w = width
    return nn.Sequential(
        nn.Conv2d(3, w, 4, 2, 1),
        nn.LeakyReLU(0.2),  # [N, w, 16, 16]
        nn.Conv2d(w, 2 * w, 4, 2, 1),
        nn.LeakyReLU(0.2),  # [N, 2w, 8, 8]
        nn.Conv2d(2 * w, 4 * w, 4, 2, 1),
        nn.LeakyReLU(0.2),  # [N, 4w, 4, 4]
        nn.Flatten(),
        nn.Linear(4 * w * 16, 1),
        nn.Flatten(0),
    )


def _rejection_stacked(
    G: nn.Module, real: Callable[[], torch.Tensor], steps: int, n: int, seed: int, width: int = 32
) -> tuple[torch.Tensor, float]:
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
        return torch.cat([clf(x[i : i + 1000]) for i in range(0, len(x), 1000)])

    res = rejection_sample(
        fake,
        logit,
        n,
        quantile=0.99,
        burn_in=min(20_000, 4 * n),
        chunk=min(10_000, 4 * n),
        max_draws=2_000_000,
        generator=zgen,
    )
    return res.samples, res.acceptance


def stacked_trial(
    spec: str,
    data: str,
    steps: int,
    seed: int,
    ngf: int = STACKED_NGF,
    ndf: int = STACKED_NDF,
    mnist_path: str | None = None,
    cache_dir: str | None = None,
    curve_every: int = 0,
    save_dir: str | None = None,
    log: Callable[[str], None] = print,
) -> dict:
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

    state = train_stacked(
        spec, mnist, steps, seed, ngf=ngf, ndf=ndf, log=log, curve_every=curve_every, on_curve=on_curve
    )
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
        extra["before_drs"] = headline(score)
        kept, extra["acceptance"] = _rejection_stacked(
            G, stacked_stream(mnist, seed + 1, STACKED_BATCH), kb["drs"], STACKED_EVAL, seed
        )
        conf = []
        score = score_stacked_images(kept, clf, confidence=conf)
    extra["digit_kl"] = digit_bias_kl(score.counts)  # how much of the KL is a per-digit bias
    extra["digit_freq"] = digit_frequencies(score.counts).round(4).tolist()
    return {
        **score.to_dict(),
        **extra,
        "seconds": time.perf_counter() - t0,
        "train_seconds": t_train,
        "confident": float(np.mean(conf)),
        "sizes": stacked_sizes(recipe, ngf=ngf, ndf=ndf),
    }


def run_stacked_suite(
    recipes: list[Recipe],
    *,
    steps: int = STACKED_STEPS,
    trials: int = 1,
    seed: int = 0,
    workers: int = 1,
    mnist_path: str | None = None,
    cache_dir: str | None = None,
    ngf: int = STACKED_NGF,
    ndf: int = STACKED_NDF,
    curve_every: int = 0,
    save_dir: str | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    """Every recipe on Stacked MNIST for `trials` seeds. Returns {spec: {'stacked': summary}}."""
    t_all = time.perf_counter()
    path = find_mnist(mnist_path)
    clf, acc = mnist_classifier(path, cache_dir, log=log)  # trained here once, cached for the workers
    if acc < 0.99:
        log(f"warning: the digit classifier reaches only {100 * acc:.2f}% (< 99%); mode counts are less reliable")
    t_clf = time.perf_counter() - t_all
    jobs = [
        (r.spec, "stacked", steps, seed + t, ngf, ndf, str(path), cache_dir, curve_every, save_dir)
        for r in recipes
        for t in range(trials)
    ]
    results = run_jobs(jobs, stacked_trial, workers, log)
    out: dict[str, Any] = {}
    for job, r in zip(jobs, results):
        out.setdefault(job[0], []).append(r)
    summary: dict[str, Any] = {}
    for spec, rs in out.items():
        summary[spec] = {
            "stacked": {
                **summarize_trials(rs),
                "confident": float(np.mean([r["confident"] for r in rs])),
                "train_seconds": float(np.mean([r["train_seconds"] for r in rs])),
                "sizes": rs[0]["sizes"],
            }
        }
    # defaults only: each recipe's own batch / ngf / ndf are in its "sizes"
    summary["_meta"] = {
        "suite": "stacked",
        "steps": steps,
        "trials": trials,
        "default_batch": STACKED_BATCH,
        "default_ngf": ngf,
        "default_ndf": ndf,
        "classifier_accuracy": acc,
        "classifier_seconds": t_clf,
        "workers": workers,
        "wall_seconds": time.perf_counter() - t_all,
    }
    return summary
