#!/usr/bin/env bash
# GPU release check (about 10 minutes on one H100/H200): trains every family and loss on CUDA,
# resumes, generates, interpolates, evaluates, runs the CPU/CUDA parity tests and
# `bench speed --device cuda`, and the best recipe for 90 s at 64 and 256 px; prints one table.
# Needs a CUDA build of torch in the environment (or .venv). Usage: scripts/gpu_check.sh [--seconds 90]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] && PY=.venv/bin/python
"$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else "no CUDA GPU visible to torch")'
"$PY" -c 'import artistry' 2>/dev/null || "$PY" -m pip install -q -e ".[eval,dev]"
export PYTHONUNBUFFERED=1
exec "$PY" scripts/gpu_check.py "$@"
