"""Evaluate one checkpoint of a run: what `artistry evaluate RUN` does, as a library call.

The generated images come from seeds seed..seed+n-1. With `per_label`, a conditional run's images
are asked for labels in the training set's proportions (image i for `proportional_labels(...)[i]`),
and the report adds per-label metrics (`metrics/per_label.py`) and label agreement
(`metrics/label_agreement.py`) to the overall ones.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError

MIN_REAL_IMAGES = 10  # precision/recall and density/coverage need more than k = 5 neighbours


def _stderr(text: str) -> None:
    print(text, file=sys.stderr)


def evaluate_run(
    loaded,
    *,
    data: str | None = None,
    n: int = 2000,
    protocol: str = "legacy",
    seed: int = 0,
    batch: int = 8,
    per_label: bool = False,
    min_label_images: int | None = None,
    log: Callable[[str], None] = _stderr,
) -> tuple[dict, Path, Path]:
    """The full report for a loaded run, written to RUN/eval/<step>.json and .md.

    Args:
        loaded: an `artistry.load(...)` result.
        data: real images to compare with (prepared at the run's size); default the training set.
        n: generated images.
        batch: images per Inception forward pass.
        per_label: per-label metrics and label agreement (conditional runs; compares with the
            training set, so not with `data`).
        min_label_images: labels with fewer real images get no per-label row; default 50.

    Returns:
        (report, json path, markdown path).
    """
    from ..data import prepare_dataset
    from .features import InceptionFeatures, check_protocol
    from .per_label import MIN_LABEL_IMAGES
    from .report import ImageSet, cached_real_features, compute_report, write_report
    from .stats_cache import RealFeatureCache

    check_protocol(protocol)
    if n < 10:
        raise ConfigError("--n must be at least 10")
    if batch < 1:
        raise ConfigError("--batch must be at least 1")
    if per_label:
        _check_per_label(loaded, data)
    d = loaded.config.data

    def prepare(folder, min_images):  # at the run's size, so real and generated images match
        return prepare_dataset(
            folder, size=d.size, fit=d.fit, channels=d.channels, cache_dir=d.cache_dir, min_images=min_images
        )

    train = prepare(d.path, d.min_images)
    real = prepare(data, MIN_REAL_IMAGES) if data else train
    held_out = real if real.key != train.key else None  # images the model never saw
    extractor = InceptionFeatures(device=loaded.device, batch_size=batch)
    cache_root = None if d.cache_dir is None else Path(d.cache_dir).expanduser()
    cache = RealFeatureCache(None if cache_root is None else cache_root / "eval")

    asked = None
    if per_label:
        from .per_label import proportional_labels

        real_labels = np.asarray(loaded.training_labels(), dtype=np.int64)
        if len(real_labels) != len(train.images):
            raise ConfigError(f"{loaded.run_dir}: its labels do not match its {len(train.images)} training images")
        asked = proportional_labels(real_labels, loaded.num_classes, n)
    log(
        f"generating {n} images from {loaded.run_dir.name} at step {loaded.step}"
        + (" (labels in the training set's proportions)" if per_label else "")
    )
    generated = loaded.generate(n, seed=seed, labels=None if asked is None else torch.from_numpy(asked))
    real_set, hit = cached_real_features(
        ImageSet(real.images, source=real.manifest["source"]), protocol, extractor, cache, real.key
    )
    log(f"real features of {len(real.images)} images: {'cached' if hit else 'computed and cached'}")
    train_set = (
        real_set
        if held_out is None
        else cached_real_features(ImageSet(train.images), protocol, extractor, cache, train.key)[0]
    )
    gen_features = extractor.extract(generated, protocol)  # [N, 2048]

    name = f"{loaded.step:09d}"
    eval_dir = loaded.run_dir / "eval"
    report = compute_report(
        generated,
        real_set,
        train=train_set,
        held_out=real_set if held_out else None,
        protocol=protocol,
        extractor=extractor,
        seed=seed,
        sheet_path=eval_dir / f"{name}-nearest.png",
        generated_features=gen_features,
    )
    report.update(step=loaded.step, images_seen=loaded.images_seen, checkpoint=loaded.checkpoint_path.name)
    if per_label:
        from .label_agreement import agreement_report, cached_label_classifier
        from .per_label import per_label_metrics

        names = list(loaded.label_names)
        report["per_label"] = per_label_metrics(
            gen_features,
            asked,
            real_set.features,
            real_labels,
            names,
            min_images=MIN_LABEL_IMAGES if min_label_images is None else min_label_images,
            seed=seed,
        )
        classifier = cached_label_classifier(train.images, real_labels, names, train.key, cache_root, log=log)
        report["label_agreement"] = agreement_report(classifier, generated, asked)
    json_path, md_path = write_report(report, eval_dir, name)
    return report, json_path, md_path


def _check_per_label(loaded, data) -> None:
    if not loaded.num_classes:
        raise ConfigError(
            f"--per-label: {loaded.run_dir} was trained without --conditional, so it has no labels to evaluate"
        )
    if data:
        raise ConfigError("--per-label compares with the run's own labelled training images; leave out --data")


def summary_line(report: dict, n_real: int | None = None) -> str:
    """The headline numbers on one line (what `artistry evaluate` prints)."""
    line = (
        f"FID {report['fid']:.3f}  KID {report['kid']['mean']:.5f} ± {report['kid']['std']:.5f}  "
        f"precision {report['precision']:.3f}  recall {report['recall']:.3f}  "
        f"density {report['density']:.3f}  coverage {report['coverage']:.3f}  "
        f"memorised {report['memorization']['share_flagged']:.1%}  "
        f"({report['n_generated']} vs {report['n_real'] if n_real is None else n_real} images, "
        f"protocol {report['protocol']})"
    )
    agreement = report.get("label_agreement")
    if agreement:
        line += (
            f"\nlabel agreement {agreement['overall']:.1%} vs classifier accuracy "
            f"{agreement['classifier']['accuracy']:.1%} on real held-out images "
            f"({agreement['ratio_to_classifier_accuracy']:.2f}×)"
        )
    return line
