"""`artistry bench modes`: mode coverage of each loss/option on the PacGAN/VEEGAN benchmarks.

Both suites train with the project's own Loss objects and `training.step.train_step`, so they
measure the real training code; only the networks and the data stream are the benchmark's.
The suites live in modes_2d.py (ring, grid) and stacked_mnist.py; recipes in mode_recipes.py.
This module runs them and writes the report next to the published numbers.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .machine import describe_machine
from .mode_recipes import Recipe
from .modes_2d import TOY_STEPS, run_2d_suite
from .stacked_mnist import STACKED_STEPS, run_stacked_suite

# --- the published numbers we compare against (PacGAN paper, Tables 1 and 2) ---------------------
PUBLISHED = [
    ("GAN (VEEGAN paper)", "1 / 99.3", "3.3 / 0.5", "99 / 3.4"),
    ("VEEGAN", "8 / 52.9", "24.6 / 40", "150 / 2.95"),
    ("PacGAN2", "7.9 / 95.6", "23.8 / 91.3", "1000 / 0.06"),
    ("PacGAN4", "7.8 / 95.9", "24.8 / 93.6", "1000 / 0.07"),
]
GOAL = ("goal (best recipe)", "8.0 / >= 99", "25.0 / >= 97", "1000 / <= 0.05")


# --- reporting -------------------------------------------------------------------------------------
def _cell_2d(s: dict | None) -> str:
    if not s:
        return "-"
    (m, msd), (h, hsd) = s["modes"], s["hq"]
    return f"{m:.1f} ± {msd:.1f} / {h:.1f} ± {hsd:.1f}"


def _cell_stacked(s: dict | None) -> str:
    if not s:
        return "-"
    (m, msd), (k, ksd) = s["modes"], s["kl"]
    if s["trials"] > 1:
        return f"{m:.0f} ± {msd:.0f} / {k:.2f} ± {ksd:.2f}"
    return f"{m:.0f} / {k:.2f}"


def format_tables(results: dict) -> str:
    """Markdown: the published comparison table, then reverse KL and time per recipe."""
    rows = [k for k in results if not k.startswith("_")]
    lines = ["| method | ring modes / HQ% | grid modes / HQ% | Stacked MNIST modes / KL |", "|---|---|---|---|"]
    for name, ring, grid, st in PUBLISHED + [GOAL]:
        lines.append(f"| {name} | {ring} | {grid} | {st} |")
    for spec in rows:
        r = results[spec]
        lines.append(
            f"| **ours: {spec}** | {_cell_2d(r.get('ring'))} | {_cell_2d(r.get('grid'))} | "
            f"{_cell_stacked(r.get('stacked'))} |"
        )
        before = {d: (r.get(d) or {}).get("before_drs") for d in ("ring", "grid", "stacked")}
        if any(before.values()):
            lines.append(
                f"| ours: {spec}, G alone (no rejection) | {_cell_2d(before['ring'])} | "
                f"{_cell_2d(before['grid'])} | {_cell_stacked(before['stacked'])} |"
            )
    lines += [
        "",
        "| recipe | ring reverse KL | grid reverse KL | s/trial ring | s/trial grid | s/run stacked "
        "| stacked: confident labels | drs: samples kept ring / grid / stacked |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for spec in rows:
        r = results[spec]

        def kl(d, r=r):  # bound now: the loop moves on
            s = r.get(d)
            return f"{s['kl'][0]:.3f} ± {s['kl'][1]:.3f}" if s else "-"

        def secs(d, r=r):
            s = r.get(d)
            return f"{s['seconds']:.0f}" if s else "-"

        st = r.get("stacked")
        conf = f"{100 * st['confident']:.0f}%" if st and "confident" in st else "-"
        acc = " / ".join(
            f"{100 * r[d]['acceptance'][0]:.1f}%" if "acceptance" in (r.get(d) or {}) else "-"
            for d in ("ring", "grid", "stacked")
        )
        lines.append(
            f"| {spec} | {kl('ring')} | {kl('grid')} | {secs('ring')} | {secs('grid')} | {secs('stacked')} "
            f"| {conf} | {acc} |"
        )
    return "\n".join(lines) + "\n"


def merge_results(path: Path, results: dict, runs: list[dict]) -> dict:
    """Merge per-recipe `results` into the JSON at `path` (newer numbers win per recipe and
    suite) and append this invocation's run records to its `_runs` list."""
    old = json.loads(path.read_text()) if path.is_file() else {}
    previous = old.pop("_runs", [])
    for spec, per in results.items():
        old.setdefault(spec, {}).update(per)
    old["_runs"] = previous + runs
    return old


