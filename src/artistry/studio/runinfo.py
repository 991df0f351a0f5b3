"""Reading run directories for the studio: summaries, metrics, samples, evaluations, progress.

Everything here only reads files the trainer writes (config.json, manifest.json, metrics.jsonl,
samples/, eval/), so it works for runs started from the command line too.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RUN_NAME = re.compile(r"^\d{5}-[^/]+$")
SAMPLE = re.compile(r"^(\d+)\.png$")
RECENT_SECONDS = 90  # a run outside the studio whose metrics changed this recently is "training"


@dataclass
class RunSummary:
    name: str
    model: str = "?"
    loss: str = "?"
    recipe: str = ""
    size: int = 0
    data: str = ""
    status: str = "stopped"
    step: int = 0
    images_seen: int = 0
    fid: float | None = None
    kid: float | None = None
    thumb: str | None = None
    updated: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def family(self) -> str:
        return f"{self.model}/{self.loss}" + (f" ({self.recipe})" if self.recipe else "")


def run_dirs(runs_dir: Path) -> list[Path]:
    """The run directories in `runs_dir`, newest number first."""
    try:
        entries = [e for e in os.scandir(runs_dir) if RUN_NAME.match(e.name) and e.is_dir()]
    except FileNotFoundError:
        return []
    return [Path(e.path) for e in sorted(entries, key=lambda e: e.name, reverse=True)]


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def last_record(path: Path, tail_bytes: int = 16384) -> dict | None:
    """The last complete JSON line of a metrics.jsonl (read from the end of the file)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - tail_bytes))
            lines = f.read().split(b"\n")
    except OSError:
        return None
    for line in reversed(lines):
        try:
            return json.loads(line)
        except ValueError:
            continue
    return None


def tail_records(path: Path, tail_bytes: int = 256 * 1024) -> list[dict]:
    """The complete records in the last `tail_bytes` of a metrics.jsonl."""
    try:
        size = os.stat(path).st_size
    except OSError:
        return []
    start = max(0, size - tail_bytes)
    records, _ = read_metrics(path, start)
    return records[1:] if start else records  # the first line may be cut


