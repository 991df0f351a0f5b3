import json
import os
import signal
import subprocess
import sys
import time

from artistry.io import checkpoint as ckpt
from helpers import TINY_FLAGS


def test_sigterm_saves_a_checkpoint_and_resume_continues(image_folder, tmp_path):
    env = {**os.environ, "ARTISTRY_CACHE": str(tmp_path / "cache")}
    cmd = [
        sys.executable,
        "-m",
        "artistry",
        "train",
        str(image_folder),
        *TINY_FLAGS,
        "--steps",
        "100000",
        "--checkpoint-every",
        "100000000",
        "--name",
        "t",
        "--quiet",
    ]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    metrics = tmp_path / "runs" / "00000-t" / "metrics.jsonl"
    deadline = time.time() + 120
    while not (metrics.is_file() and metrics.read_text().count("\n") >= 2):  # training is under way
        assert time.time() < deadline and proc.poll() is None, proc.stderr.read()
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    found = ckpt.list_checkpoints(tmp_path / "runs" / "00000-t" / "checkpoints")
    assert len(found) == 1
    step = found[0][0]
    assert 20 <= step < 100000
    _, meta = ckpt.load(found[0][1])
    assert meta["images_seen"] == step * 8
    resumed = subprocess.run(
        [sys.executable, "-m", "artistry", "train", "--resume", "runs/00000-t", "--steps", str(step + 3), "--quiet"],
        cwd=tmp_path,
        env=env,
    )
    assert resumed.returncode == 0
    last = json.loads(metrics.read_text().splitlines()[-1])
    assert last["step"] == step + 3
