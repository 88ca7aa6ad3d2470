# The two commands a newcomer needs: `make demo` and `make test`.
# Both create the virtual environment and install pinned dependencies themselves.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTHON ?= $(shell scripts/find-python 3.13)

.PHONY: demo test lint serve bench clean venv

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.13 is required (python3.13 on PATH or under pyenv)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $@

venv: $(VENV)/.installed

demo: venv
	$(VENV)/bin/smsgw local demo

serve: venv
	$(VENV)/bin/smsgw local up

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: venv lint
	$(VENV)/bin/pytest

bench: venv
	$(PY) bench/cold_start.py
	$(PY) bench/sender_batch.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .aws-sam
