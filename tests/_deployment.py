"""A real multi-replica deployment on loopback, for tests/test_deployment.py.

    chroma run  <──  iom-assistant ingest          (its own index folder: the manifest)
        ^
        ├── replica a: iom-assistant serve         (own index folder, as on its own host)
        └── replica b: iom-assistant serve
                 ^
               nginx, deploy/nginx/iom-assistant.conf.template rendered with these ports

Every process is a child of the test, on 127.0.0.1, with its files under one temporary folder;
`Deployment.close` ends them. `Load` drives questions through nginx from a few threads and
records when each one started, ended and how it went.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, free_port

HOST = "127.0.0.1"
PREFIX = "/assistant"  # the path nginx serves the app under (the template's locations)
TEMPLATE = REPO / "deploy" / "nginx" / "iom-assistant.conf.template"
NGINX = os.environ.get("IOM_TEST_NGINX", "/usr/sbin/nginx")
START_TIMEOUT_S = 240  # a replica loads torch, two encoders and Gradio; twice as slow as here
TEMPLATE_NAMES = ("IOM_LISTEN", "IOM_SERVER_NAME", "IOM_LOG_DIR", "IOM_REPLICA_1", "IOM_REPLICA_2")


def render_template(values: Mapping[str, str]) -> str:
    """The nginx template with its ${IOM_...} names filled in, as `envsubst` with their list does."""
    text = TEMPLATE.read_text(encoding="utf-8")
    missing = set(TEMPLATE_NAMES) - set(values)
    assert not missing, f"no value for {sorted(missing)}"
    for name in TEMPLATE_NAMES:
        text = text.replace("${" + name + "}", values[name])
    left = re.findall(r"\$\{IOM_[A-Z0-9_]+\}", text)
    assert not left, f"the template names {left}, which the test does not fill in"
    return text


def _main_config(root: Path, site: Path) -> str:
    """nginx's own main file for the test: pid, temporary files and logs under `root`, in the
    foreground, and the rendered site included in http {} as conf.d/ would be."""
    temp = root / "temp"
    temp.mkdir(exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp_paths = "".join(
        f"  {kind}_temp_path {temp}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}daemon off;\nworker_processes 1;\npid {root}/nginx.pid;\nerror_log {root}/error.log info;\n"
        "events { worker_connections 256; }\n"
        f"http {{\n{temp_paths}  include {site};\n}}\n"
    )


def _wait_for(url: str, process: subprocess.Popen[bytes], name: str, seconds: float, log: Path) -> float:
    """Seconds until `url` answers 200; fails the test (with the log's tail) if the process exits."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if process.poll() is not None:
            pytest.fail(f"{name} exited with {process.returncode}:\n{_tail(log)}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{name} did not answer {url} within {seconds:g} s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 30) -> str:
    if not log.exists():
        return "(no log)"
    return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


@dataclass
class Replica:
    """One `iom-assistant serve` process with its own index folder."""

    name: str
    port: int
    folder: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def log(self) -> Path:
        return self.folder / f"serve-{self.starts}.log"


@dataclass
class Deployment:
    """chroma run, the ingest job, two replicas and nginx (see the module docstring)."""

    root: Path
    corpus: Path
    chroma_port: int = field(default_factory=free_port)
    nginx_port: int = field(default_factory=free_port)
    replicas: dict[str, Replica] = field(default_factory=dict)
    _chroma: subprocess.Popen[bytes] | None = None
    _nginx: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        for name in ("a", "b"):
            folder = self.root / f"replica-{name}"
            folder.mkdir(parents=True, exist_ok=True)
            self.replicas[name] = Replica(name, free_port(), folder)

    @property
    def url(self) -> str:
        """The app's public address, through nginx."""
        return f"http://{HOST}:{self.nginx_port}{PREFIX}"

    @property
    def access_log(self) -> Path:
        return self.root / "nginx" / "iom-assistant.access.log"

    def environment(self, index_dir: Path) -> dict[str, str]:
        """What the README tells every replica and the ingest job to set."""
        clean = {k: v for k, v in os.environ.items() if not k.startswith("IOM_ASSISTANT_")}
        return clean | {
            "PYTHONPATH": str(REPO),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "IOM_ASSISTANT_CHROMA_HOST": HOST,
            "IOM_ASSISTANT_CHROMA_PORT": str(self.chroma_port),
            "IOM_ASSISTANT_INDEX_DIR": str(index_dir),
            "IOM_ASSISTANT_ROOT_PATH": PREFIX,
            "IOM_ASSISTANT_ALLOWED_HOSTS": HOST,  # the public name: nginx passes the client's Host
            "IOM_ASSISTANT_TRUSTED_PROXIES": HOST,  # nginx, as the replicas see it
            "IOM_ASSISTANT_FEEDBACK_SECRET": "deployment-test-secret",
            "IOM_ASSISTANT_FEEDBACK_DB": str(index_dir / "feedback.sqlite3"),
        }

    # -- chroma and ingest ------------------------------------------------------------------

    def start_chroma(self) -> None:
        chroma = Path(sys.executable).with_name("chroma")
        log = self.root / "chroma.log"
        with log.open("wb") as out:  # the child keeps its own copy of the descriptor
            self._chroma = subprocess.Popen(
                [str(chroma), "run", "--path", str(self.root / "chroma-data"), "--host", HOST,
                 "--port", str(self.chroma_port)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={"ANONYMIZED_TELEMETRY": "False", "PATH": "/usr/bin:/bin"},
            )  # fmt: skip
        url = f"http://{HOST}:{self.chroma_port}/api/v2/heartbeat"
        _wait_for(url, self._chroma, "chroma run", 60, log)

    def ingest(self) -> dict[str, object]:
        """`iom-assistant ingest --json` of the corpus, as the scheduled ingest job runs it."""
        import json

        folder = self.root / "ingest"
        result = subprocess.run(
            [sys.executable, "-m", "assistant.cli", "ingest", str(self.corpus), "--json", "--strict"],
            env=self.environment(folder),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        summary: dict[str, object] = json.loads(result.stdout)
        return summary

    # -- replicas ---------------------------------------------------------------------------

    def start_replica(self, name: str) -> None:
        """Start a replica's process; `wait_replica` waits until it serves."""
        replica = self.replicas[name]
        replica.starts += 1
        with replica.log.open("wb") as out:
            replica.process = subprocess.Popen(
                [sys.executable, "-m", "assistant.cli", "serve", "--host", HOST, "--port", str(replica.port)],
                env=self.environment(replica.folder),
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_replica(self, name: str) -> float:
        """Seconds until the replica answers its health check."""
        replica = self.replicas[name]
        assert replica.process is not None
        return _wait_for(
            f"{replica.url}/api/health", replica.process, f"replica {name}", START_TIMEOUT_S, replica.log
        )

    def kill_replica(self, name: str) -> None:
        """SIGKILL: no shutdown, no goodbye to open connections."""
        replica = self.replicas[name]
        assert replica.process is not None
        replica.process.send_signal(signal.SIGKILL)
        replica.process.wait(timeout=30)

    # -- nginx ------------------------------------------------------------------------------

    def start_nginx(self) -> None:
        if not Path(NGINX).exists():
            pytest.fail(f"nginx not found at {NGINX}: apt-get install nginx (or set IOM_TEST_NGINX)")
        folder = self.root / "nginx"
        folder.mkdir(exist_ok=True)
        site = folder / "iom-assistant.conf"
        site.write_text(
            render_template(
                {
                    "IOM_LISTEN": f"{HOST}:{self.nginx_port}",
                    "IOM_SERVER_NAME": HOST,
                    "IOM_LOG_DIR": str(folder),
                    "IOM_REPLICA_1": self.replicas["a"].address,
                    "IOM_REPLICA_2": self.replicas["b"].address,
                }
            ),
            encoding="utf-8",
        )
        main = folder / "nginx.conf"
        main.write_text(_main_config(folder, site), encoding="utf-8")
        log = folder / "error.log"
        check = subprocess.run(
            [NGINX, "-t", "-p", str(folder), "-c", str(main), "-e", str(log)], capture_output=True, text=True
        )
        assert check.returncode == 0, check.stderr
        self._nginx = subprocess.Popen(
            [NGINX, "-p", str(folder), "-c", str(main), "-e", str(log)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for(f"{self.url}/api/health", self._nginx, "nginx", 30, log)

    def upstreams(self, since_line: int = 0, wait_for: int = 0) -> list[str]:
        """The `upstream=` field of each access-log line from `since_line` on ("a", "b", "a,b"...);
        with `wait_for`, once that many lines are there (nginx logs a request once it has ended)."""
        deadline = time.monotonic() + 10
        while self.access_lines() - since_line < wait_for:
            assert time.monotonic() < deadline, f"fewer than {wait_for} requests in nginx's access log"
            time.sleep(0.1)
        names = {r.address: r.name for r in self.replicas.values()}
        found = []
        for line in self.access_log.read_text(encoding="utf-8").splitlines()[since_line:]:
            match = re.search(r"upstream=(.*?) upstream_status=", line)
            tried = [a.strip() for a in match.group(1).split(",")] if match else []
            found.append(",".join(names.get(a, a) for a in tried))
        return found

    def access_lines(self) -> int:
        return (
            len(self.access_log.read_text(encoding="utf-8").splitlines()) if self.access_log.exists() else 0
        )

    def close(self) -> None:
        """End every process this deployment started (nginx first, chroma last)."""
        processes = [self._nginx, *(r.process for r in self.replicas.values()), self._chroma]
        for process in processes:
            if process is not None and process.poll() is None:
                process.terminate()
        for process in processes:
            if process is None:
                continue
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)


@contextmanager
def deployment(root: Path, documents: Mapping[str, str]) -> Iterator[Deployment]:
    """A deployment over a corpus of the seed article and `documents` (name -> text)."""
    from tests.conftest import SEED

    corpus = root / "corpus"
    corpus.mkdir(parents=True)
    shutil.copy(SEED, corpus)
    for name, text in documents.items():
        (corpus / name).write_text(text, encoding="utf-8")
    cluster = Deployment(root=root, corpus=corpus)
    try:
        yield cluster
    finally:
        cluster.close()


# -- load ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One question asked through the load: when (monotonic seconds) and how it went."""

    started: float
    ended: float
    ok: bool
    detail: str  # the answer's first words, or the failure


class Load:
    """`users` threads asking questions in turn through `base_url` until stopped.

    Each request carries no cookie, as an API client's, so nginx spreads them over the replicas.
    """

    def __init__(self, base_url: str, questions: list[str], users: int) -> None:
        self.base_url = base_url
        self.questions = questions
        self.outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._user, args=(n,), daemon=True) for n in range(users)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)

    def _user(self, n: int) -> None:
        with httpx.Client(base_url=self.base_url, timeout=60) as client:
            turn = n
            while not self._stop.is_set():
                question = self.questions[turn % len(self.questions)]
                turn += 1
                started = time.monotonic()
                try:
                    response = client.post("/api/ask", json={"question": question})
                    ok = response.status_code == 200
                    detail = response.json()["answer"][:80] if ok else f"HTTP {response.status_code}"
                except (httpx.HTTPError, ValueError) as exc:
                    ok, detail = False, f"{type(exc).__name__}: {exc}"
                client.cookies.clear()
                with self._lock:
                    self.outcomes.append(Outcome(started, time.monotonic(), ok, detail))

    def between(self, start: float, end: float) -> list[Outcome]:
        """Outcomes of the questions asked in [start, end)."""
        with self._lock:
            return [o for o in self.outcomes if start <= o.started < end]

    def wait_answers(self, count: int, after: float, seconds: float) -> None:
        """Block until `count` questions asked after `after` have finished (or fail the test)."""
        deadline = time.monotonic() + seconds
        while len(self.between(after, float("inf"))) < count:
            if time.monotonic() > deadline:
                pytest.fail(f"fewer than {count} answers in {seconds:g} s through nginx")
            time.sleep(0.1)
