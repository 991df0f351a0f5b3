"""Time the studio's Runs page with 100 runs (the issue's goal: under 300 ms on this machine).

Makes 100 fake runs in a temporary folder, each with what a 30-minute CPU run leaves behind
(config.json, manifest.json, a 1,200-line metrics.jsonl, 40 sample grids, one eval report),
serves them with uvicorn on loopback and times `GET /` over HTTP: the first (cold) load, which
reads every run, and the median of later loads, which reuse what has not changed. The browser
then loads the thumbnails lazily, so they are not part of the page's time.

    .venv/bin/python benchmarks/studio_load.py [--runs 100] [--repeats 20]
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image


def fake_run(runs: Path, i: int, png: bytes) -> None:
    run = runs / f"{i:05d}-fake{i}"
    (run / "samples").mkdir(parents=True)
    (run / "eval").mkdir()
    cfg = {
        "data": {"path": "/data/art", "size": 64},
        "model": {"model": "dcgan"},
        "loss": {"loss": "bce"},
        "train": {"recipe": "best", "max_minutes": 30, "steps": None, "epochs": None},
    }
    (run / "config.json").write_text(json.dumps(cfg))
    (run / "manifest.json").write_text(json.dumps({"count": 300}))
    rng = random.Random(i)
    with open(run / "metrics.jsonl", "w") as f:
        for s in range(1, 1201):
            f.write(
                json.dumps(
                    {
                        "step": s * 10,
                        "images_seen": s * 640,
                        "elapsed": s * 1.5,
                        "loss_D": rng.random(),
                        "loss_G": rng.random(),
                        "img_per_s": 420.0,
                    }
                )
                + "\n"
            )
    for k in range(40):
        (run / "samples" / f"{(k + 1) * 19200:09d}.png").write_bytes(png)
    (run / "eval" / "12000.json").write_text(
        json.dumps({"fid": 80 + i, "kid": {"mean": 0.05}, "precision": 0.6, "recall": 0.3})
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()

    import uvicorn

    from artistry.studio.server import create_app

    tmp = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    grid = np.random.default_rng(0).integers(0, 256, (266, 266, 3), dtype=np.uint8)  # a 64 px 4x4 grid
    png_path = tmp / "grid.png"
    Image.fromarray(grid).save(png_path)
    for i in range(args.runs):
        fake_run(tmp / "runs", i, png_path.read_bytes())

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(tmp / "runs", [tmp], background=False)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)

    def load(path: str = "/") -> float:
        """One page load on a fresh connection, as a browser's navigation; milliseconds."""
        t0 = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", path)
        body = conn.getresponse().read().decode()
        conn.close()
        ms = (time.perf_counter() - t0) * 1000
        assert path != "/" or body.count('class="card run"') == args.runs
        return ms

    cold = load()
    warm = [load() for _ in range(args.repeats)]
    filtered = statistics.median([load("/?q=fake1&sort=fid") for _ in range(5)])
    server.should_exit = True
    print(
        f"runs page, {args.runs} runs: cold {cold:.0f} ms, warm median {statistics.median(warm):.0f} ms "
        f"(max {max(warm):.0f} ms over {args.repeats}), filtered + sorted median {filtered:.0f} ms"
    )


if __name__ == "__main__":
    main()
