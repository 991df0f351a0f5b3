#!/usr/bin/env bash
# Run one benchmark command with the CPU to itself, as the quality numbers in docs/benchmarks.md were.
#
#   benchmarks/alone.sh .venv/bin/python -m artistry bench quality --data ../shared/data/paintings_a \
#       --compare "best,hires" --size 128 --minutes 60 --n 2000
#
# With the kernel's autogroup scheduling on, `nice` only ranks processes of one session against
# each other, so a benchmark at nice -10 still gets half the CPU next to a test run started from
# another shell. This turns autogroup off for the run (when it may: root), raises the command's
# priority, prints the machine's CPU line, and puts autogroup back afterwards. Start everything
# else with `nice -n 19` while it runs.
set -euo pipefail
if [ $# -eq 0 ]; then
    echo "usage: benchmarks/alone.sh COMMAND [ARGS...]" >&2
    exit 2
fi
knob=/proc/sys/kernel/sched_autogroup_enabled
before=""
if [ -w "$knob" ]; then
    before=$(cat "$knob")
    echo 0 > "$knob"
    trap 'echo "$before" > "$knob"' EXIT
else
    echo "note: cannot write $knob (not root?): other sessions' processes will share the CPU" >&2
fi
grep -m1 "model name" /proc/cpuinfo >&2 || true
nice -n -10 "$@"
