# Entry points for a fresh machine (see README "Quick start"):
#   make benchmark  set everything up, then run the main job: the default benchmark on matbench_phonons
#   make test       set everything up, then run the test suite (doctests and examples included)
#   make docs       set everything up, then build the documentation site (docs/_build/html)
#   make baseline   set everything up, then a one-fold, two-model check (about a minute)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU build of torch is installed before the project so that pip never
# resolves torch itself (an unpinned torch pulls a multi-GB CUDA build).
# Elsewhere: make TORCH="torch --index-url https://download.pytorch.org/whl/cpu"
TORCH  ?= torch==2.13.0
PYTEST_ARGS ?=
# Two pytest-xdist workers, one per core of the 2-core CI machine: the suite took 15:00 in one process and
# 10:32 in two (docs/benchmarks.md). --dist loadfile keeps each test file on one worker, so a module's
# expensive fixtures (the examples' smoke runs, a PostgreSQL server, the data sets) are built once.
# PYTEST_WORKERS=0 runs the suite in this process (for a debugger or a single test).
PYTEST_WORKERS ?= 2
# Data directory: a ../shared/data checkout beside the project when there is one;
# otherwise the loaders use ~/.cache/skhybrid and download the official files.
SKHYBRID_DATA_DIR ?= $(wildcard $(abspath ../shared/data))
export SKHYBRID_DATA_DIR

BENCHMARK_OUT ?= benchmark-results

.PHONY: setup benchmark baseline test docs clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e ".[test,docs]"
	# matbench 0.6 pins scikit-learn==1.0.1; we only need its fold file.
	$(BIN)/python -m pip install --quiet --no-deps "matbench==0.6"
	touch $@

benchmark: setup
	$(BIN)/skhybrid benchmark matbench_phonons --out $(BENCHMARK_OUT)
	@echo "Report: $(abspath $(BENCHMARK_OUT))/report.html (and report.md)"

baseline: setup
	$(BIN)/skhybrid baseline

test: setup
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=20 $(PYTEST_ARGS)

docs: setup
	$(MAKE) -C docs html

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache docs/_build docs/api/generated
