# artistry: `make demo` trains on the bundled paintings and generates images; `make test` runs the lint
# check and the tests; `make lint` only the lint check (ruff, configured in pyproject.toml).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
ARTISTRY := $(VENV)/bin/artistry
# The CPU build of PyTorch. GPU users: `make setup TORCH="torch==2.13.0 --index-url <your CUDA wheel index>"`
# or install their CUDA build into .venv first (see README).
TORCH ?= torch==2.13.0
DEMO_MINUTES ?= 6

.PHONY: setup demo test lint browser studio bench-speed clean-demo

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e ".[eval,studio,dev]"
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(ARTISTRY) train data/demo --size 64 --max-minutes $(DEMO_MINUTES) --name demo  # the best recipe
	@run=$$(ls -d runs/*-demo | sort | tail -n 1); \
	$(ARTISTRY) generate $$run --n 16 --seed 0 --grid --out $$run/generated && \
	echo && echo "Demo finished. Results in $$run:" && \
	echo "  generated images: $$run/generated/ (grid.png shows all 16)" && \
	echo "  training progress: $$run/samples/, $$run/timelapse.gif, $$run/losses.png" && \
	echo "  more images:       $(ARTISTRY) generate $$run --n 64 --seed 100 --out my-images"

LINTED := src tests benchmarks scripts

# The studio's browser tests drive Debian's Chromium through its own chromedriver (nothing is
# downloaded at test time). Installed here when missing and we may (root with apt-get).
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "note: chromium/chromedriver missing and not root: the studio's browser tests will be skipped"; fi

# The lint check runs first: it takes a second, the tests take minutes.
test: lint browser
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)

studio: setup
	$(ARTISTRY) studio

bench-speed: setup
	$(ARTISTRY) bench speed
