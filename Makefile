# The two commands of the README: `make serve` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
# The CPU build of PyTorch; a loose `torch` would pull a multi-GB CUDA build.
TORCH  := torch==2.13.0
# llama.cpp for the LLM tests, built once without native CPU extensions: the -march=native
# build uses AMX instructions that this kind of virtual machine refuses (SIGSEGV/GPF).
LLAMA_VERSION := 0.3.36
LLAMA_WHEELS  ?= $(HOME)/.cache/iom-assistant/wheels/portable
LLAMA_CMAKE   := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
                 -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
HOST   ?= 127.0.0.1
PORT   ?= 7860

.PHONY: serve test install install-test nginx corpus encoder deploy-test lint clean

install: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet $(TORCH)
	$(PIP) install --quiet -e .
	touch $@

install-test: $(VENV)/.installed-test
$(VENV)/.installed-test: $(VENV)/.installed
	@ls $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || { \
	  echo "building llama-cpp-python $(LLAMA_VERSION) once (about 10 minutes)"; \
	  CMAKE_ARGS="$(LLAMA_CMAKE)" $(PIP) wheel --quiet --no-cache-dir --no-deps \
	    llama-cpp-python==$(LLAMA_VERSION) -w $(LLAMA_WHEELS); }
	$(PIP) install --quiet --force-reinstall --no-deps --no-index --find-links $(LLAMA_WHEELS) \
	  llama-cpp-python==$(LLAMA_VERSION)
	$(PIP) install --quiet --find-links $(LLAMA_WHEELS) -e '.[test]'
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium chromium-driver; }
	@command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq npm; }  # axe-core, for the a11y tests
	touch $@

# nginx for the deployment test (tests/test_deployment.py), from Debian like Chromium.
nginx:
	@[ -x /usr/sbin/nginx ] || { apt-get update -qq && apt-get install -y -qq nginx; }

# Set up, ingest corpus/ when it changed (incremental: nothing is embedded when it did not), serve the chat.
serve: install encoder
	$(BIN)/iom-assistant ingest
	$(BIN)/iom-assistant serve --host $(HOST) --port $(PORT)

# The ONNX encoder of EMBEDDING_MODEL that EMBEDDER_BACKEND runs (fp32 for onnx, the default;
# int8 for onnx-int8), exported once from the local weights into ENCODER_CACHE_DIR (the export needs
# torch; the server then never loads it). Ingest and serve also export it on first use, in a child
# process. Never downloads.
encoder: install
	$(BIN)/python -m assistant.onnx_encoder

# The evaluation documents of evaluation/corpus.lock.json, hash-checked, into ~/.cache/iom-assistant:
# from IOM_ASSISTANT_EVAL_CORPUS=DIR, else ../shared/corpus when it exists, else downloaded.
corpus: install
	$(BIN)/python -m evaluation.corpus $(if $(IOM_ASSISTANT_EVAL_CORPUS),--from $(IOM_ASSISTANT_EVAL_CORPUS))

# The checks that need no test run: lint, formatting, types and dead code (`make test` runs them first).
lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/vulture assistant ingest ui evaluation vulture_whitelist.py --min-confidence 60

test: lint nginx corpus encoder
	$(BIN)/python -m pytest

# The README's deployment at scale, run for real on loopback: chroma run, the ingest job, two
# replicas and nginx with deploy/nginx/iom-assistant.conf.template; a replica is killed and
# restarted and a document changed under load. Prints the figures (also in test-artifacts/deployment.json).
deploy-test: install-test nginx
	$(BIN)/python -m pytest tests/test_deployment.py -m deployment

clean:
	rm -rf $(VENV) .iom-index .iom-feedback.sqlite3 .iom-conversations.sqlite3* test-artifacts
