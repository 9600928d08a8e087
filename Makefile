# Every target a person runs. Each works on a fresh clone: all of them depend on `setup`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP := $(VENV)/.installed-stamp
# The pinned tools (ruff, openapi-python-client) must be the ones found on PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help setup lock update spec client check-generated unasync check-unasync lint typecheck unit propagation test demo bench acknowledge mock diff contract contract-live matrix recordings replay clean

LINT_PATHS = $(wildcard src tests contract_tests scripts bench)
PORT ?= 8765
PROVIDER ?= fal
BASE ?= HEAD
# pytest-xdist workers of `make unit` (auto: one per core)
JOBS ?= auto

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 20

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is required, found " + sys.version'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q "uv==$(UV_VERSION)"
	$(BIN)/uv pip sync -q -p $(PY) --require-hashes requirements.lock
	$(BIN)/uv pip install -q -p $(PY) --no-deps --no-build-isolation -e .
	touch $@

setup: $(STAMP) ## create .venv and install the project and its pinned tools (from requirements.lock)

lock: ## recompile requirements.lock from requirements.in (then commit both)
	test -x $(BIN)/uv || { $(PYTHON) -m venv $(VENV) && $(PY) -m pip install -q "uv==$(UV_VERSION)"; }
	$(BIN)/uv pip compile -q -p 3.11 --generate-hashes requirements.in -o requirements.lock

spec: setup ## sources -> merge -> overlays -> openapi/kontext.openapi.yaml and openapi/providers/
	$(BIN)/kontext-contract spec build

update: setup ## fetch fal's per-endpoint OpenAPI, check, apply, (YES=1: acknowledge), spec, client, diff; prints a PR summary
	$(BIN)/kontext-contract sources update $(if $(YES),--yes) $(if $(SUMMARY),--summary-md $(SUMMARY))

client: setup ## regenerate generated/ from the contract (openapi-python-client, pinned)
	$(BIN)/kontext-contract codegen generate

check-generated: setup ## fail if generated/ differs from a fresh regeneration
	$(BIN)/kontext-contract codegen check

acknowledge: setup ## accept the current merge disagreements into openapi/merge-acknowledged.yaml (review the diff!)
	$(BIN)/kontext-contract spec acknowledge

unasync: setup ## write the sync client (client/_client.py) from the async one (client/_async_client.py)
	$(PY) scripts/unasync_client.py

check-unasync: setup ## fail if client/_client.py is not what `make unasync` writes
	$(PY) scripts/unasync_client.py --check

lint: setup check-unasync ## ruff over hand-written code (and the sync client current)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

typecheck: setup ## mypy --strict over hand-written and generated code
	$(BIN)/mypy --strict src generated/kontext_api $(wildcard contract_tests)

unit: setup ## the pytest suite (without the propagation suite), on JOBS workers (pytest-xdist; default auto)
	$(BIN)/pytest -q -n $(JOBS) --ignore=tests/propagation

propagation: setup ## each kind of contract change, as an overlay in a copy of the project, reaches every consumer
	$(BIN)/pytest -q tests/propagation

contract: setup ## the contract suite (contract_tests/) against the embedded mock; HYPOTHESIS_PROFILE=ci|demo|deep|live
	mkdir -p reports
	HYPOTHESIS_PROFILE=$${HYPOTHESIS_PROFILE:-ci} $(BIN)/pytest contract_tests -q -p no:cacheprovider \
	  --junitxml=reports/contract-junit.xml

contract-live: setup ## the contract suite against a live provider (PROVIDER=fal|relay-a|chainhub|relay-b; needs its key, else exit 2; KONTEXT_LIVE=optional skips; costs money)
	mkdir -p reports
	KONTEXT_LIVE=$${KONTEXT_LIVE:-1} KONTEXT_LIVE_PROVIDER=$(PROVIDER) HYPOTHESIS_PROFILE=live $(BIN)/pytest contract_tests -q -p no:cacheprovider \
	  -m live --junitxml=reports/contract-live-junit.xml

