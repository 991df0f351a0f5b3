"""Post-processing for generated (or any) images: denoise, force black-and-white, tidy
contours, upscale. Pure functions on uint8 arrays [C, H, W] or [N, C, H, W] (C = 1 or 3),
and a Pipeline that applies steps in the order they were given on the command line.

    pipeline = Pipeline([("denoise", "runs/00004-dae"), ("bw", None), ("contour", None)])
    clean = pipeline(images)  # uint8 [N, C, H, W] -> uint8 [N, C, H', W']

Black-and-white convention: ink is the dark class; contour smoothing works on the ink.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import ConfigError

# ITU-R BT.601 luma weights (what Pillow uses for RGB -> L)
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
MAX_UPSCALE = 8


# --- helpers --------------------------------------------------------------------------------------
def _batched(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[..., np.ndarray]:
    """Lift a per-image function on [C, H, W] to accept [N, C, H, W] too."""

    def wrapper(images: np.ndarray, *args, **kwargs) -> np.ndarray:
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.ndim not in (3, 4) or images.shape[-3] not in (1, 3):
            raise ValueError(
                f"expected uint8 [C, H, W] or [N, C, H, W] with C = 1 or 3, got {images.dtype} {images.shape}"
            )
        if images.ndim == 3:
            return fn(images, *args, **kwargs)
        return np.stack([fn(img, *args, **kwargs) for img in images])

    wrapper.__doc__ = fn.__doc__
    wrapper.__name__ = fn.__name__
    return wrapper


def luminance(image: np.ndarray) -> np.ndarray:
    """Grey levels of one image: uint8 [C, H, W] -> float32 [H, W] on 0..255."""
    if image.shape[0] == 1:
        return image[0].astype(np.float32)
    return np.tensordot(LUMA, image.astype(np.float32), axes=1)


def otsu_threshold(grey: np.ndarray) -> float:
    """Otsu's threshold (maximises between-class variance) of grey levels 0..255.

    Returns t such that pixels > t are the light class. A flat image gives 127.5.
    """
    hist = np.bincount(np.clip(np.rint(grey), 0, 255).astype(np.int64).ravel(), minlength=256).astype(np.float64)
    total = hist.sum()
    levels = np.arange(256, dtype=np.float64)
    w0 = np.cumsum(hist)  # pixels <= t
    w1 = total - w0
    m0 = np.cumsum(hist * levels)
    mu_t = m0[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mu_t * w0 - m0 * total) ** 2 / (w0 * w1)
    between[(w0 == 0) | (w1 == 0)] = -1
    if between.max() <= 0:
        return 127.5
    best = np.flatnonzero(between == between.max())
    return float(best.mean())  # middle of a plateau (e.g. a two-level image)


def parse_threshold(value: str | float | None) -> str | float:
    """'otsu' or a number in [0, 1] (fraction of white); ConfigError names --threshold."""
    if value is None or value == "otsu":
        return "otsu"
    try:
        t = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"--threshold: expected 'otsu' or a number in [0, 1], got '{value}'") from None
    if not 0.0 <= t <= 1.0:
        raise ConfigError(f"--threshold: must be in [0, 1] (fraction of white) or 'otsu', got {t:g}")
    return t


def ink_mask(image: np.ndarray, threshold: str | float = "otsu") -> np.ndarray:
    """Dark pixels of one image: uint8 [C, H, W] -> bool [H, W] (True = ink)."""
    grey = luminance(image)
    t = otsu_threshold(grey) if threshold == "otsu" else float(threshold) * 255.0
    return grey <= t


def _from_mask(ink: np.ndarray, channels: int) -> np.ndarray:
    """bool [H, W] (True = ink) -> uint8 [C, H, W] of pure black and white."""
    return np.repeat(np.where(ink, 0, 255).astype(np.uint8)[None], channels, axis=0)


# --- the steps ------------------------------------------------------------------------------------
@_batched
def to_bw(image: np.ndarray, threshold: str | float = "otsu") -> np.ndarray:
    """Force black and white: grey level <= threshold becomes 0, the rest 255; channels kept.

    Args:
        image: uint8 [C, H, W] or [N, C, H, W].
        threshold: "otsu" (per image) or a level in [0, 1].
    """
    return _from_mask(ink_mask(image, parse_threshold(threshold)), image.shape[0])


@_batched
def contour(
    image: np.ndarray, threshold: str | float = "otsu", min_area: int | None = None, smooth: float = 0.7
) -> np.ndarray:
    """Tidy the contours of a black-and-white image (binarised first if it is not).

    1. close the ink with a 3x3 square: gaps and notches up to 2 px wide are filled;
    2. area opening: ink specks, and paper holes inside ink, smaller than `min_area` pixels
       are removed (unlike a 3x3 opening, this keeps 1-px lines);
    3. light smoothing: Gaussian blur (sigma `smooth` px) re-thresholded at one half, which
       rounds stair-step edges and keeps the image binary.

    Args:
        image: uint8 [C, H, W] or [N, C, H, W].
        threshold: binarisation: "otsu" or a level in [0, 1].
        min_area: speck size in pixels; default max(4, H * W / 2048) (4 px at 64x64).
        smooth: smoothing sigma in pixels (0 = none).
    """
    from scipy import ndimage

    _, h, w = image.shape
    ink = ink_mask(image, parse_threshold(threshold))
    area = max(4, (h * w) // 2048) if min_area is None else int(min_area)
    ink = ndimage.binary_closing(np.pad(ink, 2, mode="edge"), structure=np.ones((3, 3), bool))[2:-2, 2:-2]
    ink = _remove_small(ink, area)
    ink = ~_remove_small(~ink, area)
    if smooth > 0:
        ink = ndimage.gaussian_filter(ink.astype(np.float32), smooth, mode="nearest") >= 0.5
    return _from_mask(ink, image.shape[0])


def _remove_small(mask: np.ndarray, min_area: int) -> np.ndarray:
    """Drop 8-connected components of `mask` with fewer than min_area pixels. bool [H, W]."""
    from scipy import ndimage

    labels, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
    if n == 0:
        return mask
    sizes = np.bincount(labels.ravel())
    keep = sizes >= min_area
    keep[0] = False
    return keep[labels]


@_batched
def upscale(image: np.ndarray, factor: int = 2) -> np.ndarray:
    """Enlarge by an integer factor with Lanczos resampling. [C, H, W] -> [C, H*f, W*f]."""
    from PIL import Image

    from .io.images import to_pil

    f = int(factor)
    pil = to_pil(image).resize((image.shape[2] * f, image.shape[1] * f), Image.Resampling.LANCZOS)
    out = np.asarray(pil, dtype=np.uint8)
    return out[None] if out.ndim == 2 else out.transpose(2, 0, 1).copy()


def parse_upscale(value: Any) -> int:
    try:
        f = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"--upscale: expected a whole factor from 2 to {MAX_UPSCALE}, got '{value}'") from None
    if not 2 <= f <= MAX_UPSCALE:
        raise ConfigError(f"--upscale: factor must be from 2 to {MAX_UPSCALE}, got {f}")
    return f


# --- the pipeline -------------------------------------------------------------------------------
STEPS = ("denoise", "bw", "contour", "upscale")


@dataclass
class Pipeline:
    """Steps applied in order. Each step is (name, value): ("denoise", RUN_DIR), ("bw", None),
    ("contour", None), ("upscale", factor). `threshold` binarises for bw and contour.

    Everything is checked (and a denoiser run loaded) when the pipeline is built, before any
    image is made.
    """

    steps: list[tuple[str, Any]] = field(default_factory=list)
    threshold: str | float | None = None
    device: str = "cpu"
    _denoisers: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self):
        binarises = any(name in ("bw", "contour") for name, _ in self.steps)
        if self.threshold is not None and not binarises:
            raise ConfigError("--threshold: only used with --bw or --contour")
        self.threshold = parse_threshold(self.threshold)
        checked = []
        for name, value in self.steps:
            if name not in STEPS:
                raise ConfigError(f"unknown post-processing step '{name}' (steps: {', '.join(STEPS)})")
            if name == "upscale":
                value = parse_upscale(value)
            if name == "denoise" and str(value) not in self._denoisers:
                from .api import load

                run = load(value, device=self.device)
                if not getattr(run.model, "can_denoise", False):
                    raise ConfigError(
                        f"--denoise: {value} is a '{run.config.model.model}' run; give a run trained with --model dae"
                    )
                self._denoisers[str(value)] = run
            checked.append((name, value))
        self.steps = checked

    def __bool__(self) -> bool:
        return bool(self.steps)

    def describe(self) -> str:
        parts = []
        for name, value in self.steps:
            if name == "denoise":
                parts.append(f"denoise({value})")
            elif name == "upscale":
                parts.append(f"upscale(x{value})")
            elif name in ("bw", "contour"):
                parts.append(f"{name}({self.threshold})")
        return " -> ".join(parts) or "nothing"

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """Apply every step in order. uint8 [C, H, W] or [N, C, H, W] -> the same rank."""
        out = np.asarray(images)
        for name, value in self.steps:
            if name == "denoise":
                out = self._denoisers[str(value)].denoise(out)
            elif name == "bw":
                out = to_bw(out, self.threshold)
            elif name == "contour":
                out = contour(out, self.threshold)
            elif name == "upscale":
                out = upscale(out, value)
        return out

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Pipeline:
        """From flags added by add_postprocess_arguments()."""
        return cls(
            list(getattr(args, "post_steps", None) or []),
            getattr(args, "threshold", None),
            device=getattr(args, "device", "cpu"),
        )


# --- command-line flags (shared by `postprocess` and `generate`) --------------------------------
class _AppendStep(argparse.Action):
    """Appends (step, value) to args.post_steps, so steps keep their command-line order."""

    def __call__(self, parser, namespace, values, option_string=None):
        steps = list(getattr(namespace, "post_steps", None) or [])
        steps.append((self.const, None if self.nargs == 0 else values))
        namespace.post_steps = steps


def add_postprocess_arguments(parser: argparse.ArgumentParser) -> None:
    """--denoise, --bw, --threshold, --contour, --upscale; steps run in the order given."""
    g = parser.add_argument_group("post-processing (steps run in the order given)")
    g.add_argument(
        "--denoise",
        action=_AppendStep,
        const="denoise",
        dest="_pp_denoise",
        metavar="RUN",
        help="clean with a denoising autoencoder run (artistry train DIR --model dae)",
    )
    g.add_argument("--bw", action=_AppendStep, const="bw", nargs=0, dest="_pp_bw", help="force pure black and white")
    g.add_argument(
        "--threshold",
        default=None,
        metavar="T",
        help="binarisation for --bw/--contour: otsu (per image) or a level in [0, 1] [otsu]",
    )
    g.add_argument(
        "--contour",
        action=_AppendStep,
        const="contour",
        nargs=0,
        dest="_pp_contour",
        help="close gaps, drop specks and smooth the edges of the ink (implies black and white)",
    )
    g.add_argument(
        "--upscale",
        action=_AppendStep,
        const="upscale",
        dest="_pp_upscale",
        metavar="F",
        help=f"enlarge by a whole factor (2..{MAX_UPSCALE}) with Lanczos resampling",
    )
    parser.set_defaults(post_steps=None)
