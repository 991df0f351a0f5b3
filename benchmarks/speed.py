"""Training speed: our DCGAN-64 vs the tutorial-style fp32 loop. Same as `artistry bench speed`.

.venv/bin/python benchmarks/speed.py [--precision auto|fp32|bf16] [--rounds 5] [--steps 5]
"""

import argparse

from artistry.bench.speed import run_speed

if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--batch", type=int, default=64)
    a = p.parse_args()
    run_speed(a.precision, a.batch, a.steps, a.rounds)
