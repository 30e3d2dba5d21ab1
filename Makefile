# The two commands of the README: `make serve` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
# The CPU build of PyTorch; a loose `torch` would pull a multi-GB CUDA build.
TORCH  := torch==2.13.0
HOST   ?= 127.0.0.1
PORT   ?= 7860

.PHONY: serve test install install-test lint clean

install: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet $(TORCH)
	$(PIP) install --quiet -e .
	touch $@

install-test: $(VENV)/.installed-test
$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install --quiet -e '.[test]'
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium chromium-driver; }
	touch $@

# Set up, ingest corpus/ when it changed (incremental: nothing is embedded when it did not), serve the chat.
serve: install
	$(BIN)/iom-assistant ingest
	$(BIN)/iom-assistant serve --host $(HOST) --port $(PORT)

test: install-test
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .iom-index .iom-feedback.sqlite3 test-artifacts
