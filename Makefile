# The README's quick start: `make demo`, `make quick` (the edit-test loop) and `make test`.
# Plain `make` lists the targets (help); nothing is built until a target asks for it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DJ42 := .venv-django42
DJ42_STAMP := $(DJ42)/.installed
# setuptools explains at length, on every editable install, that folders named like a package
# in the working directory may shadow it; our packages live under core/ and integrations/.
QUIET_PIP := PYTHONWARNINGS="ignore:Editable installation" $(PY) -m pip install --quiet
# make quick: every core and asyncio test on the memory:// engine (the [memory] case of each
# db test).
QUICK_CORE := memory and not resp2 and not resp3 and not cluster and not valkey
# ... then limpyd, the Django and Flask integrations, Celery tasks (eager), the README samples
# and the demo's views, on a real redis-server the fixture starts. Left to `make test`: the
# other backends (RESP3, cluster), Django's own cache suite per Django series, other Pythons,
# real Celery workers, browsers, subprocess sites.
QUICK_TESTS := tests/limpyd tests/flask tests/django --ignore=tests/django/test_conformance.py \
	tests/celery/test_task_eager.py tests/test_demo.py tests/test_readme.py \
	tests/test_optional_imports.py tests/e2e/test_linkboard_views.py

.DEFAULT_GOAL := help
.PHONY: help install demo quick test lint docs bench clean

## help: list these targets (the default goal)
help:
	@echo "Targets (first use creates $(VENV)/ with the suite and every extra installed):"
	@awk '/^## / { sub(/^## /, ""); name = $$0; sub(/:.*/, "", name); text = $$0; sub(/^[^:]*: /, "", text); printf "  make %-8s %s\n", name, text }' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(QUIET_PIP) -e '.[all,test]'
	touch $(STAMP)

# Django's own cache test suite also runs on the oldest supported Django (4.2 LTS).
$(DJ42_STAMP): pyproject.toml
	$(PYTHON) -m venv $(DJ42)
	$(DJ42)/bin/python -m pip install --quiet 'Django>=4.2,<4.3' 'redis>=5.0' 'fakeredis>=2.26' 'lupa>=2.0' 'msgpack>=1.0'
	touch $(DJ42_STAMP)

## install: create .venv/ (editable install, all extras and test tools) and .venv-django42/
install: $(STAMP) $(DJ42_STAMP)

## demo: the example Django site on the embedded memory:// engine (no Redis server needed)
demo: $(STAMP)
	$(PY) example_projects/django_site/demo.py

## quick: ruff, mypy, the core and asyncio tests on memory://, limpyd and the integrations on a real redis-server (about 2 minutes)
quick: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m pytest -q tests/core tests/asyncio -k "$(QUICK_CORE)"
	$(PY) -m pytest -q $(QUICK_TESTS)

## test: lint, type-check, then the whole suite against real servers (about 45 minutes on 2 cores)
test: $(STAMP) $(DJ42_STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m pytest

## lint: ruff (rules and formatting) and mypy --strict only
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

## docs: the documentation site (guides + API reference from the docstrings) into site/, zero warnings
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir site

## bench: every benchmark beside raw redis-py and the libraries it replaces (writes RESULTS.md)
bench: $(STAMP)
	$(QUIET_PIP) -e '.[all,test,bench]'
	$(PY) -m benchmarks.run

## clean: remove the venvs (.venv, .venv-django*, .venv-py3*), downloads (.cache), build output and tool caches
clean:
	rm -rf $(VENV) .venv-django* .venv-py3* .cache benchmarks/.upstream build dist site *.egg-info \
		.pytest_cache .mypy_cache .ruff_cache .hypothesis test-artifacts
