PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
PYTEST_RC ?=

.PHONY: install run test lint services-down i18n

install: $(STAMP) node_modules/.package-lock.json

# Reinstalled only when pyproject.toml is newer than the stamp.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e '.[test]'
	touch $@

# npm writes node_modules/.package-lock.json on every install: present means installed.
node_modules/.package-lock.json: package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

run: install
	$(PY) -m bokji.cli run

# One shell, so the eval'd variables reach pytest; pytest's exit code is the recipe's (make then exits 2),
# and is also written to $(PYTEST_RC) when set, for .ci/run.
test: install
	scripts/services.sh up
	eval "$$(scripts/services.sh env)" && $(PY) -m pytest -q tests $(PYTEST_ARGS); rc=$$?; \
	  if [ -n "$(PYTEST_RC)" ]; then echo $$rc > "$(PYTEST_RC)"; fi; exit $$rc

lint: install
	$(VENV)/bin/ruff check .

services-down:
	scripts/services.sh down

# The translation catalog: extract every message id (Python, templates, the library's forms), then
# update each language's .po (tests/test_i18n.py fails on a stale catalog or a missing Korean text).
i18n: install
	$(VENV)/bin/pybabel extract -F babel.cfg -k N_ --no-location --sort-output --omit-header -o locale/messages.pot .
	$(VENV)/bin/pybabel update -i locale/messages.pot -d locale --no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date
