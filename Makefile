# Two commands (README): `make run` sets everything up and runs the demo; `make test` sets
# everything up and runs the whole suite. Both are safe to run again.

PYTHON ?= $(shell scripts/find-python)
VENV := .venv
PY := $(VENV)/bin/python
DEPS_STAMP := $(VENV)/.deps-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
PYTEST_ARGS ?=
# Two pytest-xdist workers (one per core): each has its own database, private Redis and cache keys.
# worksteal: a worker that runs out takes tests queued for the other (the browser journeys and
# real-worker tests are long; with plain load balancing one worker could finish minutes early).
PYTEST_WORKERS ?= 2

.PHONY: run test setup lint bench docker-config clean

run: setup
	$(PY) scripts/run.py

test: setup
	scripts/ensure-chromium
	$(PY) scripts/services.py check
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

setup: $(DEPS_STAMP)

$(DEPS_STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then echo "Python 3.12 or newer is required (Django 6). Install it, or run: make PYTHON=/path/to/python3.12" >&2; exit 1; fi
	@if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); fi
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check --group dev
	@rm -f $(VENV)/.deps-*
	@touch $@

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check . || true

bench: setup
	$(PY) -m bench

docker-config:
	docker-compose config -q

clean:
	rm -rf $(VENV) var staticfiles
