# Two entry points for a fresh clone (only Python 3.11+ and make needed):
#   make quickstart   set up .venv and run the main job on scenarios/quickstart.yaml
#   make test         set up .venv and run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: quickstart test bench setup clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

quickstart: $(STAMP)
	$(BIN)/ccsim run scenarios/quickstart.yaml --policy fcfs --policy priority --by type

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python tests/benchmarks/bench_throughput.py
	$(BIN)/python tests/benchmarks/bench_kernel.py --no-fail
	$(BIN)/python tests/benchmarks/policy_guard.py
	$(BIN)/python -m pytest tests/benchmarks --benchmark-enable --benchmark-columns=mean,ops -q

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .benchmarks
