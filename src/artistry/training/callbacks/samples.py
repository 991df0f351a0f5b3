"""Sample grids from the one fixed noise batch, the timelapse built from them, and losses.png."""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import torch

from ...io.images import make_grid, save_gif, save_png, tensor_to_uint8
from ...models.base import grid_layout
from .base import Callback, Every, as_every

MAX_TIMELAPSE_FRAMES = 120


@contextlib.contextmanager
def looking_at(module: torch.nn.Module):
    """Eval mode and no grad, restored afterwards.

    Looking at a model never changes training, so nothing in here may seed, fork or draw from a
    global RNG: what a preview needs comes from the fixed batches or its own torch.Generator.
    (A global `torch.manual_seed` here once reseeded every CUDA generator at each grid, so on a
    GPU the training latents and augmentations replayed the same few batches.)
    """
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            yield module
    finally:
        module.train(was_training)


MAX_GRID_ROWS = 16  # labels shown in a conditional grid: the most frequent ones


def grid_labels(counts: list[int], n_samples: int) -> torch.Tensor:
    """A conditional grid's labels, int64 [rows * columns]: one row per label (the MAX_GRID_ROWS
    most frequent, in label order), each repeated across the row's `n_samples // rows` columns."""
    ranked = sorted(range(len(counts)), key=lambda k: (-counts[k], k))[:MAX_GRID_ROWS]
    rows = torch.tensor(sorted(ranked), dtype=torch.int64)
    columns = max(1, n_samples // len(rows))
    return rows.repeat_interleave(columns)


def render_preview(state) -> torch.Tensor:
    """The grid images for the current state, [M, C, H, W] in [-1, 1]."""
    with looking_at(state.sampling_generator()) as G:
        if state.fixed_y is None:  # unconditional families keep their three-argument preview
            return state.model.preview(G, state.fixed_z, state.fixed_real).float()
        return state.model.preview(G, state.fixed_z, state.fixed_real, state.fixed_y).float()


class SampleGrids(Callback):
    """A grid from the fixed noise batch at the start, `every` interval and the end."""

    def __init__(self, every: int | Every | None):
        self.every = as_every(every)

    def on_train_start(self, trainer) -> None:
        if trainer.state.step == 0:
            self.save(trainer)

    def on_step_end(self, trainer, logs) -> None:
        if self.every.due(trainer):
            self.save(trainer)
            plot_losses(trainer.run_dir)

    def on_train_end(self, trainer) -> None:
        self.save(trainer)
        plot_losses(trainer.run_dir)
        build_timelapse(trainer.run_dir)

    def save(self, trainer) -> None:
        images = tensor_to_uint8(render_preview(trainer.state))
        nrow = max(1, int(math.ceil(math.sqrt(images.shape[0]))))
        if trainer.state.fixed_y is not None:  # one row per label
            nrow = grid_layout(trainer.state.fixed_y)[1]
        grid = make_grid(images, nrow=getattr(trainer.state.model, "preview_nrow", None) or nrow)
        save_png(grid, trainer.run_dir / "samples" / f"{trainer.state.images_seen:09d}.png")


def build_timelapse(run_dir: Path) -> Path | None:
    """timelapse.gif from samples/*.png, thinned evenly to at most MAX_TIMELAPSE_FRAMES."""
    from PIL import Image

    frames = sorted((Path(run_dir) / "samples").glob("*.png"))
    if not frames:
        return None
    if len(frames) > MAX_TIMELAPSE_FRAMES:
        idx = torch.linspace(0, len(frames) - 1, MAX_TIMELAPSE_FRAMES).round().long().unique()
        frames = [frames[i] for i in idx.tolist()]
    images = [Image.open(p).convert("RGB") for p in frames]
    images += [images[-1]] * 10  # hold the final frame
    out = Path(run_dir) / "timelapse.gif"
    save_gif(images, out, fps=8)
    return out


def plot_losses(run_dir: Path) -> Path | None:
    """losses.png: every logged `loss*` scalar (and other scalars) against images seen."""
    from ...io.metrics import METRICS_FILE, read_records

    records = read_records(Path(run_dir) / METRICS_FILE)
    series: dict[str, tuple[list[float], list[float]]] = {}
    for r in records:
        for k, v in r.items():
            if k in ("step", "images_seen", "elapsed", "img_per_s") or not isinstance(v, (int, float)):
                continue
            xs, ys = series.setdefault(k, ([], []))
            xs.append(r["images_seen"] / 1000)
            ys.append(v)
    if not series:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    losses = {k: v for k, v in series.items() if k.startswith("loss")}
    others = {k: v for k, v in series.items() if not k.startswith("loss")}
    panels = [p for p in (losses, others) if p]
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 3.2 * len(panels)), squeeze=False)
    for ax, panel in zip(axes[:, 0], panels):
        for k, (xs, ys) in sorted(panel.items()):
            ax.plot(xs, ys, label=k, linewidth=1)
        ax.legend(loc="upper right", fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("thousands of images seen")
    fig.tight_layout()
    out = Path(run_dir) / "losses.png"
    tmp = out.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    tmp.replace(out)
    return out
