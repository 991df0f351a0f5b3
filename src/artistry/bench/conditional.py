"""Issue 27's measurement: a conditional run against an unconditional one on the same data.

Both runs make `n` images from seeds 0..n-1; the conditional one asks for labels in the real
images' proportions (`metrics.per_label.proportional_labels`), so its images as a whole aim at the
same distribution as the unconditional run's. Reported:

* overall FID/KID/precision/recall/coverage of both against the same cached real features, and
  FID(conditional) / FID(unconditional) (goal: at most 1.05);
* per-label FID/KID for every label with >= 50 real images: the conditional run's images asked for
  L against the real images of L, beside the same number of unconditional images (image i counted
  for the label the conditional run asked at i), which shows what conditioning adds;
* label agreement of the conditional images next to the label classifier's held-out accuracy on
  real images (goal: at least 0.8 of it), and the unconditional images' agreement as the chance level.

`benchmarks/conditional_quality.py` is the command line; missing runs can be trained there first.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError
from ..io.atomic import write_text_atomic
from .machine import describe_machine

Log = Callable[[str], None]
FID_GOAL = 1.05  # conditional FID no worse than the unconditional one, within 5 %
AGREEMENT_GOAL = 0.8  # label agreement at least 0.8 x the classifier's held-out accuracy


def run_conditional_quality(
    cond_run: str | Path,
    uncond_run: str | Path,
    data: str | None = None,
    *,
    n: int = 2000,
    protocol: str = "legacy",
    seed: int = 0,
    checkpoint: str = "auto",
    out: str | None = None,
    command: str = "",
    log: Log = print,
) -> dict:
    """Evaluate two trained runs as described in the module docstring; returns (and writes) the results.

    Args:
        cond_run: a run trained with --conditional.
        uncond_run: a run trained without labels on the same images, at the same size.
        data: the image folder both trained on (checked); default the conditional run's own.
        n: generated images per run.
        out: write the Markdown report here and the raw numbers beside it (.json).
    """
    from .. import api
    from ..data import prepare_dataset
    from ..metrics.features import InceptionFeatures, check_protocol
    from ..metrics.label_agreement import agreement_report, cached_label_classifier
    from ..metrics.per_label import per_label_metrics, proportional_labels
    from ..metrics.report import ImageSet, cached_real_features, compute_report, headline_numbers, write_report
    from ..metrics.stats_cache import RealFeatureCache

    check_protocol(protocol)
    if n < 10:
        raise ConfigError("--n must be at least 10")
    cond = api.load(cond_run, checkpoint=checkpoint)
    uncond = api.load(uncond_run, checkpoint=checkpoint)
    if not cond.num_classes:
        raise ConfigError(f"--cond-run: {cond.run_dir} was trained without --conditional")
    if uncond.num_classes:
        raise ConfigError(f"--uncond-run: {uncond.run_dir} was trained with labels; give an unconditional run")
    d = cond.config.data
    dataset = prepare_dataset(data or d.path, size=d.size, fit=d.fit, channels=d.channels)
    for flag, loaded in (("--cond-run", cond), ("--uncond-run", uncond)):
        _check_same_data(flag, loaded, dataset.key)
    names = list(cond.label_names)
    real_labels = np.asarray(cond.training_labels(), dtype=np.int64)
    asked = proportional_labels(real_labels, len(names), n)

    extractor = InceptionFeatures()
    tic = time.perf_counter()
    real, hit = cached_real_features(
        ImageSet(dataset.images, source=str(data or d.path)), protocol, extractor, RealFeatureCache(None), dataset.key
    )
    log(f"real features: {len(dataset.images)} images, {'cached' if hit else f'{time.perf_counter() - tic:.0f} s'}")
    classifier = cached_label_classifier(dataset.images, real_labels, names, dataset.key, None, log=log)

    results = {
        "command": command,
        "machine": describe_machine(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "data": str(data or d.path),
        "n": n,
        "n_real": len(dataset.images),
        "size": d.size,
        "protocol": protocol,
        "labels": names,
        "label_counts": np.bincount(real_labels, minlength=len(names)).tolist(),
        "runs": {},
    }
    for role, loaded in (("conditional", cond), ("unconditional", uncond)):
        tic = time.perf_counter()
        log(f"{role}: generating {n} images from {loaded.run_dir} ({loaded.checkpoint_path.name})")
        labels = torch.from_numpy(asked) if role == "conditional" else None
        images = loaded.generate(n, seed=seed, labels=labels)
        features = extractor.extract(images, protocol)
        report = compute_report(
            images,
            real,
            protocol=protocol,
            extractor=extractor,
            seed=seed,
            sheet_path=loaded.run_dir / "eval" / "conditional-bench-nearest.png",
            generated_features=features,
        )
        report["per_label"] = per_label_metrics(features, asked, real.features, real_labels, names, seed=seed)
        report["label_agreement"] = agreement_report(classifier, images, asked)
        report.update(step=loaded.step, images_seen=loaded.images_seen, checkpoint=loaded.checkpoint_path.name)
        write_report(report, loaded.run_dir / "eval", "conditional-bench")
        results["runs"][role] = {
            "run": str(loaded.run_dir),
            "recipe": loaded.config.train.recipe,
            "max_minutes": loaded.config.train.max_minutes,
            "checkpoint": loaded.checkpoint_path.name,
            "checkpoint_images_seen": loaded.images_seen,
            **headline_numbers(report),
            "per_label": report["per_label"],
            "label_agreement": report["label_agreement"],
            "eval_seconds": round(time.perf_counter() - tic, 1),
        }
        log(f"{role}: FID {report['fid']:.2f}, label agreement {report['label_agreement']['overall']:.1%}")
    results["classifier"] = classifier.summary()
    results["goals"] = goals(results)
    results["markdown"] = format_report(results)
    log(results["markdown"])
    if out:
        write_text_atomic(Path(out), results["markdown"])
        write_text_atomic(Path(out).with_suffix(".json"), json.dumps(results, indent=2) + "\n")
    return results


def _check_same_data(flag: str, loaded, key: str) -> None:
    from ..data import prepare_dataset

    d = loaded.config.data
    theirs = prepare_dataset(d.path, size=d.size, fit=d.fit, channels=d.channels, cache_dir=d.cache_dir)
    if theirs.key != key:
        raise ConfigError(
            f"{flag}: {loaded.run_dir} trained on other images or settings ({d.path} at {d.size} px, fit {d.fit}) "
            "than the conditional run / --data; compare runs on the same data"
        )


def goals(results: dict) -> dict:
    """Issue 27's goals, each with its number and whether it is met."""
    cond, uncond = results["runs"]["conditional"], results["runs"]["unconditional"]
    fid_ratio = cond["fid"] / uncond["fid"]
    agreement = cond["label_agreement"]
    counts = dict(zip(results["labels"], results["label_counts"]))
    missing = [name for name, c in counts.items() if c >= 50 and name not in cond["per_label"]["labels"]]
    return {
        "fid_ratio": {"value": fid_ratio, "goal": f"<= {FID_GOAL}", "met": fid_ratio <= FID_GOAL},
        "agreement_ratio": {
            "value": agreement["ratio_to_classifier_accuracy"],
            "goal": f">= {AGREEMENT_GOAL}",
            "met": agreement["ratio_to_classifier_accuracy"] >= AGREEMENT_GOAL,
        },
        "per_label_fid": {
            "value": f"{len(cond['per_label']['labels'])} labels",
            "missing": missing,
            "met": not missing,
        },
    }


def format_report(results: dict) -> str:
    """The whole comparison as Markdown: settings, the goals, overall, label agreement, per label."""
    cond, uncond = results["runs"]["conditional"], results["runs"]["unconditional"]
    g, clf = results["goals"], results["classifier"]
    ca, ua = cond["label_agreement"], uncond["label_agreement"]

    def met(goal: dict) -> str:
        return "**met**" if goal["met"] else "**not met**"

    lines = [
        "# Conditional vs unconditional (issue 27)",
        "",
        f"- machine: {results['machine']}",
        f"- date: {results['date']}" + (f"; command: `{results['command']}`" if results["command"] else ""),
        f"- data: {results['data']} ({results['n_real']} images, {len(results['labels'])} labels), "
        f"{results['size']} px; {results['n']} generated images per run from seeds 0..{results['n'] - 1}, "
        f"protocol {results['protocol']}",
    ]
    for role, r in (("conditional", cond), ("unconditional", uncond)):
        budget = f"{r['max_minutes']:g} min" if r["max_minutes"] else "a step/epoch budget"
        lines.append(
            f"- {role}: `{r['run']}`, recipe {r['recipe'] or '–'}, {budget}, checkpoint {r['checkpoint']} "
            f"({r['checkpoint_images_seen'] / 1000:.1f}k images seen)"
        )
    lines += [
        "",
        "## Goals",
        "",
        f"- FID(conditional) / FID(unconditional) = **{g['fid_ratio']['value']:.3f}** (goal <= {FID_GOAL}): "
        + met(g["fid_ratio"]),
        f"- label agreement / classifier accuracy = {ca['overall']:.1%} / {clf['accuracy']:.1%} = "
        f"**{g['agreement_ratio']['value']:.2f}** (goal >= {AGREEMENT_GOAL}): " + met(g["agreement_ratio"]),
        f"- per-label FID for every label with >= 50 images: {g['per_label_fid']['value']}"
        + (
            f", missing {', '.join(g['per_label_fid']['missing'])} (too few generated images: raise --n)"
            if g["per_label_fid"]["missing"]
            else ""
        )
        + ": "
        + met(g["per_label_fid"]),
        "",
        "## Overall",
        "",
        "| run | FID | KID ×10³ | precision | recall | coverage | memorised | label agreement |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for role, r in (("conditional", cond), ("unconditional", uncond)):
        lines.append(
            f"| {role} | {r['fid']:.2f} | {1e3 * r['kid']:.2f} ± {1e3 * r['kid_std']:.2f} | {r['precision']:.3f} "
            f"| {r['recall']:.3f} | {r['coverage']:.3f} | {r['memorized']:.1%} "
            f"| {r['label_agreement']['overall']:.1%} |"
        )
    lines += [
        "",
        f"Label classifier: a small CNN trained on {clf['n_train']} real images; on {clf['n_held_out']} held-out real "
        f"images its accuracy is {clf['accuracy']:.1%} (balanced over labels {clf['balanced_accuracy']:.1%}; always "
        f"guessing the most frequent label scores {clf['majority_share']:.1%}). "
        f"The unconditional run's {ua['overall']:.1%} is the chance level: its images were never asked for a label.",
        "",
        "## Per label",
        "",
        "Images asked for label L against the real images of L; the unconditional column scores the same number of "
        "unconditional images against them. Per-label FID is biased upwards at these counts: compare columns, "
        "not labels.",
        "",
        "| label | real | generated | FID cond | FID uncond | KID×10³ cond | KID×10³ uncond | agreement cond "
        "| classifier acc. (real) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, c in cond["per_label"]["labels"].items():
        u = uncond["per_label"]["labels"].get(name)
        row = ca["per_label"].get(name, {})
        acc = row.get("classifier_accuracy")
        lines.append(
            f"| {name} | {c['n_real']} | {c['n_generated']} | {c['fid']:.1f} | {u['fid'] if u else float('nan'):.1f} "
            f"| {1e3 * c['kid']:.1f} | {1e3 * u['kid'] if u else float('nan'):.1f} "
            f"| {row.get('agreement', float('nan')):.1%} | {'–' if acc is None else f'{acc:.1%}'} |"
        )
    others = [name for name in ca["per_label"] if name not in cond["per_label"]["labels"]]
    if others:
        left_out = cond["per_label"]["left_out"]
        lines += [
            "",
            "Labels without a per-label row (label agreement only): "
            + "; ".join(
                f"{name}: agreement {ca['per_label'][name]['agreement']:.0%} of {ca['per_label'][name]['n']} "
                f"({left_out.get(name, 'left out')})"
                for name in others
            )
            + ".",
        ]
    return "\n".join(lines) + "\n"
