"""`artistry bench quality`: recipes against each other at equal wall-clock budgets.

For each budget (minutes) every recipe trains on the same data, one after the other in this
process, then each run's chosen checkpoint (`auto`: the best by its in-training metric when it
kept one, else the last) makes `n` images from seeds 0..n-1, which are scored against the same
cached real statistics with the full report (FID, KID, precision, recall, density, coverage).
Prints and writes a table with the ratio FID(last recipe)/FID(first recipe), and each budget's
sample grids side by side.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..io.atomic import write_text_atomic

Log = Callable[[str], None]


def run_quality(
    data: str,
    budgets: list[float],
    recipes: list[str],
    *,
    n: int = 2000,
    size: int = 64,
    protocol: str = "legacy",
    seed: int = 0,
    runs_dir: str = "runs/bench-quality",
    out: str | None = None,
    grid_dir: str | None = None,
    command: str = "",
    log: Log = print,
) -> dict:
    """Train every recipe for every budget, evaluate, and return (and optionally write) the results.

    Args:
        data: the image folder.
        budgets: minutes per run, e.g. [30, 10].
        recipes: recipe names, or variants for ablations (`best[mbstd=false]`, see
            recipes.parse_variant); the ratio compares the last one with the first.
        n: generated images per evaluation.
        out: write the table here (FILE.md) and the raw numbers beside it (FILE.json).
        grid_dir: write quality_<budget>min.png (the recipes' grids side by side) here.
    """
    from .. import api
    from ..metrics.features import InceptionFeatures
    from ..metrics.report import ImageSet, cached_real_features
    from ..metrics.stats_cache import RealFeatureCache
    from ..recipes import config_from, parse_variant
    from .machine import describe_machine

    dataset = api._prepare(config_from(data, {"size": size}, parse_variant(recipes[0])[0]))
    extractor = InceptionFeatures()
    tic = time.perf_counter()
    real, hit = cached_real_features(ImageSet(dataset.images), protocol, extractor, RealFeatureCache(None), dataset.key)
    log(
        f"real statistics: {len(dataset.images)} images at {size} px, "
        f"{'cached' if hit else f'computed in {time.perf_counter() - tic:.0f} s'}"
    )
    results = {
        "data": str(data),
        "n_real": len(dataset.images),
        "size": size,
        "n": n,
        "protocol": protocol,
        "command": command,
        "machine": describe_machine(),
        "rows": [],
    }
    for minutes in budgets:
        grids = []
        for recipe in recipes:
            base, changes = parse_variant(recipe)
            name = f"{_run_name(recipe)}-{minutes:g}min-seed{seed}"
            cfg = config_from(
                data,
                {"size": size, "max_minutes": minutes, "seed": seed, "name": name, "runs_dir": runs_dir, **changes},
                base,
            )
            log(f"training {recipe} for {minutes:g} minutes ...")
            run_dir = api.train(cfg, progress=True)
            row = _evaluate(run_dir, real, extractor, n, protocol, seed, log)
            row.update(recipe=recipe, minutes=minutes, run=str(run_dir))
            results["rows"].append(row)
            grids.append(api.load(run_dir).generate(64, seed=seed))
            log(_format_row(row))
        if grid_dir:
            _save_side_by_side(grids, recipes, Path(grid_dir) / f"quality_{minutes:g}min.png")
    results["table"] = format_table(results)
    log(results["table"])
    if out:
        write_text_atomic(Path(out), results["table"] + "\n")
        write_text_atomic(Path(out).with_suffix(".json"), json.dumps(results, indent=2) + "\n")
    return results


def _run_name(spec: str) -> str:
    """A directory name for a recipe variant: best[mbstd=false] -> best-mbstd=false."""
    name = spec.replace("[", "-").replace("]", "").replace(",", "-").replace("=", "-")
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _evaluate(run_dir: Path, real, extractor, n: int, protocol: str, seed: int, log: Log) -> dict:
    from .. import api
    from ..metrics.report import compute_report, headline_numbers, write_report

    loaded = api.load(run_dir)
    tic = time.perf_counter()
    images = loaded.generate(n, seed=seed)
    report = compute_report(
        images,
        real,
        protocol=protocol,
        extractor=extractor,
        seed=seed,
        sheet_path=Path(run_dir) / "eval" / "bench-nearest.png",
    )
    seconds = time.perf_counter() - tic
    report.update(step=loaded.step, images_seen=loaded.images_seen, checkpoint=loaded.checkpoint_path.name)
    write_report(report, Path(run_dir) / "eval", "bench")
    total_seen = _last_images_seen(Path(run_dir))
    log(f"evaluated {n} images in {seconds:.0f} s")
    return {
        "images_seen": total_seen,
        "checkpoint": loaded.checkpoint_path.name,
        "checkpoint_images_seen": loaded.images_seen,
        **headline_numbers(report),
        "eval_seconds": seconds,
    }


def _last_images_seen(run_dir: Path) -> int:
    """Images the run trained on in all (the best checkpoint may be earlier)."""
    from ..io.checkpoint import list_checkpoints, load

    return int(load(list_checkpoints(run_dir / "checkpoints")[-1][1])[1]["images_seen"])


def _format_row(r: dict, first_fid: float | None = None) -> str:
    ratio = f"{r['fid'] / first_fid:.2f}" if first_fid else "–"
    return (
        f"| {r['recipe']} | {r['minutes']:g} | {r['images_seen'] / 1000:.1f}k | {r['checkpoint']} "
        f"| {r['fid']:.1f} | {ratio} | {1e3 * r['kid']:.1f} ± {1e3 * r['kid_std']:.1f} | {r['precision']:.3f} "
        f"| {r['recall']:.3f} | {r['coverage']:.3f} | {_share(r.get('memorized'))} |"
    )


def _share(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def format_table(results: dict) -> str:
    """Markdown: one row per run, then FID ratios (last recipe / first) per budget."""
    lines = [
        f"{results['n']} generated images vs {results['n_real']} real, {results['size']} px, "
        f"protocol {results['protocol']}" + (f"; `{results['command']}`" if results["command"] else ""),
        f"Machine: {results.get('machine', 'not recorded')}. Near-copies: the memorisation check's share "
        "of samples flagged as near-copies of a training image.",
        "",
        "| recipe | budget (min) | images seen | checkpoint used | FID | FID ÷ first | KID ×10³ | precision "
        "| recall | coverage | near-copies |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    first = {}  # budget -> FID of its first recipe
    for r in results["rows"]:
        first.setdefault(r["minutes"], r["fid"])
        lines.append(_format_row(r, first[r["minutes"]]))
    lines.append("")
    for minutes in dict.fromkeys(r["minutes"] for r in results["rows"]):
        rows = [r for r in results["rows"] if r["minutes"] == minutes]
        if len(rows) >= 2:
            lines.append(
                f"- {minutes:g} min: FID({rows[-1]['recipe']}) / FID({rows[0]['recipe']}) = "
                f"**{rows[-1]['fid'] / rows[0]['fid']:.2f}**"
            )
    return "\n".join(lines)


def _save_side_by_side(grids: list[np.ndarray], labels: list[str], path: Path) -> None:
    """Each recipe's 8x8 grid, side by side, with its name above."""
    from PIL import Image, ImageDraw

    from ..io.images import make_grid, to_pil

    tiles = [to_pil(make_grid(g, nrow=8)).convert("RGB") for g in grids]
    w, h = tiles[0].size
    sheet = Image.new("RGB", (len(tiles) * (w + 16), h + 24), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (tile, label) in enumerate(zip(tiles, labels)):
        sheet.paste(tile, (i * (w + 16), 24))
        draw.text((i * (w + 16) + 4, 6), label, fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name("." + path.name + ".tmp.png")
    sheet.save(tmp)
    tmp.replace(path)
