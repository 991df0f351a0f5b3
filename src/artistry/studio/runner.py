"""The parent of one training process started by the studio (run as a plain script: no torch).

    python runner.py JOBS_DIR JOB_ID

Reads JOB_ID.json, starts `python -m artistry train ARGS` with its output in JOB_ID.log, and
records in JOB_ID.run.json the training pid, the run directory once the trainer creates it, and
finally the exit code, after appending the output to RUN/train.log. It runs in its own session,
so it and the training outlive the studio and the browser tab. SIGTERM/SIGINT are passed on to
the trainer, which saves a checkpoint and exits.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path


def write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def find_new_run(runs_dir: Path, name: str, before: set[str]) -> str | None:
    pattern = re.compile(r"^\d{5}-" + re.escape(name) + r"$")
    try:
        names = os.listdir(runs_dir)
    except OSError:
        return None
    fresh = sorted(n for n in names if pattern.match(n) and n not in before)
    return fresh[0] if fresh else None


def main(jobs_dir: str, job_id: str) -> int:
    jobs = Path(jobs_dir)
    child = None
    stop = []

    def forward(signum, frame):  # Stop: the trainer checkpoints and exits
        stop.append(signum)
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)

    req = json.loads((jobs / f"{job_id}.json").read_text())
    runs_dir = Path(req["runs_dir"])
    before = set(os.listdir(runs_dir)) if runs_dir.is_dir() else set()
    cmd = [sys.executable, "-m", "artistry", "train", *req["args"]]
    with open(jobs / f"{job_id}.log", "ab") as log:
        log.write(("$ artistry train " + " ".join(req["args"]) + "\n").encode())
        log.flush()
        child = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=req.get("cwd") or None
        )
    if stop:  # Stop came while the trainer was being started
        child.send_signal(signal.SIGTERM)
    info = {"pid": child.pid, "runner_pid": os.getpid(), "run": req.get("run"), "started": time.time()}
    write_json(jobs / f"{job_id}.run.json", info)

    while child.poll() is None:
        if info["run"] is None and (found := find_new_run(runs_dir, req["name"], before)):
            info["run"] = found
            write_json(jobs / f"{job_id}.run.json", info)
        time.sleep(0.2)
    if info["run"] is None:
        info["run"] = find_new_run(runs_dir, req["name"], before)
    if info["run"]:  # keep the output with the run too (RUN/train.log, one block per job)
        try:
            with open(runs_dir / info["run"] / "train.log", "ab") as out:
                out.write((jobs / f"{job_id}.log").read_bytes())
        except OSError:
            pass
    info.update(exit_code=child.returncode, ended=time.time())
    write_json(jobs / f"{job_id}.run.json", info)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
