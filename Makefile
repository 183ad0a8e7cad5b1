# Everything runs from a project-local virtualenv; nothing relies on a hand-installed tool.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXAMPLE := examples/acme-saas/alignment.yaml
OUT    := build/acme-saas

.PHONY: demo test lint bench venv clean docs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/alignctl validate $(EXAMPLE)
	@echo
	@echo "Validated $(EXAMPLE)."

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python bench/validate_speed.py

docs: $(STAMP)
	$(BIN)/python -m alignctl.docs_gen

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache
