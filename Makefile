# The two commands of the README's quick start are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DJ42 := .venv-django42
DJ42_STAMP := $(DJ42)/.installed

.PHONY: demo test lint bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[all,test]'
	touch $(STAMP)

# Django's own cache test suite also runs on the oldest supported Django (4.2 LTS).
$(DJ42_STAMP): pyproject.toml
	$(PYTHON) -m venv $(DJ42)
	$(DJ42)/bin/python -m pip install --quiet 'Django>=4.2,<4.3' 'redis>=5.0' 'fakeredis>=2.26' 'lupa>=2.0' 'msgpack>=1.0'
	touch $(DJ42_STAMP)

install: $(STAMP) $(DJ42_STAMP)

## demo: the example Django site on the embedded memory:// engine (no Redis server needed)
demo: $(STAMP)
	$(PY) example_projects/django_site/demo.py

## test: lint, type-check, then the whole suite against a real redis-server the fixture starts
test: $(STAMP) $(DJ42_STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy

## bench: every benchmark beside raw redis-py and the libraries it replaces (writes RESULTS.md)
bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[all,test,bench]'
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) build *.egg-info
