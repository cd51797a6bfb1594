# Everyday verbs. `make run` and `make test` work on a fresh clone: the first
# target that needs the virtualenv creates it and installs requirements-dev.txt.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-ec2.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.DEFAULT_GOAL := help
.PHONY: help install run test lint format typecheck pytest indexes clean
.PHONY: serve bench

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-ec2.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP) ## create .venv and install the pinned dependencies

run: $(STAMP) ## serve the API on 127.0.0.1:$PORT (default 8000) with the embedded defaults
	@# The embedded database starts empty, so files from an earlier run would be orphans.
	@if [ -z "$$MONGODB_URI" ] && [ -z "$$DATA_DIR" ]; then rm -rf .data; fi
	$(BIN)/chalice local --host 127.0.0.1 --port $(PORT) --stage dev --no-autoreload

test: lint typecheck pytest ## ruff, mypy and pytest; fails on any finding

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP) ## mypy --strict
	$(BIN)/mypy

pytest: $(STAMP) ## the test suite (exit 5, "no tests collected", counts as a failure)
	@$(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the suite is missing" >&2; exit 1; fi; \
	exit $$rc

indexes: $(STAMP) ## create the MongoDB indexes declared in chalicelib/db.py (idempotent)
	$(BIN)/python -m chalicelib.manage indexes

clean: ## remove the virtualenv, caches and local data
	rm -rf $(VENV) .data build .mypy_cache .ruff_cache .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

serve: $(STAMP) ## the production server locally: gunicorn + the EC2 shim on 127.0.0.1:$PORT
	@if [ -z "$$MONGODB_URI" ] && [ -z "$$DATA_DIR" ]; then rm -rf .data; fi
	$(BIN)/gunicorn -c ec2/gunicorn.conf.py --bind 127.0.0.1:$(PORT) ec2.wsgi:application

bench: $(STAMP) ## req/s of the shim against bare WSGI and Flask under the same gunicorn (needs wrk)
	$(BIN)/python -m bench.shim