test: setup ## everything CI runs: contract up to date, generated/ current, lint, types, tests, contract suite
	$(BIN)/kontext-contract spec check
	$(MAKE) --no-print-directory check-generated lint typecheck
	@echo "unit, propagation and contract side by side (make -j3); each one's output comes when it ends"
	$(MAKE) --no-print-directory -j3 --output-sync=target unit propagation contract

demo: setup ## the main job: build the contract from the five documents, verify the client, print a summary
	$(BIN)/kontext-contract demo

# `make diff` exits as `kontext-contract diff` does: 0 no breaking change, 1 breaking, 2 usage or bad ref.
# A failing recipe always makes GNU make exit 2, so when diff is the only goal the command runs while the
# Makefile is read and its status picks make's own: 1 by question mode (`make -q` exits 1 when a target
# is out of date, and runs no recipe), 2 by $(error). With other goals (`make spec diff`) the recipe runs
# and a breaking change exits 2.
ifeq ($(MAKECMDGOALS),diff)
DIFF_OUT := $(shell mktemp)
DIFF_STATUS := $(shell status=0; { $(MAKE) --no-print-directory spec $(MAKEOVERRIDES) && $(BIN)/kontext-contract diff --base "$(BASE)"; } > $(DIFF_OUT) || status=$$?; echo $$status)
$(info $(file < $(DIFF_OUT)))
$(shell rm -f $(DIFF_OUT))
ifeq ($(DIFF_STATUS),1)
$(info make diff: BREAKING changes since $(BASE) (exit 1))
MAKEFLAGS += -q
else ifneq ($(DIFF_STATUS),0)
$(error make diff: usage error, bad ref or a failed build (kontext-contract diff exit $(DIFF_STATUS)))
endif
diff: ## rebuild the contract, then classify its changes since BASE (a git ref, default HEAD); exit 1 on breaking ones, 2 on a bad ref
	@echo "make diff: no breaking change since $(BASE)"
else
diff: spec
	@$(BIN)/kontext-contract diff --base "$(BASE)"
endif

RECORDINGS ?=
RELAYS ?=
matrix: setup ## the checks against the mock's emulation of each provider -> docs/compatibility.md + README; RECORDINGS=dir: from recordings -> reports/; RELAYS=relays.yaml adds live relays
	mkdir -p reports
	@if [ -n "$(RECORDINGS)$(RELAYS)" ]; then \
	  $(BIN)/kontext-contract matrix $(if $(RECORDINGS),--recordings $(RECORDINGS)) $(if $(RELAYS),--relays $(RELAYS)) \
	    --report-md reports/compatibility.md --report-html reports/compatibility.html; \
	else \
	  $(BIN)/kontext-contract matrix --report-md docs/compatibility.md --report-html reports/compatibility.html && \
	  $(PY) scripts/embed_matrix.py README.md docs/compatibility.md; \
	fi

recordings: setup ## re-record recordings/mock/*.har: every check against each of the mock's provider profiles (check --record)
	for p in fal relay-a chainhub relay-b; do \
	  $(BIN)/kontext-contract check --provider $$p --no-progress --record recordings/mock/$$p.har >/dev/null || test $$? -eq 1; \
	done

replay: setup ## replay every committed recording against the current contract; exit 1 when a verdict turned (the CI job of docs/contract-tests.md)
	mkdir -p reports
	status=0; for f in recordings/*/*.har; do \
	  n=$$(basename "$$f" .har); \
	  $(BIN)/kontext-contract check --replay "$$f" --fail-on-turn --report-md "reports/replay-$$n.md" \
	    --report-html "reports/replay-$$n.html" --junit "reports/replay-$$n.xml" || status=1; \
	done; exit $$status

mock: setup ## serve the stateful mock on 127.0.0.1:$(PORT) (PROVIDER=fal|relay-a|chainhub|relay-b)
	$(BIN)/kontext-contract mock --host 127.0.0.1 --port $(PORT) --provider $(PROVIDER)

bench: setup ## benchmarks (bench/bench_*.py), each printing side-by-side ratios
	for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b; done

clean: ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
