# Two entry points for a fresh clone (only Python 3.11+ and make needed):
#   make quickstart   set up .venv and run the main job on scenarios/quickstart.yaml
#   make test         set up .venv and run the fast test loop (everything not marked slow,
#                     in parallel with pytest-xdist)
#   make test-slow    the long statistical checks (marked slow); .ci/run runs both
# `.venv/bin/python -m pytest` with no arguments still runs every test, serially.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Workers for the fast loop: `make test WORKERS=0` runs it in one process; PYTEST_ARGS adds options.
WORKERS     ?= auto
PYTEST_ARGS ?=

.PHONY: quickstart test test-slow bench docs setup clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

quickstart: $(STAMP)
	$(BIN)/ccsim run scenarios/quickstart.yaml --policy fcfs --policy priority --by type

# pytest exits 5 when it collects no test: a split that lost its tests fails, and says so.
test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -n $(WORKERS) --dist worksteal $(PYTEST_ARGS) \
	    || { rc=$$?; [ $$rc -ne 5 ] || echo "make test: pytest collected no test" >&2; exit $$rc; }

# Serial: the theory checks run their replications on 2 processes each already.
test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow --durations=0 $(PYTEST_ARGS) \
	    || { rc=$$?; [ $$rc -ne 5 ] || echo "make test-slow: pytest collected no test (is anything still marked slow?)" >&2; exit $$rc; }

bench: $(STAMP)
	$(BIN)/python tests/benchmarks/bench_throughput.py
	$(BIN)/python tests/benchmarks/bench_kernel.py --no-fail
	$(BIN)/python tests/benchmarks/policy_guard.py
	$(BIN)/python tests/benchmarks/bench_learn.py
	$(BIN)/python tests/benchmarks/bench_roster.py
	$(BIN)/python tests/benchmarks/bench_needs.py
	$(BIN)/python tests/benchmarks/bench_reality.py --no-fail
	$(BIN)/python -m pytest tests/benchmarks --benchmark-enable --benchmark-columns=mean,ops -q

# API reference from the docstrings (Sphinx autodoc, no network) into docs/api/_build;
# tests/test_api_docs.py builds it the same way in the fast loop, warnings as errors.
docs: $(STAMP)
	$(BIN)/python -m sphinx -b html -W --keep-going docs/api docs/api/_build

clean:
	rm -rf docs/api/_build $(VENV) .pytest_cache .hypothesis .benchmarks
