"""One rank of a test run: `python dist_worker.py JOB_JSON`, under RANK/WORLD_SIZE set by the test.

JOB: {"config": dict | null, "resume": run dir | null, "overrides": dict, "die_at": step | null,
"term_at": step | null, "audit": folder}; rank 1 exits abruptly at step die_at, or gets a SIGTERM
during step term_at. A rank other than 0 records every file it opens for writing, renames or creates
under `audit`; the last stdout line is a JSON report {"rank", "run_dir", "writes"}.
"""

import json
import os
import sys

import torch

torch.set_num_threads(1)  # two ranks on a shared 2-core machine


def main() -> int:
    job = json.loads(sys.argv[1])
    rank = int(os.environ.get("RANK", "0"))
    writes: list[str] = []
    root = os.path.realpath(job["audit"])

    def audit(event, args):
        if event == "open" and args[0] is not None and isinstance(args[0], (str, bytes, os.PathLike)):
            mode, flags = args[1] or "", args[2] or 0
            if any(c in str(mode) for c in "wax+") or flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
                path = os.path.realpath(os.fsdecode(args[0]))
                if path.startswith(root):
                    writes.append(path)
        elif event in ("os.rename", "os.replace", "os.mkdir", "os.remove"):
            path = os.path.realpath(os.fsdecode(args[0]))
            if path.startswith(root):
                writes.append(f"{event} {path}")

    if rank > 0:
        sys.addaudithook(audit)
    if rank == 1 and (job.get("die_at") is not None or job.get("term_at") is not None):
        import signal

        import artistry.training.trainer as trainer_module

        real_step = trainer_module.train_step

        def step(state, *args, **kwargs):
            if job.get("die_at") is not None and state.step >= job["die_at"]:
                os._exit(3)  # this rank vanishes mid-run, as a crash or an OOM kill would
            if state.step == job.get("term_at"):
                os.kill(os.getpid(), signal.SIGTERM)  # a stop request reaching this rank alone
            return real_step(state, *args, **kwargs)

        trainer_module.train_step = step

    from artistry import api
    from artistry.errors import ArtistryError

    try:
        if job.get("resume"):
            run_dir = api.train(resume=job["resume"], overrides=job.get("overrides") or {}, progress=False)
        else:
            run_dir = api.train(job["config"], progress=False)
    except ArtistryError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(json.dumps({"rank": rank, "run_dir": str(run_dir), "writes": writes}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
