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
	$(PY) bench/frost.py
	$(PY) bench/ceremony.py
	$(PY) bench/ecdsa.py --temporal
	$(PY) bench/eventstore.py
	$(PY) bench/transactions.py

bench-quick: venv
	$(PY) bench/frost.py --quick
	$(PY) bench/ceremony.py --quick
	$(PY) bench/ecdsa.py --quick
	$(PY) bench/eventstore.py --quick
	$(PY) bench/transactions.py --quick

demo: venv
	$(PY) -m quorate demo

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
