# The two commands a newcomer needs: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
MANAGE := $(BIN)/python manage.py
TEST_ENV := DJANGO_SETTINGS_MODULE=setset.settings.test

.PHONY: run test worker install install-dev lint format clean-var

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Serves the site with the strategy and demo data loaded. With no configuration: SQLite and a
# Celery worker on the filesystem transport, started here and stopped with the server.
run: install
	@mkdir -p var/celery/queue var/celery/processed var/media
	$(MANAGE) migrate --noinput
	$(MANAGE) demo_setup
	@echo "Serving http://127.0.0.1:$(PORT)/"
	@trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/celery -A setset worker --beat --pool=solo --loglevel=WARNING \
	  --schedule=var/celerybeat-schedule & worker=$$!; \
	$(MANAGE) runserver 127.0.0.1:$(PORT) --noreload

# A Celery worker and beat for a configured deployment (DATABASE_URL, CELERY_BROKER_URL).
worker: install
	$(BIN)/celery -A setset worker --beat --loglevel=INFO

# The whole suite against PostgreSQL and Redis on 127.0.0.1.
test: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(TEST_ENV) $(MANAGE) check
	@mkdir -p var
	$(MANAGE) makemigrations --check --dry-run
	$(BIN)/pytest --create-db --numprocesses=2 --durations=15 $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
