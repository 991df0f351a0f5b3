"""`artistry train --gpus N` / `--nproc N`: start torchrun with one `artistry train` per process.

The flags are the user's own, minus --gpus/--nproc; torchrun sets RANK/WORLD_SIZE/LOCAL_RANK and
each process joins the group (distributed.py). This process only waits: a Ctrl-C reaches torchrun
and the workers too (they finish the step and rank 0 checkpoints), and a SIGTERM is passed on.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys

from ..errors import ConfigError


def _without(argv: list[str], flags: tuple[str, ...]) -> list[str]:
    """argv without `--flag N` / `--flag=N` for each flag."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a in flags:
            skip = True
            continue
        if a.split("=", 1)[0] in flags and "=" in a:
            continue
        out.append(a)
    return out


def torchrun_command(args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    """The torchrun command line and environment for `args` (train's parsed flags)."""
    if args.gpus and args.nproc:
        raise ConfigError("give --gpus N (one process per GPU) or --nproc N (CPU processes), not both")
    rest = _without(args._argv, ("--gpus", "--nproc"))
    env = dict(os.environ)
    if args.gpus:
        import torch

        have = torch.cuda.device_count()
        if have < args.gpus:
            raise ConfigError(f"--gpus {args.gpus}: this machine has {have} CUDA GPU{'s' * (have != 1)}")
        n = args.gpus
    else:
        n = args.nproc
        device = getattr(args, "device", None)  # absent unless given
        if device not in (None, "cpu"):
            raise ConfigError("--nproc runs CPU processes; use --gpus N for GPUs")
        rest += [] if device == "cpu" else ["--device", "cpu"]
        # torchrun would give each process one thread; share the cores instead
        env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // n)))
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        str(n),
        "-m",
        "artistry",
        *rest,
    ]
    return cmd, env


def launch_torchrun(args: argparse.Namespace) -> int:
    """Run torchrun and wait for it; its exit code (the workers print their own messages)."""
    cmd, env = torchrun_command(args)
    print(f"starting: {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
    proc = subprocess.Popen(cmd, env=env)
    stopped = []

    def on_signal(signum, frame):
        stopped.append(signum)
        if signum == signal.SIGTERM:  # a Ctrl-C reaches torchrun and the workers from the terminal
            proc.send_signal(signal.SIGTERM)

    old = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = proc.wait()  # they finish the step and rank 0 checkpoints; this process only waits
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    interrupted = bool(stopped)
    if interrupted:  # torchrun itself ends with a SignalException traceback; the workers have saved
        print(
            "interrupted: the processes stopped after the same step and rank 0 saved a checkpoint; "
            "continue with: artistry train --resume RUN (with any --gpus/--nproc)",
            file=sys.stderr,
        )
        return 130
    return code
