# make test   - create .venv, install everything, lint, run the whole test suite
# make bench  - run the benchmarks and rewrite BENCHMARKS.md (make bench-scale: its "Scale",
#               make bench-fanout: its "Fan-out")
# make run    - the whole system locally: embedded AWS, API on http://127.0.0.1:8000
# make demo   - (while make run is up) place an order and follow it live
# make package - the deployable CloudFormation (SAM) template in dist/$(STAGE), offline
# make charts - draw each declared chart version once (Chromium + the vendored Mermaid)
#               into chalicelib/web/static/charts/, which the console fetches
.PHONY: charts
charts: install
	$(BIN)/python -m infra.charts

# make infra  - regenerate infra/resources.json (queues, subscriptions, IAM) from the registry
# make lint   - ruff check + format check
# one interpreter for the virtualenv, the tests, make run and the package: a Python that
# AWS Lambda runs (3.13, else 3.12; infra/lambda-python finds it or says what to install)
PYTHON ?= $(shell sh infra/lambda-python)
PYTHON_VERSION = $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
VENV := .venv
BIN := $(VENV)/bin
XSTATE := tests/statechart/xstate
BROWSER_TESTS := tests/browser
# the browser tests drive this Chromium (Debian's package; Playwright cannot download one here)
CHROMIUM ?= /usr/bin/chromium
export CHROMIUM


STAGE ?= dev
AWS_DEFAULT_REGION ?= us-east-1
export AWS_DEFAULT_REGION

.PHONY: test lint format bench install clean run demo package infra

# a virtualenv made by another interpreter (an older checkout's python3.11) is made anew
$(VENV)/.python-$(PYTHON_VERSION):
	@test -n "$(PYTHON)" || { sh infra/lambda-python; exit 1; }
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	touch $@

$(BIN)/.installed: requirements.txt requirements-dev.txt $(VENV)/.python-$(PYTHON_VERSION)
	$(BIN)/pip install --quiet --upgrade 'pip<26.3'  # chalice 1.34 packages with pip and requires pip<26.3
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

$(XSTATE)/node_modules/.installed: $(XSTATE)/package.json $(XSTATE)/package-lock.json
	cd $(XSTATE) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(BIN)/.installed $(XSTATE)/node_modules/.installed \
	$(BROWSER_TESTS)/node_modules/.installed $(CHROMIUM)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: install lint
	$(BIN)/python -m pytest -q -n auto --dist worksteal --durations=10

# the local stack starts new orders on the order chart's version 3 (each pizza a child
# workflow); a deploy starts them on ORDER_START_VERSION (1 until the rollout sets 3)
run: $(BIN)/.installed
	ORDER_START_VERSION=$(or $(ORDER_START_VERSION),3) $(BIN)/python -m local.stack $(ARGS)

demo: $(BIN)/.installed
	$(BIN)/python -m local.demo

package: $(BIN)/.installed
	@$(BIN)/python -c "import sys; sys.exit(sys.version_info < (3, 12) and 'refused: chalice packages for the interpreter it runs on, python%d.%d, a Lambda runtime AWS has deprecated; use python3.12 or 3.13 (make clean; make package PYTHON=...)' % sys.version_info[:2])"
	rm -rf dist/$(STAGE)
	$(BIN)/chalice package --stage $(STAGE) --merge-template infra/resources.json dist/$(STAGE)
	$(BIN)/python infra/finish.py dist/$(STAGE)/sam.json
	$(BIN)/python infra/precompile.py dist/$(STAGE)/deployment.zip
	$(BIN)/cfn-lint dist/$(STAGE)/sam.json
	@echo "dist/$(STAGE)/sam.json + deployment.zip: see README, Deploy to AWS"

# make infra - regenerate infra/resources.json from infra/base.json and the registry
infra: $(BIN)/.installed
	$(BIN)/python -m infra.generate

$(BIN)/.bench-installed: $(BIN)/.installed requirements-bench.txt
	$(BIN)/pip install --quiet -r requirements-bench.txt
	touch $@

bench: $(BIN)/.bench-installed
	$(BIN)/python -m bench.run

# make bench-scale - meter the order mix and rewrite BENCHMARKS.md's "Scale" (about a minute)
.PHONY: bench-scale
bench-scale: $(BIN)/.installed
	$(BIN)/python -m bench.scale

