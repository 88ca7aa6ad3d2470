# The two commands a newcomer needs: `make demo` and `make test`.
# Both create the virtual environment and install pinned dependencies themselves.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTHON ?= $(shell scripts/find-python 3.13)

SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov

# Python keeps the bytecode of what it imports (in __pycache__ folders, which git ignores)
# even where the environment says not to (PYTHONDONTWRITEBYTECODE): `make test` starts two
# dozen Python processes that import the same modules, and each would compile them again.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo test lint serve bench clean venv suites check-template check-security

# One line per step: pip is quiet, and the first run takes a minute or two. pip compiles
# nothing ahead (--no-compile): Python compiles what a run imports, a fraction of what is
# installed (docs/performance.md, "The test suite").
# setuptools prints a notice ("Editable installation ... folders with the same name as
# your package") for every editable install whose packages live in more than one folder,
# as these do (tools/ and layers/common/python/). It is advice, not a fault, and no folder
# at the root shadows them, so it is filtered by its text for that one command.
PINNED = $(shell cat requirements.txt requirements-dev.txt | grep -c '==')
$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.13 is required (python3.13 on PATH or under pyenv)"; exit 1; }
	@echo "==> creating the virtual environment in $(VENV) ($$($(PYTHON) --version))"
	@$(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@echo "==> installing $(PINNED) pinned packages (requirements-dev.txt)"
	@$(PY) -m pip install --quiet --no-compile -r requirements-dev.txt
	@echo "==> installing this project (editable: smsgw, smsgw_tools and the smsgw command)"
	@PYTHONWARNINGS="ignore:Editable installation" $(PY) -m pip install --quiet --no-deps -e .
	@touch $@

venv: $(VENV)/.installed

demo: venv
	$(VENV)/bin/smsgw local demo

serve: venv
	$(VENV)/bin/smsgw local up

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

# The suites and the template and security checks side by side, each as soon as its
# environment is ready: three environments are installed at once (pip waits on the disk and
# the index as much as on a core), and the checks run beside the suites (docs/performance.md,
# "The test suite"). Any of them failing fails the target.
test:
	@$(MAKE) --no-print-directory -j3 suites check-template check-security

# The suites in parallel processes (pytest-xdist; the e2e tests, which share the local
# stacks, on one of them), each recording its functions' AWS calls into one file; then the
# least-privilege check over that file (tests/conftest.py).
suites: venv lint
	@calls=$$(mktemp -d) && trap 'rm -rf "$$calls"' EXIT && \
	SMSGW_TEST_AWS_CALLS_FILE=$$calls/calls.txt $(VENV)/bin/pytest -n auto && \
	SMSGW_TEST_AWS_CALLS_FILE=$$calls/calls.txt $(VENV)/bin/pytest tests/e2e/test_least_privilege_e2e.py

# A tool in a virtual environment of its own (its pins clash with the test tools'):
# $(call tool_venv,<venv>,<requirements file>)
define tool_venv
	@test -n "$(PYTHON)" || { echo "Python 3.13 is required (python3.13 on PATH or under pyenv)"; exit 1; }
	@echo "==> creating $(1) and installing $(2) into it"
	@$(PYTHON) -m venv $(1)
	@$(1)/bin/python -m pip install --quiet --upgrade pip
	@$(1)/bin/python -m pip install --quiet --no-compile -r $(2)
	@touch $(1)/.installed
endef

$(SAM_VENV)/.installed: requirements-sam.txt
	$(call tool_venv,$(SAM_VENV),requirements-sam.txt)

# `sam validate` and `sam build` (no container; the deps layer is built for arm64 with pip's
# platform wheels). sam looks for python3.13 on PATH. cfn-lint, which `--lint` would run
# a second time, runs in the suites (tests/unit/test_template_lint.py).
check-template: $(SAM_VENV)/.installed
	SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 $(SAM_VENV)/bin/sam validate
	SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 PATH="$(dir $(PYTHON)):$$PATH" \
		$(SAM_VENV)/bin/sam build --build-dir .aws-sam/build > .aws-sam-build.log 2>&1 \
		|| { cat .aws-sam-build.log; exit 1; }
	@echo "sam validate and sam build: ok"

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(call tool_venv,$(CHECKOV_VENV),requirements-checkov.txt)

# checkov's CloudFormation checks on template.yaml: any failed check fails the build. What
# the template does not fix is skipped in its resources' Metadata, each with its reason.
# --skip-download: no call to the vendor's platform (guidelines, custom policies).
check-security: $(CHECKOV_VENV)/.installed
	$(CHECKOV_VENV)/bin/checkov --file template.yaml --framework cloudformation \
		--skip-download --compact --quiet

bench: venv
	$(PY) bench/cold_start.py
	$(PY) bench/sender_batch.py

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) .pytest_cache .ruff_cache .aws-sam
