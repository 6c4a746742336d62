# Everyday commands. `make help` lists them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SHARED ?= $(abspath ../shared)
CACHE ?= $(HOME)/.cache/landmark-nas
export LANDMARK_NAS_DATA ?= $(CACHE)/cifar10
export LANDMARK_NAS_BENCHMARK ?= $(SHARED)/benchmarks/nas-bench-201/nats-tss-200ep.csv
export LANDMARK_NAS_SHARED ?= $(SHARED)

.PHONY: help setup data compare test lint format bench clean

help:  ## list the everyday commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/landmark-nas: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(BIN)/landmark-nas  ## virtual environment with the CPU build of torch

$(LANDMARK_NAS_DATA)/cifar-10-batches-py/test_batch: | setup
	$(BIN)/python $(SHARED)/datasets/cifar10/prepare.py $(LANDMARK_NAS_DATA)

data: $(LANDMARK_NAS_DATA)/cifar-10-batches-py/test_batch  ## unpack CIFAR-10 from ../shared

compare: setup data  ## the main job: SPOS vs SPOS + landmarks on real data
	$(BIN)/landmark-nas compare --out runs/compare $(ARGS)

test: setup data  ## unit and integration tests (real data from ../shared)
	$(BIN)/python -m pytest -q

lint:  ## ruff lint and format check
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format:  ## apply ruff formatting and safe fixes
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

# The reference super-net (xautodl) lives in its own environment, never in the product's.
.venv-bench/bin/python:
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/pip install --quiet torch==2.13.0 numpy
	.venv-bench/bin/pip install --quiet --no-deps xautodl

bench: setup data .venv-bench/bin/python  ## super-net speed next to the xautodl reference
	$(BIN)/python benchmarks/speed.py $(ARGS)

clean:  ## remove run outputs (keeps the virtual environment)
	rm -rf runs .pytest_cache
