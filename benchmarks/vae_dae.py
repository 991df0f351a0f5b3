"""Quality harness for the VAE, DAE and post-processing (numbers in docs/benchmarks.md, "VAE, DAE and post-processing").

    python benchmarks/vae_dae.py split SRC OUT            # OUT/train (90 %) + OUT/heldout (10 %)
    python benchmarks/vae_dae.py vae RUN HELDOUT [--grid docs/x.png --zoom 2]
    python benchmarks/vae_dae.py dae RUN HELDOUT [--grid docs/x.png --zoom 2]
    python benchmarks/vae_dae.py gan GAN_RUN DAE_RUN --grid docs/x.png [--zoom 2]

PSNR is on pixels scaled to [0, 1], averaged over images (dB). Held-out images are prepared
exactly like the run's dataset (size, fit, channels) with data.load_image.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

import artistry
from artistry.data import load_image
from artistry.data.corrupt import apply_one, parse_noise
from artistry.data.scan import IMAGE_EXTENSIONS
from artistry.io.images import make_grid, save_png, tensor_to_uint8
from artistry.postprocess import Pipeline

NOISES = ("gaussian:0.1", "gaussian:0.2", "saltpepper:0.05", "blur:1", "mask:0.25")


def zoom(grid: np.ndarray, k: int) -> np.ndarray:
    """Nearest-neighbour enlargement of a grid [C, H, W] for viewing small images."""
    return grid.repeat(k, axis=1).repeat(k, axis=2) if k > 1 else grid


def ink_components(images: np.ndarray) -> float:
    """Mean number of 8-connected ink (black) components per black-and-white image."""
    from scipy import ndimage

    return float(np.mean([ndimage.label(img[0] == 0, structure=np.ones((3, 3)))[1] for img in images]))


def psnr_uint8(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """PSNR per image of uint8 [N, C, H, W] pairs, pixels on [0, 1]: [N] dB."""
    mse = ((a.astype(np.float64) - b.astype(np.float64)) / 255.0) ** 2
    return 10 * np.log10(1.0 / np.maximum(mse.reshape(len(a), -1).mean(1), 1e-10))


def split(src: Path, out: Path, every: int) -> None:
    files = sorted(p for p in src.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
    for i, p in enumerate(files):
        part = "heldout" if i % every == every - 1 else "train"
        dst = out / part / p.relative_to(src)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, dst)
    n_held = sum(1 for i in range(len(files)) if i % every == every - 1)
    print(f"{len(files) - n_held} train, {n_held} held out -> {out}")


def heldout_images(run, folder: Path) -> np.ndarray:
    d = run.config.data
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
    return np.stack([load_image(p, d.size, d.fit, d.channels) for p in files])  # [N, C, S, S]


def vae(run_dir: Path, folder: Path, grid: Path | None, k: int = 1) -> dict:
    run = artistry.load(run_dir)
    x = heldout_images(run, folder)
    recon = run.images_from_latents(run.encode(x))  # posterior mean -> decoder
    p = psnr_uint8(x, recon)
    flat = np.broadcast_to(np.rint(x.mean(axis=(2, 3), keepdims=True)), x.shape).astype(np.uint8)
    result = {
        "run": str(run_dir),
        "images_seen": run.images_seen,
        "heldout": len(x),
        "psnr_mean": float(p.mean()),
        "psnr_median": float(np.median(p)),
        "flat_colour_baseline_psnr": float(psnr_uint8(x, flat).mean()),
        "beta": run.config.loss.beta,
        "nz": run.config.model.nz,
    }
    if grid is not None:
        samples = run.generate(16, seed=0)
        pairs = np.stack([x[:16], recon[:16]], axis=1).reshape(-1, *x.shape[1:])  # in | out
        save_png(zoom(make_grid(np.concatenate([samples, pairs]), nrow=8), k), grid)
        result["grid"] = str(grid)
    return result


def dae(run_dir: Path, folder: Path, grid: Path | None, k: int = 1) -> dict:
    run = artistry.load(run_dir)
    x = heldout_images(run, folder)
    clean = torch.from_numpy(x).float() / 127.5 - 1
    rows, result = (
        [],
        {
            "run": str(run_dir),
            "images_seen": run.images_seen,
            "heldout": len(x),
            "trained_on": run.config.loss.noise,
            "noise": {},
        },
    )
    for spec in NOISES:
        noisy = tensor_to_uint8(apply_one(clean, parse_noise(spec)[0], torch.Generator().manual_seed(0)))
        out = run.denoise(noisy)
        before, after = psnr_uint8(x, noisy).mean(), psnr_uint8(x, out).mean()
        result["noise"][spec] = {
            "noisy_db": float(before),
            "denoised_db": float(after),
            "gain_db": float(after - before),
        }
        rows += [noisy[:4], out[:4], x[:4]]
    if grid is not None:
        cells = np.concatenate(
            [np.stack([r[i] for r in rows[k : k + 3]]) for k in range(0, len(rows), 3) for i in range(4)]
        )
        save_png(zoom(make_grid(cells, nrow=12), k), grid)
        result["grid"] = str(grid)
    return result


def gan(gan_dir: Path, dae_dir: Path, grid: Path, n: int = 8, k: int = 1) -> dict:
    run = artistry.load(gan_dir)
    raw = run.generate(n, seed=0)
    d = str(dae_dir)
    steps = {
        "denoise": Pipeline([("denoise", d)]),
        "denoise+bw": Pipeline([("denoise", d), ("bw", None)]),
        "denoise+bw+contour": Pipeline([("denoise", d), ("bw", None), ("contour", None)]),
    }
    outs = {name: p(raw) for name, p in steps.items()}
    bw_only = Pipeline([("bw", None)])(raw)
    # rows: raw | denoised | denoised + bw | denoised + bw + contour | bw alone (no denoiser)
    save_png(zoom(make_grid(np.concatenate([raw, *outs.values(), bw_only]), nrow=n), k), grid)
    change = {name: float(np.abs(v.astype(np.int16) - raw.astype(np.int16)).mean()) for name, v in outs.items()}
    return {
        "gan": str(gan_dir),
        "dae": d,
        "grid": str(grid),
        "mean_abs_change_vs_raw": change,
        "ink_components_per_image": {
            "bw": ink_components(bw_only),
            "denoise+bw": ink_components(outs["denoise+bw"]),
            "denoise+bw+contour": ink_components(outs["denoise+bw+contour"]),
        },
    }


def main(argv=None) -> int:
    torch.set_num_threads(2)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("split")
    s.add_argument("src", type=Path)
    s.add_argument("out", type=Path)
    s.add_argument("--every", type=int, default=10)
    for name in ("vae", "dae"):
        s = sub.add_parser(name)
        s.add_argument("run", type=Path)
        s.add_argument("heldout", type=Path)
        s.add_argument("--grid", type=Path)
        s.add_argument("--zoom", type=int, default=1, help="enlarge the grid PNG (nearest)")
    s = sub.add_parser("gan")
    s.add_argument("--zoom", type=int, default=1)
    s.add_argument("gan_run", type=Path)
    s.add_argument("dae_run", type=Path)
    s.add_argument("--grid", type=Path, required=True)
    a = ap.parse_args(argv)
    if a.cmd == "split":
        split(a.src, a.out, a.every)
        return 0
    with torch.no_grad():
        if a.cmd == "vae":
            r = vae(a.run, a.heldout, a.grid, a.zoom)
        elif a.cmd == "dae":
            r = dae(a.run, a.heldout, a.grid, a.zoom)
        else:
            r = gan(a.gan_run, a.dae_run, a.grid, k=a.zoom)
    print(json.dumps(r, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
