# Everything runs from a project-local virtualenv; nothing relies on a hand-installed tool.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXAMPLE := examples/acme-saas/alignment.yaml
OUT    := build/acme-saas

.PHONY: demo test test-spark lint bench venv clean docs constraints

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test,lsp]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/alignctl validate $(EXAMPLE)
	$(BIN)/alignctl build $(EXAMPLE) --target all --out $(OUT)
	$(BIN)/alignctl score $(EXAMPLE) --leads examples/data/leads.csv \
	    --events examples/data/events.csv --as-of 2025-01-01T00:00:00 --out $(OUT)/scores.csv
	$(BIN)/alignctl report $(EXAMPLE) --leads examples/data/history/leads.csv \
	    --activities examples/data/history/activities.csv --from 2025-07-07 \
	    --out $(OUT)/report.html
	@echo
	@echo "Validated $(EXAMPLE); generated files are in $(OUT)/:"
	@echo "  $(OUT)/crm/      CRM field specs (Salesforce, HubSpot, EspoCRM)"
	@echo "  $(OUT)/scoring/  scoring.json, SQL per dialect, dbt package, mautic.json"
	@echo "  $(OUT)/docs/     Markdown docs and html/index.html"
	@echo "  $(OUT)/scores.csv  the bundled synthetic leads, scored"
	@echo "  $(OUT)/report.html the policy measured against 26 weeks of simulated history"
	@echo
	@$(BIN)/alignctl report $(EXAMPLE) --leads examples/data/history/leads.csv \
	    --activities examples/data/history/activities.csv --from 2025-07-07 --format summary

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python bench/validate_speed.py
	$(BIN)/python bench/large_policy.py
	$(BIN)/python bench/scoring_speed.py
	$(BIN)/python bench/lsp_latency.py
	$(BIN)/python bench/impact_speed.py
	$(BIN)/python bench/report_speed.py

test-spark: $(STAMP)
	$(BIN)/python -m pip install -q "pyspark>=3.5"
	ALIGNCTL_SPARK=1 $(BIN)/python -m pytest -m spark tests/test_scoring_spark.py

docs: $(STAMP)
	$(BIN)/python -m alignctl.docs_gen

constraints: $(STAMP)
	{ sed -n '1,3p' constraints.txt; $(BIN)/python -m pip freeze --exclude-editable \
	    | grep -v -i -E '^(alignctl|pyspark|py4j)'; } > constraints.new && mv constraints.new constraints.txt

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache
