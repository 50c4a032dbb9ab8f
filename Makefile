# One command per habit. `make run` and `make test` do all set-up on a machine with only Python 3.
PYTHON ?= python3
VENV ?= .venv
LOGDIR ?= runs
PORT ?= 8889
TB_PORT ?= 8888
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv run test test-fast lint fmt bench bench-smoke clean

venv: $(STAMP)

$(STAMP): setup.py setup.cfg
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# pycrayon 0.5's setup.py imports requests, so it cannot build in an isolated env.
	$(BIN)/python -m pip install --quiet --no-build-isolation pycrayon==0.5
	touch $(STAMP)

run: venv
	$(BIN)/python -m crayon_bridge --logdir $(LOGDIR) --port $(PORT) --tensorboard-port $(TB_PORT)

test: venv lint
	$(BIN)/python -m pytest

test-fast: venv
	$(BIN)/python -m pytest -m "not e2e"

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The benchmark (not part of `make test`): installs wrk from Debian if missing; see docs/bench.md.
bench: venv
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run.py --out bench/results/latest.md

bench-smoke: venv
	$(BIN)/python bench/run.py --smoke

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
