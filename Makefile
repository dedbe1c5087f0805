# Jongerenloket: `make run` to chat in a browser, `make test` for the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test lint typecheck pytest bench clean

$(STAMP): pyproject.toml package.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	command -v chromium || (apt-get update && apt-get install -y chromium)
	command -v npm || (apt-get update && apt-get install -y npm)
	npm install --no-audit --no-fund
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/jongerenloket db upgrade
	$(BIN)/jongerenloket coach demo
	$(BIN)/jongerenloket serve

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy bot flows nlu data coach_console

pytest: install
	$(BIN)/pytest -q

test: lint typecheck pytest

bench: install
	$(BIN)/python bench/turns.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache node_modules
