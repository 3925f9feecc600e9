# Two commands set everything up on a fresh machine: `make serve` and `make test`.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SERVE_STAMP := $(VENV)/.installed-serve
# Lambda runs Python 3.12: prefer it, fall back to any python3 >= 3.11.
PYTHON ?= $(shell for p in python3.12 $(HOME)/.pyenv/versions/3.12*/bin/python3.12 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then echo $$p; break; fi; done)
PORT ?= 8080
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export NO_MKDOCS_2_WARNING := 1

.PHONY: install serve test unit lint typecheck bench faults synth clean loadtest lock lambda-wheels docs

# The virtualenv with the project and one extra ($(1)), then its stamp ($(2)).
define venv_install
	@test -n "$(PYTHON)" || { echo "error: Python >= 3.11 not found" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip 2>&1 | grep -v 'is ignored' || true
	set -o pipefail; $(BIN)/python -m pip install --quiet -e '.[$(1)]' 2>&1 | { grep -v 'is ignored' || true; }
	touch $(2)
endef

install: $(STAMP)

# Everything (`make test`): the extras and the development tools.
$(STAMP): pyproject.toml
	$(call venv_install,dev,$(STAMP))

# What serving needs, no more: the embedded stack (the `local` extra).
$(SERVE_STAMP): pyproject.toml
	$(call venv_install,local,$(SERVE_STAMP))

serve: $(SERVE_STAMP)
	$(BIN)/lakegate serve --port $(PORT)

# The documentation site (mkdocs.yml, docs/) into site/, strictly: a broken link fails.
docs: install
	$(BIN)/mkdocs build --strict --quiet
	@echo "built site/ (open site/index.html)"

# Formatting, lint, types, the import contracts, the documentation site (strictly, into a
# scratch directory), then every test. Without nginx the local-edge tests are skipped, and
# without Chromium the browser test (one line each says how to install them), unless
# CI=true, LAKEGATE_REQUIRE_EDGE=1 or LAKEGATE_REQUIRE_BROWSER=1 makes that a failure.
test: lint typecheck
	$(BIN)/mkdocs build --strict --quiet --site-dir "$$(mktemp -d)"
	$(BIN)/python -m pytest -n 2 --dist loadfile

# Formatting, lint rules and the import contracts (handler/ above cache/, …).
lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

# The fast tests alone: no servers, subprocesses or CDK synth (tests/conftest.py marks those
# slow), and a tenth of the property-test examples.
unit: install
	$(BIN)/python -m pytest -n 2 -m 'not slow' --hypothesis-profile=unit

# Every section, or one: make bench SECTION=handler (python -m tools.bench --help names them).
bench: install
	$(BIN)/python -m tools.bench $(if $(SECTION),--section $(SECTION))

# Every warehouse fault against no entry, a fresh and a stale entry (tools/faults.py).
faults: install
	$(BIN)/python -m tools.faults

# A Locust scenario against the embedded stack (or HOST), report under reports/:
#   make loadtest SCENARIO=brownout USERS=30 DURATION=60 EDGE=1
loadtest: install
	$(BIN)/lakegate loadtest --scenario $(or $(SCENARIO),steady) \
		$(if $(HOST),--host $(HOST)) $(if $(USERS),--users $(USERS)) \
		$(if $(DURATION),--duration $(DURATION)) $(if $(EDGE),--edge)

# Synthesise the CDK app offline (no AWS credentials, no Docker) into ./cdk.out/.
# Another environment: make synth LAKEGATE_ENV=prod
synth: install
	rm -rf cdk.out
	cd cdk && CDK_OUTDIR=../cdk.out CDK_CONTEXT_JSON='{"env": "$(or $(LAKEGATE_ENV),dev)"}' \
		../$(BIN)/python app.py
	@echo "synthesised $(or $(LAKEGATE_ENV),dev) into cdk.out/"

# An environment with `lambda.packaging: zip` (SnapStart) bundles its package offline at
# synth from these: the locked wheels for Lambda's arm64 Python 3.12, from PyPI, into
# build/lambda-wheels/ (cdk/lakegate_cdk/packaging.py). Once per lock; never in `make test`.
lambda-wheels: install
	$(BIN)/python -m lakegate_cdk.packaging download

clean:
	rm -rf $(VENV) cdk.out reports site .pytest_cache .mypy_cache .ruff_cache .hypothesis

# The Lambda images' inputs, pinned: dependencies with hashes (uv, for Lambda's arm64
# Python 3.12: the API's from pyproject's [project.dependencies] and `lambda` extra, the edge rules writer's
# from cdk/rules_writer/requirements.in) and the base image by digest.
# The digest needs Docker (or any registry client); without it the pinned one stays.
LAMBDA_BASE := public.ecr.aws/lambda/python:3.12
lock: install
	$(BIN)/uv pip compile pyproject.toml --extra lambda --quiet --generate-hashes --no-header \
		--python-version 3.12 --python-platform aarch64-manylinux_2_28 \
		--output-file cdk/lambda/requirements.lock
	$(BIN)/uv pip compile cdk/rules_writer/requirements.in --quiet --generate-hashes --no-header \
		--python-version 3.12 --python-platform aarch64-manylinux_2_28 \
		--output-file cdk/rules_writer/requirements.lock
	@if command -v docker >/dev/null 2>&1; then \
		digest=$$(docker buildx imagetools inspect $(LAMBDA_BASE) --format '{{json .Manifest.Digest}}' | tr -d '"'); \
		sed -i -E "s|^FROM $(LAMBDA_BASE)(@sha256:[0-9a-f]+)?|FROM $(LAMBDA_BASE)@$$digest|" \
			cdk/lambda/Dockerfile cdk/rules_writer/Dockerfile; \
		echo "base image pinned to $$digest"; \
	else echo "docker not found: the base image digests in the Dockerfiles are unchanged" >&2; fi
