"""Two gloo processes vs one, for every family: the weights, EMA and optimizer states after 3 steps.

    PYTHONPATH=src python scripts/ddp_check.py [N]        # the first N cases; about 15 s each on 2 busy cores

The test suite runs one case (bce + mbstd + EMA + DiffAugment, tests/training/test_distributed.py);
this runs the others too: WGAN-GP (gradient penalty through torch.autograd.grad, n_critic 5,
layer norm, mbstd), the VAE (ELBO, reparameterisation noise) and the DAE (its corruptions).
Prints, per case, the largest difference relative to each tensor's largest magnitude (at least 1e-6,
so a moment of 1e-10 that differs by 1e-14 does not count); exits 1 above 1e-3 (measured:
at most 1e-4, an Adam moment of 2e-4 off by 2e-8).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

CASES = [
    ("dcgan", "bce", {"mbstd": True, "d_norm": "none", "ema": True, "augment": "translation,cutout"}),
    ("dcgan", "wgan-gp", {"mbstd": True, "augment": "color,translation"}),
    ("vae", "elbo", {}),
    ("dae", "denoise", {"noise": "gaussian:0.2,saltpepper:0.05,mask"}),
]


def _relative(a, b) -> float:
    return ((a.float() - b.float()).abs().max() / a.float().abs().max().clamp_min(1e-6)).item()


def main() -> int:
    from artistry import api
    from artistry.config import Config
    from artistry.io import checkpoint as ckpt
    from dist_launch import launch
    from helpers import write_image_folder

    worst_all = 0.0
    for model, loss, options in CASES[: int(sys.argv[1]) if len(sys.argv) > 1 else None]:
        tmp = Path(tempfile.mkdtemp())
        cfg = Config()
        cfg.data.path, cfg.data.size, cfg.data.cache_dir = str(write_image_folder(tmp / "images")), 32, str(tmp / "c")
        cfg.model.model, cfg.loss.loss = model, loss
        cfg.model.ngf = cfg.model.ndf = 8
        cfg.model.nz, cfg.train.batch, cfg.train.steps, cfg.train.n_samples = 16, 8, 3, 4
        cfg.train.precision, cfg.train.sync_bn = "fp32", True
        for key, value in options.items():
            cfg.set(key, value)
        cfg.train.runs_dir = str(tmp / "one")
        one = api.train(cfg, progress=False)
        cfg.train.runs_dir = str(tmp / "two")
        ranks = launch({"config": cfg.to_dict(), "audit": str(tmp)}, world=2)
        if any(r["rc"] for r in ranks):
            print(f"{model}/{loss}: FAILED\n{ranks[0]['stderr'][-2000:]}")
            return 1
        a, _ = ckpt.load(one / "checkpoints" / ckpt.checkpoint_name(3))
        b, _ = ckpt.load(Path(ranks[0]["report"]["run_dir"]) / "checkpoints" / ckpt.checkpoint_name(3))
        rel, key = max((_relative(a[k], b[k]), k) for k in a if a[k].is_floating_point())
        worst_all = max(worst_all, rel)
        print(
            f"{model}/{loss} {options}: {len(a)} tensors, largest relative difference {rel:.1e} ({key}, "
            f"largest |value| {a[key].float().abs().max().item():.1e})"
        )
    return 0 if worst_all < 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
