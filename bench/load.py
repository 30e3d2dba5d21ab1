"""Load benchmark: simulated users asking /api/ask of one `iom-assistant serve` process.

    python bench/load.py [--corpus DIR] [--index-dir DIR] [--users 20] [--seconds 60] [--paced]

Indexes the corpus into DIR (incremental: a second run reuses it), starts `iom-assistant serve`
on a free loopback port and measures, as ratios against one user asking alone in the same run
(the baseline):
- N users asking back to back for the given time: requests served, errors, p50/p95 latency,
  requests/s, the server's resident memory;
- answers per CPU-second of the server process (its user + system time from /proc, read from
  outside), alone and under load;
- with --paced, realistic pacing: each user asks about every 20 s, at random (exponential
  spacing), and the search for the largest number of users the process serves with p95 under 2 s
  (levels grow or shrink by half, then bisect).
Only 127.0.0.1 is ever contacted. Quick, on the seed article (a few minutes):
    python bench/load.py --corpus corpus --users 8 --seconds 20 --paced
On the shared corpus (`make corpus` fills the default --corpus):
    python bench/load.py --paced
"""

from __future__ import annotations

import argparse
import os
import random
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


def run_users(threads: list[threading.Thread], results: Results) -> Results:
    """Start the simulated users, wait for all, and note how long they took."""
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.seconds = time.perf_counter() - started
    return results


def run_phase(base_url: str, users: int, seconds: float) -> Results:
    results = Results()
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=user, args=(base_url, n * 7, deadline, results)) for n in range(users)]
    return run_users(threads, results)


PACE_S = 20.0  # a paced user asks about this often
P95_TARGET_S = 2.0


def paced_user(base_url: str, offset: int, seconds: float, seed: int, results: Results) -> None:
    """Questions at random moments, about every PACE_S seconds (exponential gaps, so each user is
    a Poisson process from the start); a user waits for an answer before asking again."""
    rng = random.Random(seed)
    started = time.monotonic()
    due = started + rng.expovariate(1 / PACE_S)
    with httpx.Client(base_url=base_url, timeout=120) as client:
        for i in range(MAX_REQUESTS_PER_USER):
            if due >= started + seconds:
                return
            time.sleep(max(0.0, due - time.monotonic()))
            ask_once(client, QUESTIONS[(offset + i) % len(QUESTIONS)], results)
            due = max(due + rng.expovariate(1 / PACE_S), time.monotonic())


def run_paced(base_url: str, users: int, seconds: float, seed: int) -> Results:
    results = Results()
    threads = [
        threading.Thread(target=paced_user, args=(base_url, n * 7, seconds, seed * 100_003 + n, results))
        for n in range(users)
    ]
    return run_users(threads, results)


@dataclass
class Level:
    """One paced run: how many users, and how it went."""

    users: int
    results: Results
    cpu_s: float

    @property
    def passed(self) -> bool:
        return not self.results.errors and self.results.p(0.95) < P95_TARGET_S


