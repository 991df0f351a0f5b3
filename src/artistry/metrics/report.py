"""One evaluation report: FID, KID, precision/recall, density/coverage and memorisation.

`compute_report` turns uint8 images into a JSON-ready dict; `write_report` writes it as
eval/<name>.json and eval/<name>.md. Every report carries the image counts, the protocol and
the network, so numbers from different settings are never silently compared.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io.atomic import write_text_atomic
from .features import NETWORK_NAME, InceptionFeatures, check_protocol
from .fid import fid_from_features
from .kid import DEFAULT_SUBSET_SIZE, DEFAULT_SUBSETS, kernel_inception_distance
from .memorization import DEFAULT_PERCENTILE, check_memorization, save_pairs_sheet
from .per_label import agreement_markdown, per_label_markdown
from .prdc import DC_K, PR_K, prdc
from .stats_cache import RealFeatureCache, images_key, resolution_of

REPORT_FORMAT = 1
NOTES = (
    "KID is the mean ± standard deviation of the unbiased MMD² over random subsets; unlike FID it "
    "has no small-sample bias, so trust it over FID on small datasets.",
    "FID depends on the number of images: compare only reports with the same counts and protocol.",
    f"Precision/recall (Kynkäänniemi et al. 2019, k={PR_K}) and density/coverage (Naeem et al. 2020, "
    f"k={DC_K}) use the same Inception pool3 features as FID; the original precision/recall paper used "
    "VGG16 features, so values are not comparable with its tables.",
)


@dataclass
class ImageSet:
    """uint8 images [N, C, H, W] and, once computed (or loaded from the cache), their features [N, 2048]."""

    images: np.ndarray
    features: np.ndarray | None = None
    source: str = ""


def cached_real_features(
    real: ImageSet, protocol: str, extractor: InceptionFeatures, cache: RealFeatureCache, dataset_key: str | None = None
) -> tuple[ImageSet, bool]:
    """`real` with its features filled from the cache (or computed once and cached).

    Args:
        real: the real images.
        dataset_key: the prepared dataset's content key; default a hash of the pixels.

    Returns:
        (image set with features, True if they came from the cache).
    """
    key = dataset_key or images_key(real.images)
    feature_set, hit = cache.get(
        key, protocol, resolution_of(real.images), lambda: extractor.extract(real.images, protocol), n=len(real.images)
    )
    return ImageSet(real.images, feature_set.features, real.source or key), hit


def compute_report(
    generated: np.ndarray,
    real: ImageSet,
    *,
    train: ImageSet | None = None,
    held_out: ImageSet | None = None,
    protocol: str = "legacy",
    extractor: InceptionFeatures | None = None,
    kid_subsets: int = DEFAULT_SUBSETS,
    kid_subset_size: int = DEFAULT_SUBSET_SIZE,
    percentile: float = DEFAULT_PERCENTILE,
    sheet_path: str | os.PathLike | None = None,
    seed: int = 0,
    generated_features: np.ndarray | None = None,
) -> dict:
    """Every metric for generated images against real ones.

    Args:
        generated: uint8 [M, C, H, W] from the model.
        real: the reference set for FID, KID and precision/recall/density/coverage.
        train: the images the model trained on, for the memorisation check; default `real`.
        held_out: real images not trained on, to calibrate the memorisation thresholds; without
            them calibration is leave-one-out within `train`.
        protocol: "legacy" (standard TF-FID resize) or "clean" (clean-fid's PIL bicubic).
        extractor: feature extractor; default a new `InceptionFeatures()`.
        sheet_path: where to write the PNG of the closest generated/training pairs (optional).
        seed: seed of KID's subsets and of the calibration subset.
        generated_features: the generated images' features [M, 2048] when the caller already has them.
    """
    check_protocol(protocol)
    extractor = extractor or InceptionFeatures()
    seconds = {}
    started = time.perf_counter()
    gen_features = extractor.extract(generated, protocol) if generated_features is None else generated_features
    seconds["generated_features"] = time.perf_counter() - started
    tic = time.perf_counter()
    real = _with_features(real, extractor, protocol)
    train = real if train is None else _with_features(train, extractor, protocol)
    held_out = _with_features(held_out, extractor, protocol) if held_out is not None else None
    seconds["real_features"] = time.perf_counter() - tic

    tic = time.perf_counter()
    kid_mean, kid_std = kernel_inception_distance(real.features, gen_features, kid_subsets, kid_subset_size, seed)
    memo = check_memorization(
        gen_features,
        generated,
        train.features,
        train.images,
        held_out.features if held_out else None,
        held_out.images if held_out else None,
        percentile=percentile,
        seed=seed,
    )
    report = {
        "format": REPORT_FORMAT,
        "protocol": protocol,
        "network": NETWORK_NAME,
        "n_generated": int(len(generated)),
        "n_real": int(len(real.features)),
        "resolution": resolution_of(generated),
        "real_source": real.source,
        "fid": fid_from_features(real.features, gen_features),
        "kid": {
            "mean": kid_mean,
            "std": kid_std,
            "subsets": kid_subsets,
            "subset_size": min(kid_subset_size, len(real.features), len(generated)),
        },
        **prdc(real.features, gen_features),
        "prdc_k": {"precision_recall": PR_K, "density_coverage": DC_K},
        "memorization": memo.summary(),
        "notes": list(NOTES),
    }
    if sheet_path is not None:
        save_pairs_sheet(memo, generated, train.images, sheet_path)
        report["memorization"]["sheet"] = Path(sheet_path).name
    seconds["metrics"] = time.perf_counter() - tic
    seconds["total"] = time.perf_counter() - started
    report["seconds"] = {k: round(v, 2) for k, v in seconds.items()}
    return report


def _with_features(image_set: ImageSet, extractor: InceptionFeatures, protocol: str) -> ImageSet:
    if image_set.features is not None:
        return image_set
    return ImageSet(image_set.images, extractor.extract(image_set.images, protocol), image_set.source)


def headline_numbers(report: dict) -> dict:
    """The report's headline numbers, flat (for metrics.jsonl and benchmark tables)."""
    return {
        "fid": report["fid"],
        "kid": report["kid"]["mean"],
        "kid_std": report["kid"]["std"],
        "precision": report["precision"],
        "recall": report["recall"],
        "density": report["density"],
        "coverage": report["coverage"],
        "memorized": report["memorization"]["share_flagged"],
    }


def write_report(report: dict, eval_dir: str | os.PathLike, name: str) -> tuple[Path, Path]:
    """Write eval_dir/<name>.json and eval_dir/<name>.md atomically; returns both paths."""
    eval_dir = Path(eval_dir)
    json_path = _write_text(eval_dir / f"{name}.json", json.dumps(report, indent=2) + "\n")
    md_path = _write_text(eval_dir / f"{name}.md", report_markdown(report))
    return json_path, md_path


def report_markdown(report: dict) -> str:
    """The report as a short Markdown page: settings, a metrics table, memorisation, notes."""
    memo = report["memorization"]
    title = f"Evaluation at step {report['step']}" if "step" in report else "Evaluation"
    lines = [
        f"# {title}",
        "",
        f"- generated images: {report['n_generated']} ({report['resolution']})",
        f"- real images: {report['n_real']}" + (f" from {report['real_source']}" if report.get("real_source") else ""),
        f"- protocol: {report['protocol']} ({report['network']})",
        "",
        "| metric | value |",
        "|---|---|",
        f"| FID | {report['fid']:.3f} |",
        f"| KID (×10³) | {report['kid']['mean'] * 1e3:.3f} ± {report['kid']['std'] * 1e3:.3f} "
        f"({report['kid']['subsets']} subsets of {report['kid']['subset_size']}) |",
    ]
    lines += [f"| {key} | {report[key]:.3f} |" for key in ("precision", "recall", "density", "coverage")]
    lines += [
        "",
        "## Memorisation",
        "",
        f"{memo['share_flagged']:.1%} of generated images are closer to a training image than "
        f"{memo['percentile']:g}% of real images are (expected about {memo['expected_share_if_not_memorising']:.0%} "
        f"for a model that does not copy). Calibrated on {memo['calibration']}.",
        "",
        f"- Inception cosine distance: threshold {memo['inception_cosine']['threshold']:.4f}, "
        f"flagged {memo['inception_cosine']['share_flagged']:.1%}",
        f"- pixel distance ratio (nearest / mean of the next {memo['pixel_ratio']['neighbours']}): threshold "
        f"{memo['pixel_ratio']['threshold']:.4f}, flagged {memo['pixel_ratio']['share_flagged']:.1%}",
    ]
    if memo.get("sheet"):
        lines += ["", f"Closest pairs (generated | nearest training image): ![closest pairs]({memo['sheet']})"]
    if report.get("per_label"):  # conditional runs evaluated with --per-label
        lines += [""] + per_label_markdown(report["per_label"], report.get("label_agreement"))
    if report.get("label_agreement"):
        lines += [""] + agreement_markdown(report["label_agreement"])
    lines += ["", "## Notes", ""] + [f"- {note}" for note in report["notes"]]
    return "\n".join(lines) + "\n"


def _write_text(path: Path, text: str) -> Path:
    """Readers never see half a report."""
    return write_text_atomic(path, text)
