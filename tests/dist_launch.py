"""Start a many-process run the way torchrun does (RANK, WORLD_SIZE, MASTER_* in the environment),
one `dist_worker.py` per rank, and collect each rank's exit code, report and stderr."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

WORKER = Path(__file__).with_name("dist_worker.py")
SRC = Path(__file__).resolve().parents[1] / "src"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(job: dict, world: int, timeout: float = 120.0, extra_env: dict | None = None) -> list[dict]:
    """Run `job` on `world` ranks; [{"rc", "report", "stderr"}] per rank, in rank order."""
    port = free_port()
    procs = []
    for rank in range(world):
        env = {
            **os.environ,
            "RANK": str(rank),
            "WORLD_SIZE": str(world),
            "LOCAL_RANK": str(rank),
            "LOCAL_WORLD_SIZE": str(world),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
            "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
            "OMP_NUM_THREADS": "1",
            **(extra_env or {}),
        }
        procs.append(
            subprocess.Popen(
                [sys.executable, str(WORKER), json.dumps(job)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    out = []
    for p in procs:
        try:
            stdout, stderr = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:  # a hang is a failure of the test, never of the suite
            for q in procs:
                q.kill()
            raise AssertionError(f"rank {procs.index(p)} still running after {timeout} s") from None
        lines = [line for line in stdout.splitlines() if line.startswith("{")]
        out.append({"rc": p.returncode, "report": json.loads(lines[-1]) if lines else None, "stderr": stderr})
    return out
