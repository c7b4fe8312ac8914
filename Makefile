# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CONFIG ?= config.example.toml

.PHONY: run test lint types install install-test clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: install
	$(VENV)/bin/jiyao init --config $(CONFIG)
	exec $(VENV)/bin/jiyao serve --config $(CONFIG)

lint: install-test
	$(VENV)/bin/ruff check .

types: install-test
	$(VENV)/bin/mypy

test: lint types
	$(VENV)/bin/pytest

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
