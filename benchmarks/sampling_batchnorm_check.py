"""Does a run's FID depend on how its generator's batch norms are sampled?

Samples are drawn in eval mode, so batch norm uses running statistics, and the EMA generator's
running statistics are copied from the live network while its weights are averaged. A run
whose samples look blurry may be paying for that mismatch, not for too little training. This
scores the same latents four ways -- EMA or live weights, running or batch statistics -- with
the run's own real images, on the cached Inception statistics:

    PYTHONPATH=src .venv/bin/python benchmarks/sampling_batchnorm_check.py RUN [RUN ...] [--n 500]
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np
import torch
from torch import nn

import artistry
from artistry import api
from artistry.io.images import tensor_to_uint8
from artistry.metrics.features import InceptionFeatures
from artistry.metrics.fid import fid_from_features
from artistry.metrics.report import ImageSet, cached_real_features
from artistry.metrics.stats_cache import RealFeatureCache


@torch.no_grad()
def draw(G: nn.Module, z: torch.Tensor, batch_stats: bool, batch: int = 64) -> np.ndarray:
    if batch_stats:  # a copy: batch norms in train mode would overwrite the run's running statistics
        G = copy.deepcopy(G)
    G.eval()  # no noise injection, no dropout
    for m in G.modules():
        if batch_stats and isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.train()  # only the batch norms see each batch's own statistics
    return np.concatenate([tensor_to_uint8(G(z[i : i + batch]).float()) for i in range(0, len(z), batch)])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("runs", nargs="+")
    p.add_argument("--n", type=int, default=500, help="samples per way (seeds 0..n-1) [500]")
    args = p.parse_args()
    extractor = InceptionFeatures()
    for run in args.runs:
        loaded = artistry.load(run, "best")
        if loaded.num_classes:
            raise SystemExit(f"{run}: a conditional run; this check is for unconditional ones")
        dataset = api._prepare(loaded.config)
        real, _ = cached_real_features(
            ImageSet(dataset.images), "legacy", extractor, RealFeatureCache(None), dataset.key
        )
        z = loaded.latents(range(args.n)).float()
        nets = [("EMA", loaded.ema)] if loaded.ema is not None else []
        for name, G in [*nets, ("live", loaded.model.G)]:
            for batch_stats in (False, True):
                tic = time.perf_counter()
                fid = fid_from_features(extractor.extract(draw(G, z, batch_stats)), real.features)
                stats = "batch" if batch_stats else "running"
                print(
                    f"{run}: {name} weights, {stats} statistics: FID@{args.n} {fid:.1f} "
                    f"({time.perf_counter() - tic:.0f} s)",
                    flush=True,
                )


if __name__ == "__main__":
    main()
