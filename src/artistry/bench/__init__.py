"""Benchmark harnesses behind `artistry bench WHAT` (not tests).

  modes.py   mode coverage on the 2-D ring/grid and Stacked MNIST (PacGAN/VEEGAN measures)
  speed.py   training throughput
Each module exposes a `run_*` function the `bench` command dispatches to.
"""
