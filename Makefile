# Two commands on a machine with only Python 3.11+ and make:
#   make run    the app with a demo district on http://127.0.0.1:$(PORT) (SQLite, no services),
#               and the sweeps of celery beat in a second process (reminders in the console)
#   make test   the test suite (pass pytest arguments with ARGS="-k demo -x")
PYTHON ?= python3
PORT ?= 8000
ARGS ?=
# Production is the settings' default; every target here is development (README).
export DEBUG ?= 1
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py

.PHONY: run test lint migrations-check venv ci

# Links in emails point to the port served, unless SITE_URL is set in the environment.
run: export SITE_URL ?= http://127.0.0.1:$(PORT)
# Without Redis no beat runs: run_sweeps runs its schedule next to runserver. Both run in
# the background so that the shell's trap acts at once on Ctrl-C or a TERM sent to make
# alone, and kills both however the other ends; `<&0` keeps the terminal as runserver's
# stdin (breakpoint() works) where sh would give a background command /dev/null.
run: $(VENV)/.installed
	$(MANAGE) migrate --noinput
	$(MANAGE) load_demo
	@echo "Serving on http://127.0.0.1:$(PORT)/, links in emails to $$SITE_URL (Ctrl-C to stop)"
	@trap 'kill $$sweeps $$server 2>/dev/null; wait' EXIT; trap 'exit 130' INT TERM HUP; \
	$(MANAGE) run_sweeps & sweeps=$$!; \
	$(MANAGE) runserver 127.0.0.1:$(PORT) <&0 & server=$$!; \
	wait $$server

# pytest exits 5 when it collects no tests: that fails the build too.
test: $(VENV)/.installed-dev
	$(BIN)/pytest $(ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MANAGE) makemigrations --check --dry-run

migrations-check: $(VENV)/.installed-dev
	$(MANAGE) makemigrations --check --dry-run

# The virtualenv with the test and lint tools.
venv: $(VENV)/.installed-dev

ci:
	./.ci/run

# The district-sized benchmark of the background jobs (README "Performance"): needs
# PostgreSQL and redis-server on this machine; pass options with ARGS="--reuse".
.PHONY: bench
bench: $(VENV)/.installed-dev
	$(BIN)/python bench/district.py $(ARGS)

# The district-sized benchmark of the roster import (README "Performance"): writes a
# OneRoster export of 650 schools and 2,000,000 enrollments, imports it twice into its own
# PostgreSQL database; pass options with ARGS="--version 1.1" or ARGS="--reuse-export".
.PHONY: bench-roster
bench-roster: $(VENV)/.installed-dev
	$(BIN)/python bench/roster.py $(ARGS)

# Every page at district scale (README "Pages at district scale"): needs PostgreSQL and
# wrk (apt-get install wrk); pass options with ARGS="--role seca --regenerate".
.PHONY: bench-pages
bench-pages: $(VENV)/.installed-dev
	$(BIN)/python bench/pages.py $(ARGS)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "iepcoord needs Python 3.11 or newer as $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Stamp files: reinstall only when pyproject.toml is newer than the last install.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed
