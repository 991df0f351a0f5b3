"""`artistry studio`: the local web app for starting, watching, comparing and exploring runs."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

NAME = "studio"
HELP = "a local web app: start, watch, compare and explore runs in the browser"
EPILOG = """examples:
  artistry studio                                   # http://127.0.0.1:7860 for ./runs
  artistry studio --runs ~/art-runs --port 8000
  artistry studio --data-root ~/Pictures --data-root /mnt/art   # folders the data picker shows
  artistry studio --host 0.0.0.0 --token SECRET     # reachable from the LAN, only with the token:
                                                    # open http://HOST:7860/?token=SECRET once

Training runs in separate processes that keep going when the browser tab (or the studio)
closes; one runs at a time and the rest wait in a queue. Needs the studio extra:
pip install "artistry[studio]".
"""
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runs", default="runs", metavar="DIR", help="the runs folder [runs]")
    p.add_argument("--port", type=int, default=7860, help="port [7860]")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on [127.0.0.1]; any other needs --token")
    p.add_argument("--token", default=None, help="secret every request must carry (needed off loopback)")
    p.add_argument(
        "--data-root",
        action="append",
        default=None,
        metavar="DIR",
        help="a folder the data picker may browse (repeatable) [your home folder]",
    )
    p.add_argument("--device", default="cpu", help="device for generating images: cpu, cuda or auto [cpu]")


def run(args: argparse.Namespace) -> int:
    from ...errors import ConfigError

    try:
        import jinja2  # noqa: F401  (the studio's other packages; a clear message when missing)
        import starlette  # noqa: F401
        import uvicorn
    except ModuleNotFoundError:
        raise ConfigError('the studio needs its extra packages: pip install "artistry[studio]"') from None
    if not 1 <= args.port <= 65535:
        raise ConfigError("--port must be from 1 to 65535")
    loopback = args.host in LOOPBACK
    if not loopback and not args.token:
        raise ConfigError(
            f"--host {args.host} makes the studio reachable from other machines; "
            "give --token SECRET too (every request must then carry it)"
        )
    if args.token is not None and not re.fullmatch(r"[A-Za-z0-9._~-]{8,200}", args.token):
        raise ConfigError("--token: 8 to 200 letters, digits or . _ ~ -")
    roots = [Path(r).expanduser() for r in (args.data_root or [Path.home()])]
    for r in roots:
        if not r.is_dir():
            raise ConfigError(f"--data-root: {r} is not a folder")
    import torch

    torch.set_num_threads(1)  # image making shares the CPU with training; training gets the rest
    from ...studio.server import create_app

    app = create_app(Path(args.runs).expanduser(), roots, token=args.token, loopback=loopback, device=args.device)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(
        f"artistry studio: http://{shown}:{args.port}/  (runs: {Path(args.runs).resolve()}; Ctrl-C stops "
        "the studio, not the trainings)",
        file=sys.stderr,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=2)
    return 0