def run_modes(
    suite: str,
    recipes: list[Recipe],
    *,
    trials: int,
    steps: int | None,
    stacked_steps: int | None,
    stacked_trials: int,
    workers: int,
    seed: int,
    out: str | None,
    mnist: str | None,
    cache_dir: str | None,
    command: str = "",
    curve_every: int = 0,
    save_generators: str | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    """Run the chosen suites, print the tables, and (with `out`) write/merge markdown + JSON."""
    log(f"machine: {describe_machine()}")
    results: dict[str, Any] = {}
    metas = {}
    if suite in ("2d", "all"):
        r2 = run_2d_suite(recipes, trials=trials, steps=steps or TOY_STEPS, seed=seed, workers=workers, log=log)
        metas["2d"] = r2.pop("_meta")
        for k, v in r2.items():
            results.setdefault(k, {}).update(v)
    if suite in ("stacked", "all"):
        rs = run_stacked_suite(
            recipes,
            steps=stacked_steps or STACKED_STEPS,
            trials=stacked_trials,
            seed=seed,
            workers=workers,
            mnist_path=mnist,
            cache_dir=cache_dir,
            curve_every=curve_every,
            save_dir=save_generators,
            log=log,
        )
        metas["stacked"] = rs.pop("_meta")
        for k, v in rs.items():
            results.setdefault(k, {}).update(v)
    for name, meta in metas.items():
        meta["command"] = command
        meta["machine"] = describe_machine()
        log(f"{name} suite: {meta['wall_seconds'] / 60:.1f} min wall")
    table = format_tables(results)
    print(table)
    if out:
        md, js = Path(out), Path(out).with_suffix(".json")
        merged = merge_results(js, results, [{**meta, "suite": name} for name, meta in metas.items()])
        md.parent.mkdir(parents=True, exist_ok=True)
        js.write_text(json.dumps(merged, indent=1))
        md.write_text(report_markdown(merged))
        print(f"wrote {md} and {js}", file=sys.stderr)
    return results


def report_markdown(merged: dict) -> str:
    """The --out markdown for merged results: one line per run, then the tables."""
    lines = ["<!-- written by `artistry bench modes`; raw numbers in the .json next to it -->", ""]
    for meta in merged.get("_runs", []):
        lines.append(
            f"- {meta['suite']} suite: `{meta.get('command', '')}` — {meta['wall_seconds'] / 60:.1f} min "
            f"wall on {meta.get('machine', '')}"
        )
    lines += ["", format_tables(merged), *_curve_lines(merged), *_digit_lines(merged)]
    return "\n".join(lines)


def _curve_lines(merged: dict) -> list[str]:
    """Stacked MNIST generators (alone) scored along training, for runs with --stacked-curve."""
    out = []
    for spec, per in merged.items():
        trials = [] if spec.startswith("_") else (per.get("stacked") or {}).get("per_trial", [])
        for t, trial in enumerate(trials):
            if trial.get("curve"):
                cells = ", ".join(f"{int(st)}: {int(m)} / {kl:.3f} ({100 * c:.0f}%)" for st, m, kl, c in trial["curve"])
                out.append(f"- {spec}, trial {t}: {cells}")
    if out:
        out = ["", "Stacked MNIST, the generator alone along training — step: modes / KL (confident labels):", ""] + out
    return out


def _digit_lines(merged: dict) -> list[str]:
    """Where each final Stacked MNIST generator's KL comes from: its per-digit frequencies."""
    out = []
    for spec, per in merged.items():
        trials = [] if spec.startswith("_") else (per.get("stacked") or {}).get("per_trial", [])
        for t, trial in enumerate(trials):
            if "digit_freq" not in trial:
                continue
            freq = np.asarray(trial["digit_freq"]).mean(axis=0)  # mean over the three channels
            cells = ", ".join(f"{d}: {100 * f:.1f}" for d, f in enumerate(freq))
            out.append(
                f"- {spec}, trial {t}: KL {trial['reverse_kl']:.3f}, of which per-digit bias "
                f"{trial['digit_kl']:.3f}; digit % (mean of 3 channels) {cells}"
            )
    if out:
        out = [
            "",
            "Stacked MNIST, the final generator's per-digit frequencies (uniform = 10 %); the rest of "
            "the KL is how digits pair up across channels, counting noise included:",
            "",
        ] + out
    return out
