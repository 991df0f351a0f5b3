"""Per-label metrics for conditional runs: samples asked for label L against the real images of L.

The generated images are asked for labels in the real images' proportions (`proportional_labels`),
so all of them together are scored against the whole real set as usual (the overall numbers are
comparable with an unconditional run's), and the images of each label against that label's real
images. Per-label real statistics are the label's rows of the cached real features (one cached
file per dataset, `stats_cache.RealFeatureCache`), so they cost nothing after the first evaluation.

Per-label FID is biased upwards by the small counts (a label with 50 real images and ~80 samples
has a large FID even for a perfect model): compare a label's FID across runs with the same counts,
not labels with each other. KID has no such bias.
"""

from __future__ import annotations

import numpy as np

from .fid import fid_from_features
from .kid import DEFAULT_SUBSET_SIZE, DEFAULT_SUBSETS, kernel_inception_distance
from .prdc import DC_K, PR_K, prdc

MIN_LABEL_IMAGES = 50  # the threshold: below it a label's FID is mostly small-sample noise
MIN_GENERATED = max(PR_K, DC_K) + 5  # precision/recall need more than k neighbours on each side


def proportional_labels(real_labels: np.ndarray, num_classes: int, n: int) -> np.ndarray:
    """n labels in the real images' proportions (largest remainder, ties to the lower index),
    grouped by label: int64 [n]. Image i of an evaluation is asked for label [i]."""
    counts = np.bincount(np.asarray(real_labels, dtype=np.int64), minlength=num_classes).astype(np.float64)
    if counts.sum() <= 0:
        raise ValueError("proportional_labels needs at least one real label")
    exact = n * counts / counts.sum()
    share = np.floor(exact).astype(np.int64)
    remainder = exact - share
    extra = np.argsort(-remainder, kind="stable")[: n - share.sum()]
    share[extra] += 1
    return np.repeat(np.arange(num_classes), share)


def per_label_metrics(
    gen_features: np.ndarray,
    asked: np.ndarray,
    real_features: np.ndarray,
    real_labels: np.ndarray,
    label_names: list[str],
    *,
    min_images: int = MIN_LABEL_IMAGES,
    kid_subsets: int = DEFAULT_SUBSETS,
    kid_subset_size: int = DEFAULT_SUBSET_SIZE,
    seed: int = 0,
) -> dict:
    """FID, KID and precision/recall/density/coverage of each label with at least `min_images` real images.

    Args:
        gen_features: [M, D] features of the generated images.
        asked: int64 [M], the label each generated image was asked for.
        real_features: [N, D] features of the real images.
        real_labels: int64 [N].

    Returns:
        {"min_images": ..., "labels": {name: metrics}, "left_out": {name: reason}}, labels in
        label order.
    """
    asked, real_labels = np.asarray(asked), np.asarray(real_labels)
    rows, left_out = {}, {}
    for i, name in enumerate(label_names):
        real, gen = real_features[real_labels == i], gen_features[asked == i]
        if len(real) < min_images:
            left_out[name] = f"{len(real)} real images (< {min_images})"
            continue
        if len(gen) < MIN_GENERATED:
            left_out[name] = f"{len(gen)} generated images (< {MIN_GENERATED}; raise --n)"
            continue
        kid_mean, kid_std = kernel_inception_distance(real, gen, kid_subsets, kid_subset_size, seed)
        rows[name] = {
            "n_real": int(len(real)),
            "n_generated": int(len(gen)),
            "fid": fid_from_features(real, gen),
            "kid": kid_mean,
            "kid_std": kid_std,
            **prdc(real, gen),
        }
    return {"min_images": min_images, "labels": rows, "left_out": left_out}


def per_label_markdown(per_label: dict, agreement: dict | None = None) -> list[str]:
    """Markdown lines: a table with one row per label (and label agreement when given)."""
    lines = [
        "## Per label",
        "",
        f"Samples asked for each label against that label's real images (labels with at least "
        f"{per_label['min_images']} real images). FID is biased upwards at these counts: compare a "
        "label's FID between runs with the same --n, not labels with each other.",
        "",
    ]
    if not per_label["labels"]:
        return lines + [f"No label has {per_label['min_images']} real images: " + _left_out(per_label) + "."]
    with_agreement = agreement is not None
    head = "| label | real | generated | FID | KID ×10³ | precision | recall | coverage |"
    rule = "|---|---|---|---|---|---|---|---|"
    if with_agreement:
        head += " label agreement | classifier accuracy (real) |"
        rule += "---|---|"
    lines += [head, rule]
    for name, r in per_label["labels"].items():
        line = (
            f"| {name} | {r['n_real']} | {r['n_generated']} | {r['fid']:.1f} | {1e3 * r['kid']:.1f} ± "
            f"{1e3 * r['kid_std']:.1f} | {r['precision']:.3f} | {r['recall']:.3f} | {r['coverage']:.3f} |"
        )
        if with_agreement:
            line += _agreement_cells(agreement["per_label"].get(name))
        lines.append(line)
    if per_label["left_out"]:
        lines += ["", "Left out: " + _left_out(per_label) + "."]
    return lines


def agreement_markdown(agreement: dict) -> list[str]:
    """Markdown lines: overall label agreement beside the classifier's accuracy on real held-out images."""
    clf = agreement["classifier"]
    lines = [
        "## Label agreement",
        "",
        f"A small CNN trained on {clf['n_train']} real images classifies {clf['n_held_out']} held-out real images "
        f"with accuracy **{clf['accuracy']:.1%}** (balanced over labels: {clf['balanced_accuracy']:.1%}; always "
        f"guessing the most frequent label: {clf['majority_share']:.1%}). "
        f"Of {agreement['n']} generated images it classifies **{agreement['overall']:.1%}** as the label they "
        f"were asked for: {agreement['ratio_to_classifier_accuracy']:.2f}× its accuracy on real images "
        "(issue 27's goal: at least 0.8×).",
        "",
        "| label | asked | label agreement | classifier accuracy (real held-out) |",
        "|---|---|---|---|",
    ]
    for name, row in agreement["per_label"].items():
        lines.append(f"| {name} | {row['n']} |" + _agreement_cells(row))
    return lines


def _left_out(per_label: dict) -> str:
    return "; ".join(f"{k}: {v}" for k, v in per_label["left_out"].items())


def _agreement_cells(row: dict | None) -> str:
    if row is None:
        return " – | – |"
    acc = row.get("classifier_accuracy")
    return f" {row['agreement']:.1%} | {'–' if acc is None else f'{acc:.1%}'} |"
