"""Training jobs: a queue of `artistry train` processes, one running at a time.

Each job is a few files in RUNS/.studio/jobs/ (so the queue and the running trainings survive a
restart of the studio):

    ID.json      the request (CLI arguments, run name), written when queued
    ID.launch    the runner's pid, written when started
    ID.run.json  written by runner.py: training pid, run directory, exit code
    ID.stop      Stop was pressed (a queued job is then cancelled, a running one gets SIGTERM)
    ID.log       the trainer's output

A job whose processes are gone without an exit code was killed (e.g. `kill -9`): it shows as
failed, and its run can be resumed from its last checkpoint.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

RUNNER = Path(__file__).with_name("runner.py")
ACTIVE = ("queued", "starting", "training")
# Exit codes after Stop: 0 once training has begun (the trainer checkpoints and exits); killed by
# the SIGTERM itself (or 130/143 from a shell) when Stop came while it was still starting up.
STOPPED_CODES = (0, -signal.SIGTERM, 130, 143)


@dataclass
class Job:
    id: str
    name: str
    kind: str  # "new" or "resume"
    args: list[str]
    created: float
    run: str | None = None  # run directory name, once known
    state: str = "queued"  # queued, starting, training, finished, stopped, failed, cancelled
    pid: int | None = None
    exit_code: int | None = None
    log: str = ""

    def to_dict(self) -> dict:
        return {
            k: getattr(self, k) for k in ("id", "name", "kind", "args", "created", "run", "state", "pid", "exit_code")
        }


def pid_alive(pid: int | None) -> bool:
    """True for a live, non-zombie process that runs artistry code (guards against pid reuse)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path(f"/proc/{pid}")
    if proc.is_dir():
        try:
            if proc.joinpath("stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                return False
            return (
                b"artistry" in proc.joinpath("cmdline").read_bytes()
                or b"runner.py" in proc.joinpath("cmdline").read_bytes()
            )
        except (OSError, IndexError):
            return False
    return True


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def safe_name(text: str) -> str:
    """A run name usable in a folder name: letters, digits, dot, dash, underscore."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", text or "").strip(".-_")[:60]
    return name or "studio"


class JobManager:
    """Queues training jobs and starts them one (or `parallel`) at a time.

    Args:
        runs_dir: the studio's runs folder; jobs live in runs_dir/.studio/jobs.
        parallel: trainings allowed at once (1: two runs would fight over a small CPU).
        env: extra environment for the trainer (tests point the dataset cache at tmp_path).
    """

    def __init__(self, runs_dir: Path, parallel: int = 1, env: dict | None = None):
        self.runs_dir = Path(runs_dir).resolve()
        self.dir = self.runs_dir / ".studio" / "jobs"
        self.parallel = parallel
        self.env = env
        self._children: dict[str, subprocess.Popen] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- queue ------------------------------------------------------------------------------------
    def submit(self, kind: str, args: list[str], name: str, run: str | None = None) -> Job:
        with self._lock:
            self.dir.mkdir(parents=True, exist_ok=True)
            job_id = f"{int(time.time() * 1000):013d}-{secrets.token_hex(2)}"
            _write(
                self.dir / f"{job_id}.json",
                {
                    "id": job_id,
                    "kind": kind,
                    "args": list(args),
                    "name": name,
                    "run": run,
                    "runs_dir": str(self.runs_dir),
                    "created": time.time(),
                },
            )
        self.tick()
        return self.get(job_id)

    def jobs(self) -> list[Job]:
        if not self.dir.is_dir():
            return []
        out = []
        for p in sorted(self.dir.glob("*.json")):
            if p.name.endswith(".run.json"):
                continue
            job = self._load(p.stem)
            if job:
                out.append(job)
        return out

    def get(self, job_id: str) -> Job | None:
        if not re.fullmatch(r"\d{13}-[0-9a-f]{4}", job_id or ""):
            return None
        return self._load(job_id)

    def latest_for_run(self) -> dict[str, Job]:
        """The newest job of each run directory name."""
        out: dict[str, Job] = {}
        for job in self.jobs():
            if job.run:
                out[job.run] = job
        return out

    def statuses(self) -> dict[str, str]:
        """Run name -> status for the runs the studio has trained."""
        return {run: _run_status(job) for run, job in self.latest_for_run().items()}

    def _load(self, job_id: str) -> Job | None:
        req = _read(self.dir / f"{job_id}.json")
        if not req:
            return None
        job = Job(
            id=job_id,
            name=req["name"],
            kind=req["kind"],
            args=req["args"],
            created=req["created"],
            run=req.get("run"),
            log=str(self.dir / f"{job_id}.log"),
        )
        launch = _read(self.dir / f"{job_id}.launch")
        info = _read(self.dir / f"{job_id}.run.json") or {}
        stopped = (self.dir / f"{job_id}.stop").exists()
        job.run = info.get("run") or job.run
        job.pid = info.get("pid")
        job.exit_code = info.get("exit_code")
        if not launch:
            job.state = "cancelled" if stopped else "queued"
        elif job.exit_code is not None:
            if stopped and job.exit_code in STOPPED_CODES:
                job.state = "stopped"
            else:
                job.state = "finished" if job.exit_code == 0 else "failed"
        elif pid_alive(job.pid) or pid_alive(launch.get("runner_pid")):
            # the runner outlives the trainer only to record its exit code, a moment later
            job.state = "training" if info else "starting"
        elif not info and time.time() - launch.get("at", 0) < 10:
            job.state = "starting"  # the runner is still being exec'd
        else:
            job.state = "failed"  # killed: no exit code was ever written
        return job

    # --- scheduling -------------------------------------------------------------------------------
    def tick(self) -> None:
        """Reap finished runners and start queued jobs while there is room."""
        if not self.dir.is_dir():  # no job was ever submitted here
            return
        with self._lock, self._file_lock():
            for job_id, child in list(self._children.items()):
                if child.poll() is not None:
                    del self._children[job_id]
            jobs = self.jobs()
            running = sum(j.state in ("starting", "training") for j in jobs)
            for job in jobs:
                if running >= self.parallel:
                    break
                if job.state == "queued":
                    self._launch(job)
                    running += 1

    @contextlib.contextmanager
    def _file_lock(self):
        """Two studios on one runs folder must not both start the same queued job."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / ".lock", "w") as f:
            try:
                import fcntl

                fcntl.flock(f, fcntl.LOCK_EX)
            except ImportError:  # no fcntl (Windows): one studio per runs folder
                pass
            yield

    def _launch(self, job: Job) -> None:
        env = {**os.environ, **(self.env or {})}
        child = subprocess.Popen(
            [sys.executable, str(RUNNER), str(self.dir), job.id],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            cwd=self.runs_dir,
        )
        self._children[job.id] = child
        _write(self.dir / f"{job.id}.launch", {"runner_pid": child.pid, "at": time.time()})

    def stop(self, job: Job) -> bool:
        """Cancel a queued job or send SIGTERM to a running training (it checkpoints and exits)."""
        with self._lock:
            job = self._load(job.id) or job
            if job.state not in ACTIVE:
                return False
            (self.dir / f"{job.id}.stop").touch()
            if job.state == "queued":
                return True
            launch = _read(self.dir / f"{job.id}.launch") or {}
            pid = job.pid if pid_alive(job.pid) else launch.get("runner_pid")
            try:
                if pid:
                    os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            return True

    def active_job(self, run: str) -> Job | None:
        job = self.latest_for_run().get(run)
        return job if job and job.state in ACTIVE else None

    # --- background thread ------------------------------------------------------------------------
    def start_background(self, every: float = 1.0) -> None:
        def loop():
            while not self._stop.wait(every):
                try:
                    self.tick()
                except Exception as e:  # keep scheduling; a bad job file must not stop the queue
                    print(f"studio: job scheduler: {e}", file=sys.stderr)

        self._thread = threading.Thread(target=loop, name="studio-jobs", daemon=True)
        self._thread.start()

    def shutdown(self) -> None:
        self._stop.set()


def _run_status(job: Job) -> str:
    return {"starting": "training", "cancelled": "stopped"}.get(job.state, job.state)


def log_tail(job: Job, max_bytes: int = 8192) -> str:
    try:
        with open(job.log, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - max_bytes))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""
