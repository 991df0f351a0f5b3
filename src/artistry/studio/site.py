"""What the studio's routes share: the folders, the job queue, the run reader, the image maker,
and the Run page's live state assembled from them."""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException

from . import runinfo
from .explore import Explorer
from .jobs import JobManager, log_tail
from .paths import Refused, inside


class Studio:
    """What the routes share: folders, the job queue, the run reader and the image maker."""

    def __init__(self, runs_dir: Path, data_roots: list[Path], env: dict | None = None, device: str = "cpu"):
        self.runs_dir = Path(runs_dir).resolve()
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.data_roots = [Path(r).resolve() for r in data_roots]
        self.jobs = JobManager(self.runs_dir, env=env)
        self.reader = runinfo.RunReader(self.runs_dir)
        self.explorer = Explorer(self.runs_dir, device=device)

    def run_path(self, run: str) -> Path:
        if not runinfo.RUN_NAME.match(run or ""):
            raise HTTPException(404, "no such run")
        try:
            path = inside(self.runs_dir, run)
        except Refused as e:
            raise HTTPException(e.status, str(e)) from None
        if not (path / "config.json").is_file():
            raise HTTPException(404, "no such run")
        return path

    def summary(self, run: str) -> runinfo.RunSummary:
        path = self.run_path(run)
        return self.reader.summary(path, self.jobs.statuses().get(run))

    def state(self, run: str) -> dict:
        """Everything the Run page shows that changes while training."""
        s = self.summary(run)
        path = self.runs_dir / run
        job = self.jobs.latest_for_run().get(run)
        # A resume with a new budget trains to that budget (config.json keeps the first one)
        cfg = runinfo.with_budget(s.extra.get("cfg") or {}, job.args if job and job.kind == "resume" else [])
        manifest = runinfo.read_json(path / "manifest.json") or {}
        collapse = None
        for r in reversed(runinfo.tail_records(path / "metrics.jsonl")):
            if "collapse" in r:
                collapse = {
                    k: r.get(k) for k in ("step", "images_seen", "collapse", "diversity_d", "diversity_px", "near_dup")
                }
                break
        has_ckpt = any((path / "checkpoints").glob("step-*.safetensors")) if (path / "checkpoints").is_dir() else False
        return {
            "run": run,
            "status": s.status,
            "family": s.family,
            "budget": runinfo.budget_text(cfg),
            "progress": runinfo.progress(cfg, s.extra.get("last"), manifest.get("count")),
            "samples": [{"images_seen": n, "url": f"/files/runs/{run}/samples/{f}"} for n, f in runinfo.samples(path)],
            "timelapse": f"/files/runs/{run}/timelapse.gif" if (path / "timelapse.gif").is_file() else None,
            "collapse": collapse,
            "evals": runinfo.evaluations(path),
            "can_stop": bool(job and job.state in ("queued", "starting", "training")),
            "can_resume": has_ckpt and s.status in ("stopped", "failed", "finished"),
            "can_generate": has_ckpt and s.model != "dae",
            "job": job.to_dict() if job else None,
            "log": log_tail(job) if job else "",
        }
