"""Load benchmark: N simulated users asking /api/ask on the shared IOM corpus.

    python bench/load.py [--index-dir DIR] [--users 20] [--seconds 60]

Indexes the shared corpus into DIR (incremental: a second run reuses it), starts
`iom-assistant serve` on a free loopback port, measures one user alone (the
baseline), then N users at once for the given time, and prints requests served,
errors, p50/p95 latency (also as multiples of the one-user p50), requests/s and the
server's resident memory. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from evaluation.corpus import DEFAULT_CACHE

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
MAX_REQUESTS_PER_USER = 100_000

QUESTIONS = (
    "When did IOM organize the meeting of the Heads of Border Police in Budva?",
    "Which countries sent delegations to the meeting of the Heads of Border Police?",
    "Who funded the Western Balkans readmission capacity building projects?",
    "What is accountability to affected populations in IOM evaluations?",
    "What did the evaluation recommend about complaint and feedback mechanisms?",
    "How did IOM management respond to the accountability to affected populations evaluation?",
    "What are the main findings of the meta-evaluation of IOM evaluations 2020-2024?",
    "How many evaluations did the meta-evaluation review?",
    "What was the EU-IOM Joint Initiative in the Horn of Africa?",
    "How many migrants were assisted to return under the Joint Initiative in the Horn of Africa?",
    "What is the Human Trafficking Case Data Standard?",
    "Under which terms can the HTCDS be used?",
    "How does IOM support reintegration through international cooperation?",
    "What does the Missing Migrants Project record about each incident?",
    "What did the migration data strategy case study find in Asia-Pacific?",
    "Quel était l'objectif du dialogue binational entre Haïti et la République dominicaine ?",
    "How does migration relate to international protection in the HTCDS guidance?",
    "Which regional office led the migration data strategy case study?",
    "Who won the 2022 football World Cup?",
    "What is the boiling point of water on Mars?",
)


@dataclass
class Results:
    """Latencies (seconds) and failures of one phase."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def p(self, q: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process and its children, in MB."""
    try:
        import psutil
    except ImportError:
        status = Path(f"/proc/{pid}/status")
        if not status.exists():
            return None
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return None
    process = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 2**20


def ask_once(client: httpx.Client, question: str, results: Results) -> None:
    started = time.perf_counter()
    try:
        response = client.post("/api/ask", json={"question": question})
        ok = response.status_code == 200 and "answer" in response.json()
        error = None if ok else f"HTTP {response.status_code}: {response.text[:200]}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    elapsed = time.perf_counter() - started
    with results.lock:
        if error:
            results.errors.append(error)
        else:
            results.latencies.append(elapsed)


def user(base_url: str, offset: int, deadline: float, results: Results) -> None:
    with httpx.Client(base_url=base_url, timeout=120) as client:
        for i in range(MAX_REQUESTS_PER_USER):
            if time.monotonic() >= deadline:
                return
            ask_once(client, QUESTIONS[(offset + i) % len(QUESTIONS)], results)


def run_phase(base_url: str, users: int, seconds: float) -> Results:
    results = Results()
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=user, args=(base_url, n * 7, deadline, results)) for n in range(users)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.seconds = time.perf_counter() - started
    return results


def wait_healthy(base_url: str, server: subprocess.Popen[bytes], timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with code {server.returncode}")
        try:
            if httpx.get(f"{base_url}/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("the server did not become healthy in time")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index-dir", type=Path, default=Path(tempfile.gettempdir()) / "iom-bench-index")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--baseline-requests", type=int, default=len(QUESTIONS))
    args = parser.parse_args()
    if not 1 <= args.users <= 200 or not 1 <= args.seconds <= 3600:
        parser.error("--users must be 1..200 and --seconds 1..3600")

    env = {
        **os.environ,
        "IOM_ASSISTANT_INDEX_DIR": str(args.index_dir),
        "IOM_ASSISTANT_FEEDBACK_DB": str(args.index_dir / "bench-feedback.sqlite3"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    cli = [sys.executable, "-m", "assistant.cli"]
    started = time.perf_counter()
    subprocess.run([*cli, "ingest", str(args.corpus)], env=env, cwd=REPO, check=True)
    print(f"index ready in {time.perf_counter() - started:.0f} s ({args.index_dir})")

    port = free_port()
    base_url = f"http://{HOST}:{port}"
    server = subprocess.Popen(
        [*cli, "serve", "--host", HOST, "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_healthy(base_url, server)
        rss_idle = rss_mb(server.pid)
        with httpx.Client(base_url=base_url, timeout=120) as client:
            warm = Results()
            for question in QUESTIONS[:3]:
                ask_once(client, question, warm)
            single = Results()
            t0 = time.perf_counter()
            for i in range(args.baseline_requests):
                ask_once(client, QUESTIONS[i % len(QUESTIONS)], single)
            single.seconds = time.perf_counter() - t0
        loaded = run_phase(base_url, args.users, args.seconds)
        rss_loaded = rss_mb(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()

    base = single.p(0.5)
    served = len(loaded.latencies)
    print(f"\none user, {len(single.latencies)} requests in a row (baseline)")
    print(f"  p50 {base * 1000:.0f} ms   p95 {single.p(0.95) * 1000:.0f} ms   errors {len(single.errors)}")
    print(f"\n{args.users} users for {loaded.seconds:.0f} s")
    print(f"  requests served   {served}")
    print(f"  errors            {len(loaded.errors)}")
    print(f"  requests/s        {served / loaded.seconds:.2f}  (one user: {1 / base:.2f}/s)")
    print(f"  p50               {loaded.p(0.5) * 1000:.0f} ms  = {loaded.p(0.5) / base:.1f} x one-user p50")
    print(f"  p95               {loaded.p(0.95) * 1000:.0f} ms  = {loaded.p(0.95) / base:.1f} x one-user p50")
    print(f"  mean              {statistics.fmean(loaded.latencies) * 1000:.0f} ms" if served else "")
    if rss_idle is not None and rss_loaded is not None:
        print(f"  server RSS        {rss_idle:.0f} MB idle -> {rss_loaded:.0f} MB under load")
    for error in loaded.errors[:5]:
        print(f"  error: {error}")
    return 1 if loaded.errors or single.errors else 0


if __name__ == "__main__":
    sys.exit(main())
