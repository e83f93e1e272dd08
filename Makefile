# The README's commands. The virtualenv is made on first use and refreshed when
# pyproject.toml or requirements.lock change.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1:8000

.PHONY: run dev data test lint typecheck bench messages

$(BIN)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	touch $@

run: $(BIN)/.installed data
	$(BIN)/python manage.py serve $(HOST)

# The development server with autoreload and DEBUG on (Django's debug pages), and the jobs.
dev: $(BIN)/.installed data
	$(BIN)/python manage.py qcluster & jobs="$$!"; \
	trap 'kill $$jobs 2>/dev/null' EXIT; \
	DEBUG=1 $(BIN)/python manage.py runserver $(HOST)

data: $(BIN)/.installed
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_calendar
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py load_demo_bookings
	$(BIN)/python manage.py load_demo_queues
	$(BIN)/python manage.py load_demo_priority
	$(BIN)/python manage.py load_demo_history

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(BIN)/.installed
	$(BIN)/mypy .

test: lint typecheck
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest

# Benchmarks run on PostgreSQL (and Redis for the rush): the local servers unless
# DATABASE_URL / REDIS_URL say otherwise.
bench: $(BIN)/.installed
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/bureau} $(BIN)/python -m tests.bench.deadlines
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/bureau} \
		REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/14} $(BIN)/python -W ignore -m tests.bench.rush
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/bureau} \
		REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/13} $(BIN)/python -W ignore -m tests.bench.queues
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/bureau} $(BIN)/python -m tests.bench.estimate
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/bureau} $(BIN)/python -W ignore -m tests.bench.priority
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/bureau} $(BIN)/python -W ignore -m tests.bench.dashboards

messages: $(BIN)/.installed
	$(BIN)/python manage.py makemessages --locale zh_Hans --ignore '.venv/*' --ignore 'tests/*' --no-obsolete
	$(BIN)/python manage.py compilemessages --locale zh_Hans --ignore '.venv/*'
