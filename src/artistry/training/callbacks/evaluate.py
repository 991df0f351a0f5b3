"""In-training evaluation: the metric report, logged, plotted, and a `best` checkpoint.

Evaluations happen every `--eval-every` images, at the shares of the budget in `--eval-at`
(the best recipe's budget-aware schedule), and once at the end. Each draws `n` images from
fixed seeds, runs the full report (FID, KID, precision/recall, density/coverage, memorisation)
against the training set, writes eval/<step>.json/.md, appends the scalars to metrics.jsonl
under "eval", redraws eval/metrics.png, and saves checkpoints/best.safetensors when the chosen
metric improves. The best value lives in the train state, so a resumed run keeps comparing
against it.

Budget rules: extracting the real images' features (once per dataset, then cached) does not
count against the budget; a budget-share evaluation is skipped when it would cost more than
MAX_EVAL_SHARE of the training time so far (so a quick 10-step try never waits on Inception);
once an evaluation has run, a time budget keeps back the time the final one needs, so the run
still ends on time.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ...io.images import tensor_to_uint8
from ...io.metrics import METRICS_FILE, read_records
from .base import Callback, crossed
from .samples import looking_at

METRICS = ("fid", "kid")
BEST_CHECKPOINT = "best.safetensors"
STATE_KEY = "eval_best"  # in TrainState.extra: {"metric", "value", "step", "images_seen"}
TIMING_KEY = "eval_last"  # in TrainState.extra: {"step", "seconds"} of the last evaluation, for resume
MAX_EVAL_SHARE = 0.15  # a budget-share evaluation may cost at most this share of the time trained
ASSUMED_RATE = {"cpu": 6.0, "cuda": 300.0}  # Inception images/s (2-core CPU, a GPU) until one is timed
GPU_BATCH = 100  # Inception images per pass on a GPU


class Evaluate(Callback):
    """Periodic evaluation with best-checkpoint keeping.

    Args:
        every: images seen between evaluations.
        real_images: the training set, uint8 [N, C, H, W] (the reference and the memorisation set).
        dataset_key: the prepared dataset's key, for the real-feature cache; default a pixel hash.
        n: generated images per evaluation (compare only runs evaluated with the same n).
        metric: "fid" or "kid" (its mean), lower is better; decides the best checkpoint.
        protocol: "legacy" (standard TF-FID) or "clean".
        cache_dir: folder of the real-feature cache; default <cache root>/eval.
        batch_size: images per Inception forward pass.
        seed: first latent seed; the same seeds are used at every evaluation.
        shares: also evaluate when this share of the budget is spent (e.g. (0.6, 0.8)).
    """

    def __init__(
        self,
        every: int | None,
        real_images: np.ndarray,
        dataset_key: str | None = None,
        n: int = 1000,
        metric: str = "fid",
        protocol: str = "legacy",
        cache_dir=None,
        batch_size: int = 8,
        seed: int = 0,
        shares: tuple[float, ...] = (),
    ):
        from ...errors import ConfigError
        from ...metrics.features import check_protocol

        if metric not in METRICS:
            raise ConfigError(f"--eval-metric must be one of {', '.join(METRICS)}, not {metric!r}")
        check_protocol(protocol)
        self.every, self.n, self.metric, self.protocol, self.seed = every, n, metric, protocol, seed
        self.real_images, self.dataset_key = real_images, dataset_key
        self.cache_dir, self.batch_size = cache_dir, batch_size
        self.shares = tuple(shares)
        self._extractor = None
        self._real = None  # ImageSet with features, computed once per session
        self._last_step = -1
        self._last_seconds: float | None = None  # how long the last evaluation took
        self._progress = None
        self._skip_noted = False

    def on_train_start(self, trainer) -> None:
        last = trainer.state.extra.get(TIMING_KEY)
        if last:  # a resumed run keeps its reserve and does not evaluate the same step twice
            self._last_step, self._last_seconds = last["step"], last["seconds"]
        self._progress = trainer.progress(include_reserve=False)

    def on_step_end(self, trainer, logs) -> None:
        # Shares are of the training budget itself; the reserve would make progress jump.
        before, self._progress = self._progress, trainer.progress(include_reserve=False)
        if crossed(trainer.images_before_step, trainer.state.images_seen, self.every):
            self.evaluate(trainer)
        elif before is not None and any(before < x <= self._progress for x in self.shares):
            if self._affordable(trainer):
                self.evaluate(trainer)

    def on_train_end(self, trainer) -> None:
        wanted = self.every or self._last_seconds is not None  # share evaluations only if one ran
        if (
            wanted
            and trainer.state.step != self._last_step
            and trainer.state.step > 0
            and trainer.stop_reason != "interrupted"
        ):
            if self.evaluate(trainer) is not None:
                trainer.state.elapsed += self._last_seconds  # the budget kept this time back for it
        best = trainer.state.extra.get(STATE_KEY)
        if best and best["step"] != trainer.state.step:
            print(
                f"eval: the best {best['metric']} ({best['value']:.4g}) was at step {best['step']}; "
                f"generate and evaluate use checkpoints/{BEST_CHECKPOINT} by default",
                file=sys.stderr,
            )

    def reserve_seconds(self, trainer) -> float:
        # Keep time for the final evaluation once it is sure to happen.
        return self._last_seconds or 0.0

    def _affordable(self, trainer) -> bool:
        cost = self._last_seconds or self.n / ASSUMED_RATE.get(trainer.device.type, ASSUMED_RATE["cpu"])
        minutes, elapsed = trainer.cfg.train.max_minutes, trainer.state.elapsed
        if cost > MAX_EVAL_SHARE * elapsed:
            why = f"about {cost:.0f} s, more than {MAX_EVAL_SHARE:.0%} of the {elapsed:.0f} s trained so far"
        elif minutes is not None and elapsed + 2 * cost > minutes * 60:  # this one and the final one
            why = f"about {cost:.0f} s, and the time budget has no room for it and a final one"
        else:
            return True
        if not self._skip_noted:
            print(f"eval: skipped ({why}); no best checkpoint is kept", file=sys.stderr)
            self._skip_noted = True
        return False

    def evaluate(self, trainer) -> dict | None:
        """Run one evaluation now; returns the report (None for models that cannot sample)."""
        from ...metrics.report import compute_report, write_report

        state = trainer.state
        self._last_step = state.step
        if not getattr(state.model, "can_sample", True):
            print("eval: skipped, this model does not generate from noise", file=sys.stderr)
            return None
        with trainer.clock_paused():  # once per dataset (then cached): not charged to the budget
            real = self._real_set(trainer.device)
        started = time.monotonic()
        images = generate_fixed(state, self.n, self.seed, trainer.device)  # [n, C, H, W] uint8
        name = f"{state.step:09d}"
        eval_dir = trainer.run_dir / "eval"
        report = compute_report(
            images,
            real,
            protocol=self.protocol,
            extractor=self._extractor,
            seed=self.seed,
            sheet_path=eval_dir / f"{name}-nearest.png",
        )
        report.update(step=state.step, images_seen=state.images_seen)
        write_report(report, eval_dir, name)
        trainer.log({"eval": _scalars(report)})
        plot_eval(trainer.run_dir)
        self._keep_best(trainer, report)
        self._last_seconds = time.monotonic() - started
        state.extra[TIMING_KEY] = {"step": state.step, "seconds": self._last_seconds}
        return report

    def _real_set(self, device):
        from ...metrics.features import InceptionFeatures
        from ...metrics.report import ImageSet, cached_real_features
        from ...metrics.stats_cache import RealFeatureCache

        if self._real is None:
            # 8 images per pass suits 2 CPU cores; a GPU wants its batches full
            batch = self.batch_size if torch.device(device).type == "cpu" else max(self.batch_size, GPU_BATCH)
            self._extractor = InceptionFeatures(device=device, batch_size=batch)
            self._real, _ = cached_real_features(
                ImageSet(np.asarray(self.real_images)),
                self.protocol,
                self._extractor,
                RealFeatureCache(self.cache_dir),
                self.dataset_key,
            )
        return self._real

    def _keep_best(self, trainer, report: dict) -> None:
        value = report["fid"] if self.metric == "fid" else report["kid"]["mean"]
        if not math.isfinite(value):  # NaN compares False with everything: it would win the comparison below
            print(
                f"eval: {self.metric} is {value} at step {trainer.state.step}; the best checkpoint is kept",
                file=sys.stderr,
            )
            return
        best = trainer.state.extra.get(STATE_KEY)
        comparable = best and (best.get("metric"), best.get("n"), best.get("protocol")) == (
            self.metric,
            self.n,
            self.protocol,
        )
        if comparable and best["value"] <= value:
            return
        trainer.state.extra[STATE_KEY] = {
            "metric": self.metric,
            "value": float(value),
            "n": self.n,
            "protocol": self.protocol,
            "step": trainer.state.step,
            "images_seen": trainer.state.images_seen,
        }
        trainer.save_checkpoint(trainer.run_dir / "checkpoints" / BEST_CHECKPOINT)  # carries the record above
        print(f"eval: new best {self.metric} {value:.4g} at step {trainer.state.step}", file=sys.stderr)


def evaluate_callback(cfg, dataset) -> Evaluate | None:
    """The Evaluate callback a config asks for (--eval-every, --eval-at), or None when it is off.

    Args:
        cfg: the resolved Config.
        dataset: the PreparedDataset being trained on (its images and key).
    """
    from ...config import eval_shares

    t = cfg.train
    shares = eval_shares(t.eval_at)
    if not t.eval_every and not shares:
        return None
    cache_dir = Path(cfg.data.cache_dir).expanduser() / "eval" if cfg.data.cache_dir else None
    return Evaluate(
        t.eval_every,
        dataset.images,
        dataset.key,
        n=t.eval_n,
        cache_dir=cache_dir,
        metric=t.eval_metric,
        shares=tuple(shares),
    )


@torch.no_grad()
def generate_fixed(state, n: int, seed: int, device, batch_size: int = 64) -> np.ndarray:
    """n uint8 images [n, C, H, W] from the sampling generator, latents from `seed` (same every time).

    Runs in eval mode with its own generator for the latents (drawn on the CPU, so the same
    seed gives the same images on every device), so evaluating never changes training. A
    conditional run's labels come from the same generator, in proportion to the data's labels.
    """
    g = torch.Generator().manual_seed(seed)
    z = state.model.sample_latents(n, "cpu", g)
    y = None if state.label_freq is None else torch.multinomial(state.label_freq, n, replacement=True, generator=g)
    with looking_at(state.sampling_generator()) as G:
        parts = []
        for i in range(0, n, batch_size):
            zi = z[i : i + batch_size].to(device)
            parts.append(tensor_to_uint8((G(zi) if y is None else G(zi, y[i : i + batch_size].to(device))).float()))
        return np.concatenate(parts)


def _scalars(report: dict) -> dict:
    """The report's headline numbers, flat, for metrics.jsonl."""
    from ...metrics.report import headline_numbers

    return {**headline_numbers(report), "n": report["n_generated"], "protocol": report["protocol"]}


def plot_eval(run_dir: Path) -> Path | None:
    """eval/metrics.png: FID, KID and precision/recall/coverage against thousands of images seen."""
    records = [r for r in read_records(Path(run_dir) / METRICS_FILE) if isinstance(r.get("eval"), dict)]
    if not records:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kimg = [r["images_seen"] / 1000 for r in records]
    panels = (("FID", ["fid"], 1), ("KID ×10³", ["kid"], 1e3), ("share", ["precision", "recall", "coverage"], 1))
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 2.6 * len(panels)), sharex=True)
    for ax, (label, keys, scale) in zip(axes, panels):
        for key in keys:
            ax.plot(kimg, [r["eval"][key] * scale for r in records], marker="o", markersize=3, label=key)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if len(keys) > 1:
            ax.legend(loc="best", fontsize=8)
    axes[-1].set_xlabel("thousands of images seen")
    fig.tight_layout()
    out = Path(run_dir) / "eval" / "metrics.png"
    tmp = out.with_name(".metrics.tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    tmp.replace(out)
    return out