def paced_search(base_url: str, pid: int, first_guess: int, args: argparse.Namespace) -> list[Level]:
    """Levels of paced users until the largest one with p95 under P95_TARGET_S is pinned down to
    about 10%: from a first guess, up or down by half until one passes and one fails, then bisect."""
    levels: list[Level] = []
    best, worst = 0, args.paced_max_users + 1  # most users passed, fewest failed
    users = max(1, min(first_guess, args.paced_max_users))
    while len(levels) < args.paced_levels:
        # enough questions for a p95: about 60 at the level's rate, within the time allowed
        seconds = min(args.paced_seconds * 4, max(args.paced_seconds, 60 * PACE_S / users))
        cpu = cpu_seconds(pid)
        results = run_paced(base_url, users, seconds, args.seed + len(levels))
        level = Level(users, results, cpu_seconds(pid) - cpu)
        levels.append(level)
        print(f"  {users:5d} users {seconds:4.0f} s: {len(results.latencies):4d} answered, "
              f"p95 {results.p(0.95) * 1000:5.0f} ms, errors {len(results.errors)}"
              f" -> {'under' if level.passed else 'over'} {P95_TARGET_S:g} s", flush=True)  # fmt: skip
        if level.passed:
            best = max(best, users)
        else:
            worst = min(worst, users)
        if worst > args.paced_max_users and best >= args.paced_max_users:
            break  # passes at the most users asked for
        if worst <= args.paced_max_users and best and worst - best <= max(1, best // 10):
            break
        if worst > args.paced_max_users:
            users = min(args.paced_max_users, best + max(1, best // 2))
        elif not best:
            users = max(1, worst * 2 // 3) if worst > 1 else 0
            if not users:
                break
        else:
            users = (best + worst) // 2
    return levels


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
    parser.add_argument("--index-dir", type=Path, help="default: a folder per corpus in the temp folder")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--users", type=int, default=20, help="users asking back to back (0: none)")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--baseline-requests", type=int, default=len(QUESTIONS))
    parser.add_argument("--paced", action="store_true", help="find how many paced users p95 < 2 s allows")
    parser.add_argument("--paced-seconds", type=float, default=30.0, help="shortest run of one paced level")
    parser.add_argument("--paced-levels", type=int, default=7, help="most paced levels to run")
    parser.add_argument("--paced-max-users", type=int, default=600)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    if not 0 <= args.users <= 200 or not 1 <= args.seconds <= 3600:
        parser.error("--users must be 0..200 and --seconds 1..3600")
    if not 1 <= args.paced_max_users <= 2000 or not 1 <= args.paced_levels <= 20:
        parser.error("--paced-max-users must be 1..2000 and --paced-levels 1..20")
    corpus = args.corpus.resolve()
    index_dir = args.index_dir or Path(tempfile.gettempdir()) / f"iom-bench-index-{corpus.name}"

    env = {
        **os.environ,
        "IOM_ASSISTANT_INDEX_DIR": str(index_dir),
        "IOM_ASSISTANT_FEEDBACK_DB": str(index_dir / "bench-feedback.sqlite3"),
        # every simulated user comes from 127.0.0.1: one "client" to the per-client limit
        "IOM_ASSISTANT_MAX_QUESTIONS_PER_CLIENT": "1000",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    cli = [sys.executable, "-m", "assistant.cli"]
    started = time.perf_counter()
    subprocess.run([*cli, "ingest", str(corpus)], env=env, cwd=REPO, check=True)
    print(f"index ready in {time.perf_counter() - started:.0f} s ({index_dir})")

    port = free_port()
    base_url = f"http://{HOST}:{port}"
    server = subprocess.Popen(
        [*cli, "serve", "--host", HOST, "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    loaded = Results()
    levels: list[Level] = []
    try:
        wait_healthy(base_url, server)
        rss_idle = rss_mb(server.pid)
        with httpx.Client(base_url=base_url, timeout=120) as client:
            warm = Results()
            for question in QUESTIONS[:3]:
                ask_once(client, question, warm)
            single = Results()
            cpu = cpu_seconds(server.pid)
            t0 = time.perf_counter()
            for i in range(args.baseline_requests):
                ask_once(client, QUESTIONS[i % len(QUESTIONS)], single)
            single.seconds = time.perf_counter() - t0
            single_cpu = cpu_seconds(server.pid) - cpu
        base = single.p(0.5)
        per_cpu_single = len(single.latencies) / single_cpu if single_cpu else float("nan")
        print(f"\none user, {len(single.latencies)} requests in a row (baseline)")
        p95 = single.p(0.95)
        print(f"  p50 {base * 1000:.0f} ms   p95 {p95 * 1000:.0f} ms   errors {len(single.errors)}")
        print(f"  answers per CPU-second  {per_cpu_single:.2f}  ({single_cpu:.1f} CPU-s of the server)")

        if args.users:
            cpu = cpu_seconds(server.pid)
            loaded = run_phase(base_url, args.users, args.seconds)
            loaded_cpu = cpu_seconds(server.pid) - cpu
            rss_loaded = rss_mb(server.pid)
            report_loaded(args.users, loaded, base, loaded_cpu, per_cpu_single)
            if rss_idle is not None and rss_loaded is not None:
                print(f"  server RSS        {rss_idle:.0f} MB idle -> {rss_loaded:.0f} MB under load")

        if args.paced:
            # first guess: 60% of the answers per second the server gave back to back (or alone)
            rate = len(loaded.latencies) / loaded.seconds if loaded.latencies else 1 / base
            guess = max(1, round(0.6 * rate * PACE_S))
            print(f"\npaced users, each asking about every {PACE_S:g} s (exponential spacing); from {guess}")
            levels = paced_search(base_url, server.pid, guess, args)
            report_paced(levels, base, per_cpu_single)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    failed = single.errors or loaded.errors
    return 1 if failed else 0


def report_loaded(users: int, loaded: Results, base: float, cpu_s: float, per_cpu_single: float) -> None:
    served = len(loaded.latencies)
    per_cpu = served / cpu_s if cpu_s else float("nan")
    print(f"\n{users} users back to back for {loaded.seconds:.0f} s")
    print(f"  requests served   {served}")
    print(f"  errors            {len(loaded.errors)}")
    print(f"  requests/s        {served / loaded.seconds:.2f}  (one user: {1 / base:.2f}/s)")
    print_latencies(loaded, base)
    if served:
        print(f"  mean              {statistics.fmean(loaded.latencies) * 1000:.0f} ms")
    print(f"  answers per CPU-s {per_cpu:.2f}  = {per_cpu / per_cpu_single:.2f} x one user's")
    for error in loaded.errors[:5]:
        print(f"  error: {error}")


def print_latencies(results: Results, base: float) -> None:
    for name, q in (("p50", 0.5), ("p95", 0.95)):
        value = results.p(q)
        print(f"  {name}               {value * 1000:.0f} ms  = {value / base:.1f} x one-user p50")


def report_paced(levels: list[Level], base: float, per_cpu_single: float) -> None:
    passed = [level for level in levels if level.passed]
    if not passed:
        print(f"  no level of paced users had p95 under {P95_TARGET_S:g} s")
        return
    best = max(passed, key=lambda level: level.users)
    results = best.results
    rate = len(results.latencies) / results.seconds
    per_cpu = len(results.latencies) / best.cpu_s if best.cpu_s else float("nan")
    print(f"\nlargest number of paced users one process serves at p95 < {P95_TARGET_S:g} s: {best.users}")
    print(f"  questions/s       {rate:.2f}  = {rate * base:.1f} x one user asking back to back")
    print_latencies(results, base)
    print(f"  answers per CPU-s {per_cpu:.2f}  = {per_cpu / per_cpu_single:.2f} x one user's")


if __name__ == "__main__":
    sys.exit(main())