def read_metrics(path: Path, offset: int = 0, limit_bytes: int = 4 << 20) -> tuple[list[dict], int]:
    """Complete records of metrics.jsonl from byte `offset`; returns them and the next offset."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            chunk = f.read(limit_bytes)
    except OSError:
        return [], offset
    end = chunk.rfind(b"\n") + 1  # a line still being written waits for the next read
    records = []
    for line in chunk[:end].split(b"\n"):
        if line.strip():
            try:
                records.append(json.loads(line))
            except ValueError:
                pass
    return records, offset + end


def samples(run: Path) -> list[tuple[int, str]]:
    """(images seen, file name) of the sample grids, oldest first."""
    try:
        names = os.listdir(Path(run) / "samples")
    except OSError:
        return []
    return sorted((int(m.group(1)), n) for n in names if (m := SAMPLE.match(n)))


def evaluations(run: Path) -> list[dict]:
    """Evaluation reports in eval/*.json as flat rows (name, fid, kid, precision, recall, ...)."""
    rows = []
    folder = Path(run) / "eval"
    if not folder.is_dir():
        return rows
    for p in sorted(folder.glob("*.json")):
        r = read_json(p)
        if not r or "fid" not in r:
            continue
        kid = r.get("kid")
        rows.append(
            {
                "name": p.stem,
                "fid": r.get("fid"),
                "kid": kid.get("mean") if isinstance(kid, dict) else kid,
                "precision": r.get("precision"),
                "recall": r.get("recall"),
                "density": r.get("density"),
                "coverage": r.get("coverage"),
                "n": r.get("n_generated"),
            }
        )
    rows.sort(key=lambda row: (len(row["name"]), row["name"]))
    return rows


def budget_text(cfg: dict) -> str:
    t = cfg.get("train", {})
    for key, unit in (("steps", "steps"), ("epochs", "epochs"), ("max_minutes", "minutes")):
        v = t.get(key)
        if v:
            return f"{int(v) if float(v).is_integer() else v} {unit}"
    return "?"


BUDGET_FLAGS = {"--steps": "steps", "--epochs": "epochs", "--max-minutes": "max_minutes"}


def with_budget(cfg: dict, args: list[str]) -> dict:
    """cfg with the budget flags in `args` (a resume's `--steps N` etc.) replacing its budget."""
    given = {BUDGET_FLAGS[a]: float(b) for a, b in zip(args, args[1:]) if a in BUDGET_FLAGS}
    if not given:
        return cfg
    train = {**cfg.get("train", {}), "steps": None, "epochs": None, "max_minutes": None, **given}
    return {**cfg, "train": train}


def progress(cfg: dict, last: dict | None, n_images: int | None) -> dict:
    """Share of the budget spent, images/s and ETA from the newest metrics record."""
    t = cfg.get("train", {})
    out: dict[str, Any] = {
        "step": 0,
        "images_seen": 0,
        "img_per_s": None,
        "fraction": None,
        "eta_s": None,
        "elapsed": 0.0,
        "budget": budget_text(cfg),
    }
    if not last:
        return out
    out.update(step=last.get("step", 0), images_seen=last.get("images_seen", 0), elapsed=last.get("elapsed", 0.0))
    if "img_per_s" in last:
        out["img_per_s"] = last["img_per_s"]
    parts = []
    if t.get("steps"):
        parts.append(out["step"] / t["steps"])
    if t.get("epochs") and n_images:
        parts.append(out["images_seen"] / (t["epochs"] * n_images))
    if t.get("max_minutes"):
        parts.append(out["elapsed"] / (t["max_minutes"] * 60))
    if parts:
        f = min(1.0, max(parts))
        out["fraction"] = f
        if 0 < f < 1 and out["elapsed"] > 0:
            out["eta_s"] = out["elapsed"] * (1 - f) / f
    return out


class RunReader:
    """Summaries of runs, cached per run by the mtimes of the files they come from."""

    def __init__(self, runs_dir: Path):
        self.runs_dir = Path(runs_dir)
        self._cache: dict[str, tuple[tuple, RunSummary]] = {}

    def summary(self, run: Path, job_status: str | None = None) -> RunSummary:
        key = self._stamp(run)
        hit = self._cache.get(run.name)
        if hit and hit[0] == key:
            s = hit[1]
        else:
            s = self._read(run)
            self._cache[run.name] = (key, s)
        s.status = job_status or self._status_without_job(run, s)
        return s

    def all(self, job_statuses: dict[str, str]) -> list[RunSummary]:
        return [self.summary(r, job_statuses.get(r.name)) for r in run_dirs(self.runs_dir)]

    @staticmethod
    def _stamp(run: Path) -> tuple:
        out = []
        for name in ("config.json", "metrics.jsonl", "samples", "eval"):
            try:
                st = os.stat(run / name)
                out.append((st.st_mtime_ns, st.st_size))
            except OSError:
                out.append(None)
        return tuple(out)

    def _read(self, run: Path) -> RunSummary:
        s = RunSummary(name=run.name)
        cfg = read_json(run / "config.json") or {}
        s.model = cfg.get("model", {}).get("model", "?")
        s.loss = cfg.get("loss", {}).get("loss") or "?"
        s.recipe = cfg.get("train", {}).get("recipe", "")
        s.size = cfg.get("data", {}).get("size", 0)
        s.data = cfg.get("data", {}).get("path", "")
        last = last_record(run / "metrics.jsonl")
        if last:
            s.step, s.images_seen = last.get("step", 0), last.get("images_seen", 0)
        for row in reversed(self._eval_rows(run)):
            s.fid, s.kid = row.get("fid"), row.get("kid")
            break
        grids = samples(run)
        if grids:
            s.thumb = f"{run.name}/samples/{grids[-1][1]}"
        try:
            s.updated = os.stat(run / "metrics.jsonl").st_mtime
        except OSError:
            s.updated = os.stat(run).st_mtime
        s.extra = {"cfg": cfg, "last": last}
        return s

    @staticmethod
    def _eval_rows(run: Path) -> list[dict]:
        return evaluations(run)

    @staticmethod
    def _status_without_job(run: Path, s: RunSummary) -> str:
        """Runs the studio did not start: recent metrics mean training; a spent budget, finished."""
        cfg = s.extra.get("cfg") or {}
        p = progress(cfg, s.extra.get("last"), None)
        if p["fraction"] is not None and p["fraction"] >= 0.98:
            return "finished"
        if s.updated and time.time() - s.updated < RECENT_SECONDS:
            return "training"
        return "stopped" if (run / "checkpoints").is_dir() else "failed"
