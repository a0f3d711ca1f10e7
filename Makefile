# vodgate: `make run` starts the gateway; `make test` runs the whole suite.
# Both install what they need on a fresh Debian machine (Debian packages, venv, pip, npm).
# `make test` runs ruff, lint-imports (the layers), mypy --strict and pytest.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := ffmpeg python3-venv python3-dev g++ libchromaprint-tools nodejs npm postgresql chromium fonts-wqy-microhei \
	fonts-noto-cjk fonts-arphic-ukai fonts-arphic-uming
JS_DIR := tests/e2e/js
PG_VERSION = $(shell ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)

.PHONY: run test lint typecheck pytest deps services s3-stop bench clean faults

run: deps
	$(BIN)/vodgate migrate
	$(BIN)/vodgate serve

test: deps services lint typecheck pytest

lint: deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile

typecheck: deps
	$(BIN)/mypy

pytest: deps services
	$(BIN)/pytest $(PYTEST_ARGS)

deps: .stamp-apt $(VENV)/.stamp-pip $(JS_DIR)/node_modules/.stamp-npm

# Debian packages, installed only when a command they provide is missing.
.stamp-apt:
	@missing=""; \
	command -v ffmpeg >/dev/null || missing="$$missing ffmpeg"; \
	command -v ffprobe >/dev/null || missing="$$missing ffmpeg"; \
	$(PYTHON) -m venv --help >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	command -v g++ >/dev/null || missing="$$missing g++"; \
	command -v fpcalc >/dev/null || missing="$$missing libchromaprint-tools"; \
	[ -f "$$($(PYTHON) -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/Python.h" ] || missing="$$missing python3-dev"; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	command -v pg_ctlcluster >/dev/null || missing="$$missing postgresql"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing="$$missing fonts-wqy-microhei"; \
	[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc ] || missing="$$missing fonts-noto-cjk"; \
	[ -f /usr/share/fonts/truetype/arphic/ukai.ttc ] || missing="$$missing fonts-arphic-ukai"; \
	[ -f /usr/share/fonts/truetype/arphic/uming.ttc ] || missing="$$missing fonts-arphic-uming"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	touch $@

$(VENV)/.stamp-pip: pyproject.toml scripts/install-deps | .stamp-apt
	PYTHON=$(PYTHON) bash scripts/install-deps $(VENV) --dev
	$(BIN)/pip install -q --no-deps -e .
	touch $@

$(JS_DIR)/node_modules/.stamp-npm: $(JS_DIR)/package.json $(JS_DIR)/package-lock.json | .stamp-apt
	cd $(JS_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# PostgreSQL for the scale-out tests: started when it is installed but not answering.
# Ceph RGW (the S3 server the delivery tests talk to): installed and started by its script.
services: .stamp-apt
	bash scripts/s3-server start >/dev/null
	@if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
	  echo "starting PostgreSQL $(PG_VERSION)"; \
	  $(SUDO) pg_ctlcluster --skip-systemctl-redirect $(PG_VERSION) main start; \
	  for i in $$(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; \
	fi

# The crash suite at every crash point (make test runs three of them); prints the counts.
faults: deps services
	VODGATE_FAULTS=all $(BIN)/pytest -s -q tests/faults $(PYTEST_ARGS)

s3-stop:
	bash scripts/s3-server stop

bench: deps
	$(BIN)/python bench/ingest.py --help

clean:
	rm -rf $(VENV) .stamp-apt $(JS_DIR)/node_modules .mypy_cache .ruff_cache .pytest_cache
