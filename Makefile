# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
# Both install the exact versions of uv.lock (uv sync --locked); `make lock` updates the lock file.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
UV := $(BIN)/uv
PYTEST_WORKERS ?= 4
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))

.PHONY: run test install install-dev lock lint imports typecheck pytest bench clean

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --inexact --quiet
	touch $@

$(VENV)/.installed-dev: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --inexact --quiet --extra dev
	touch $(VENV)/.installed $@

lock: | $(UV)
	$(UV) lock

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/aether up

lint: install-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

imports: install-dev
	$(BIN)/lint-imports

typecheck: install-dev
	$(BIN)/mypy

pytest: install-dev
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

test: lint imports typecheck pytest

bench: install-dev
	$(BIN)/python bench/queue.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
