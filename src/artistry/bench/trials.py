"""Running benchmark trials in worker processes and summarising them over seeds."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..metrics.modes import ModeScore, mean_sd


def headline(score: ModeScore) -> dict:
    """The numbers a table reports for one scored sample set (G alone, next to its drs score)."""
    return {"modes": score.modes, "high_quality": score.high_quality, "reverse_kl": score.reverse_kl}


def _worker_init() -> None:
    torch.set_num_threads(1)  # small networks: one thread per process beats oversubscribed cores


def run_jobs(jobs: list[tuple], fn: Callable, workers: int, log: Callable[[str], None]) -> list:
    """Run fn(*job) for every job, in `workers` processes (1 = in this process), keeping order."""
    results: list = [None] * len(jobs)
    if workers <= 1:
        for i, job in enumerate(jobs):
            results[i] = fn(*job)
            log(_job_line(job, results[i], i + 1, len(jobs)))
        return results
    import concurrent.futures as cf
    import multiprocessing as mp

    with cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_worker_init) as ex:
        futures = {ex.submit(fn, *job): i for i, job in enumerate(jobs)}
        done = 0
        for fut in cf.as_completed(futures):
            i = futures[fut]
            results[i] = fut.result()
            done += 1
            log(_job_line(jobs[i], results[i], done, len(jobs)))
    return results


def _job_line(job, r: dict, done: int, total: int) -> str:
    spec, data, _steps, seed = job[:4]
    quality = (
        f"{100 * r['confident']:.0f}% confident labels" if "confident" in r else f"{100 * r['high_quality']:.1f}% HQ"
    )
    return (
        f"[{done}/{total}] {spec:<22} {data:<7} seed {seed}: {r['modes']}/{r['n_modes']} modes, "
        f"{quality}, KL {r['reverse_kl']:.3f}  ({r['seconds']:.0f}s)"
    )


def summarize_trials(rs: list[dict]) -> dict:
    """Mean and sd over trials of modes, HQ % and reverse KL."""
    modes = mean_sd([r["modes"] for r in rs])
    hq = mean_sd([100 * r["high_quality"] for r in rs])
    kl = mean_sd([r["reverse_kl"] for r in rs])
    out = {
        "trials": len(rs),
        "modes": modes,
        "hq": hq,
        "kl": kl,
        "n_modes": rs[0]["n_modes"],
        "seconds": float(np.mean([r["seconds"] for r in rs])),
        "per_trial": [
            {
                k: r[k]
                for k in ("modes", "high_quality", "reverse_kl", "acceptance", "curve", "digit_kl", "digit_freq")
                if k in r
            }
            for r in rs
        ],
    }
    if all("before_drs" in r for r in rs):  # the same generators scored without rejection sampling
        out["before_drs"] = summarize_trials([{**r["before_drs"], "n_modes": r["n_modes"], "seconds": 0.0} for r in rs])
        out["acceptance"] = mean_sd([r["acceptance"] for r in rs])
    return out
