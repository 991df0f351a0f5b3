"""Scatter plots of one `bce+pack2+ema+drs` trial per mixture: G alone vs the kept samples.

    python benchmarks/modes_drs_plot.py --steps 10000   # writes benchmarks/results/modes_drs.png

docs/modes_drs.png was made with `--out docs/modes_drs.png`.

Same training and scoring as `artistry bench modes --suite 2d` (seed 0); red crosses are the
mixture's means, grey circles the 3-sigma high-quality radius.
"""

from __future__ import annotations

import argparse

import matplotlib
import numpy as np
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from artistry.bench.modes_2d import train_2d  # noqa: E402
from artistry.metrics.modes import mixture, score_mixture  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipe", default="bce+pack2+ema+drs")
    p.add_argument("--steps", type=int, default=10000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="benchmarks/results/modes_drs.png")
    a = p.parse_args()
    torch.set_num_threads(1)
    fig, axes = plt.subplots(2, 2, figsize=(9, 9))
    for row, data in enumerate(("ring", "grid")):
        r = train_2d(a.recipe, data, steps=a.steps, seed=a.seed, keep_samples=True)
        means, sigma = mixture(data)
        for col, (title, x) in enumerate(
            (("G alone", r["samples_before_drs"]), ("kept by rejection sampling", r["samples"]))
        ):
            s = score_mixture(x, data)
            ax = axes[row, col]
            ax.scatter(x[:, 0], x[:, 1], s=2, alpha=0.4)
            ax.scatter(means[:, 0], means[:, 1], marker="x", c="red", s=20)
            for m in means:
                ax.add_patch(plt.Circle(m, 3 * sigma, fill=False, color="grey", lw=0.5))
            lim = 1.4 * float(np.abs(means).max())
            ax.set(
                xlim=(-lim, lim),
                ylim=(-lim, lim),
                aspect="equal",
                title=f"{data}, {title}: {s.modes} modes, {100 * s.high_quality:.1f}% HQ",
            )
        print(f"{data}: {r['seconds']:.0f}s, acceptance {100 * r['acceptance']:.1f}%", flush=True)
    fig.suptitle(f"{a.recipe}, {a.steps} steps, seed {a.seed}: 2,500 samples each")
    fig.tight_layout()
    fig.savefig(a.out, dpi=80)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