# make bench-fanout - an order of 1, 10 and 50 pizzas on order chart v3 (one pizza child
#                     workflow each) beside v1: AWS calls, write units, time and cost per
#                     million orders against Step Functions -> BENCHMARKS.md's "Fan-out"
.PHONY: bench-fanout
bench-fanout: $(BIN)/.installed
	$(BIN)/python -m bench.fanout $(ARGS)

clean:
	rm -rf $(VENV) $(XSTATE)/node_modules $(BROWSER_TESTS)/node_modules $(BROWSER_TESTS)/artifacts .pytest_cache .ruff_cache .hypothesis

# make conformance - the long run of random machines against XState (CONFORMANCE_MACHINES,
# CONFORMANCE_EVENTS, CONFORMANCE_SEED set its size and first seed)
CONFORMANCE_MACHINES ?= 20000
CONFORMANCE_EVENTS ?= 25
CONFORMANCE_SEED ?= 0
.PHONY: conformance
conformance: install
	$(BIN)/python -m tests.statechart.long_run --machines $(CONFORMANCE_MACHINES) \
		--events $(CONFORMANCE_EVENTS) --seed $(CONFORMANCE_SEED)

# make conformance-actors - random parent + children systems against XState's actor
# system for ACTOR_MINUTES (or ACTOR_SYSTEMS systems) on one core, from ACTOR_SEED
ACTOR_SYSTEMS ?= 100000
ACTOR_MINUTES ?= 20
ACTOR_SEED ?= 0
.PHONY: conformance-actors
conformance-actors: install
	$(BIN)/python -m tests.statechart.actor_long_run --systems $(ACTOR_SYSTEMS) \
		--minutes $(ACTOR_MINUTES) --seed $(ACTOR_SEED)

# make chaos  - the long randomized fault schedule (CHAOS_ORDERS=500, CHAOS_SEED=random,
#               CHAOS_DEPLOY=migrate|pinned|none: order chart v2 deployed part way,
#               CHAOS_PROFILE=default|money: what the actors do, tests/chaos/profiles.py)
.PHONY: chaos
chaos: $(BIN)/.installed
	$(BIN)/python -m tests.chaos.run

# make chaos-teeth - every rule family of the chaos checker fires: a short run of the real
#                    schedule per mutant of the runtime (tests/chaos/test_teeth.py; make test
#                    runs only the unmutated money run of it)
.PHONY: chaos-teeth
chaos-teeth: $(BIN)/.installed
	CHAOS_TEETH=1 $(BIN)/python -m pytest -q -p no:xdist -m chaos_teeth tests/chaos/test_teeth.py \
		tests/chaos/test_teeth_children.py

# the browser tests' dependencies: axe-core (npm) and a Chromium, installed with apt-get
# on Debian as root (CI), or named in a clear error otherwise
$(BROWSER_TESTS)/node_modules/.installed: $(BROWSER_TESTS)/package.json $(BROWSER_TESTS)/package-lock.json
	cd $(BROWSER_TESTS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
		echo "The browser tests need Chromium at $(CHROMIUM). Install Debian's chromium" \
			"(sudo apt-get install chromium) or run with CHROMIUM=<path of a Chromium>."; \
		exit 1; \
	fi
	@test -x $(CHROMIUM) || { echo "apt-get installed no Chromium at $(CHROMIUM)"; exit 1; }

# make browser-test - only the web console's tests in headless Chromium
.PHONY: browser-test bench-browser
browser-test: install
	$(BIN)/python -m pytest -q $(BROWSER_TESTS)

# make bench-browser - commit-to-screen latency and page load in the browser -> BENCHMARKS.md
bench-browser: install
	$(BIN)/python -m bench.browser

# make check-versions - replay stored histories against the registry's workflows before a
# deploy: the golden ones by default; VERSIONS_FROM= (empty) reads the table the
# environment configures (TABLE_NAME, AWS_ENDPOINT_URL); exits 1 on any divergence
VERSIONS_FROM ?= --files tests/versions/golden
.PHONY: check-versions
check-versions: $(BIN)/.installed
	$(BIN)/python -m chalicelib.runtime.entrypoints.check_versions check $(VERSIONS_FROM)
