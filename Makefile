# Quorate developer entry points. `make demo` and `make test` are the README contract.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv test lint bench bench-quick demo clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: venv lint
	bash .ci/services
	$(PY) -m pytest -n auto

bench: venv
	$(PY) -m bench.frost
	$(PY) -m bench.ceremony
	$(PY) -m bench.threshold_ecdsa --temporal
	$(PY) -m bench.eventstore
	$(PY) -m bench.transactions

bench-quick: venv
	$(PY) -m bench.frost --quick
	$(PY) -m bench.ceremony --quick
	$(PY) -m bench.threshold_ecdsa --quick
	$(PY) -m bench.eventstore --quick
	$(PY) -m bench.transactions --quick

demo: venv
	$(PY) -m quorate demo

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
