"""What the recording proxy costs a request: direct to the fake upstream vs through `creditgauge proxy` vs through
LiteLLM's proxy, same fake upstream, same machine, same run.

    .venv/bin/python benchmarks/proxy_overhead.py [--requests 2000] [--rounds 5] [--no-litellm]

Every server runs in its own process (fake upstream, our proxy with its SQLite store and journal, LiteLLM); this
process is the aiohttp load generator. Reported: median and p99 latency and the latency each proxy adds at
concurrency 1 and 32, requests per second, time to first byte of a stream, peak memory (VmHWM) of each proxy, the
CPU each process spends per request at concurrency 32, and the upstream-client comparison (aiohttp vs httpx vs
httpx2 at concurrency 32) behind the proxy's choice of aiohttp. LiteLLM is installed on first use into
benchmarks/.venv-litellm (about 50 s, 740 MB), never into ours;
see ../shared/PEERS.md for running it offline.

The concurrency-32 runs are interleaved rounds (direct, ours, LiteLLM, direct, ...) and each path's median round
is reported: on this 2-core virtual machine the same run can differ by a third from one minute to the next, and a
ratio of two runs taken a minute apart measured that drift more than the proxies.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp

HERE = Path(__file__).resolve().parent
LITELLM_VENV = HERE / ".venv-litellm"
KEY = "sk-bench-0000000000000000000000"
MASTER_KEY = "sk-litellm-bench-master-key-0000"
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Where is my order?"}], "max_tokens": 16}
STREAM_BODY = {**BODY, "stream": True, "stream_options": {"include_usage": True}}
GOALS = {"added_median_ms_c1": 1.0, "x_litellm_c32": 25.0, "share_of_direct_c32": 0.35}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 120.0, process: subprocess.Popen | None = None) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except Exception as exc:
            if getattr(exc, "code", None):  # any HTTP answer means it is up
                return
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up in {timeout:.0f} s")


def with_children(pid: int) -> list[int]:
    """The process and its children (LiteLLM may fork workers; our proxy has its helper store process)."""
    pids = [pid]
    try:
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        pids += [int(p) for p in children]
    except FileNotFoundError:
        pass
    return pids


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (/proc/<pid>/stat fields 14 and 15)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_snapshot(processes: dict[str, list[int]]) -> dict[str, float]:
    return {name: sum(cpu_seconds(pid) for pid in pids) for name, pids in processes.items()}


def watched_processes(name: str, upstream_pid: int, proxy: subprocess.Popen | None) -> dict[str, list[int]]:
    """The processes a path's requests cost CPU in. A proxy's helpers start with its first requests: look again
    before each run."""
    watched = {"load generator": [os.getpid()], "fake upstream": [upstream_pid]}
    if proxy is not None:
        family = with_children(proxy.pid)
        watched[f"{name} proxy"] = family[:1]
        watched[f"{name} helper processes"] = family[1:]
    return watched


def cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Seconds of CPU each process spent between two snapshots."""
    return {name: after[name] - before[name] for name in after}


def peak_rss_mb(pid: int) -> float:
    """VmHWM of the process and its children."""
    total = 0
    for one in with_children(pid):
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


# ---- the servers ---------------------------------------------------------------------------------------------------

def start_upstream(port: int) -> subprocess.Popen:
    code = ("import time; from creditgauge.fakes.upstream import FakeUpstream; "
            f"f = FakeUpstream(keys=None); f.start({port}); print('ready', flush=True); time.sleep(10**9)")
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert process.stdout is not None and process.stdout.readline().strip() == b"ready"
    return process


def proxy_config(upstream: str, workdir: Path) -> Path:
    """A config with one account, `bench`, whose base URL is the fake upstream; SQLite store and journal in workdir."""
    config = workdir / "config.toml"
    config.write_text(f'database_url = "sqlite:///{workdir / "bench.db"}"\n[proxy]\njournal_dir = "{workdir / "j"}"\n'
                      f'[accounts.bench]\nprovider = "openai"\nbase_url = "{upstream}"\n', encoding="utf-8")
    return config


def start_our_proxy(port: int, upstream: str, workdir: Path) -> subprocess.Popen:
    config = proxy_config(upstream, workdir)
    process = subprocess.Popen([sys.executable, "-m", "creditgauge", "--config", str(config), "proxy", "--port",
                                str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_http(f"http://127.0.0.1:{port}/bench/v1/models", process=process)
    return process


def ensure_litellm() -> Path:
    binary = LITELLM_VENV / "bin" / "litellm"
    if not binary.exists():
        print("installing LiteLLM into benchmarks/.venv-litellm (once; about a minute) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True)
        subprocess.run([str(LITELLM_VENV / "bin" / "pip"), "install", "--quiet", "litellm[proxy]"], check=True)
    return binary


def start_litellm(port: int, upstream: str, workdir: Path) -> subprocess.Popen:
    binary = ensure_litellm()
    config = workdir / "litellm.yaml"
    config.write_text("model_list:\n  - model_name: gpt-4o-mini\n    litellm_params:\n"
                      f"      model: openai/gpt-4o-mini\n      api_base: {upstream}/v1\n      api_key: {KEY}\n"
                      "general_settings:\n  disable_spend_logs: true\n", encoding="utf-8")
    env = {**os.environ, "LITELLM_MASTER_KEY": MASTER_KEY, "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "LITELLM_LOG": "ERROR"}
    process = subprocess.Popen([str(binary), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    wait_http(f"http://127.0.0.1:{port}/health/liveliness", timeout=180, process=process)
    return process


# ---- the load ------------------------------------------------------------------------------------------------------

@dataclass
class Run:
    latencies: list[float]
    seconds: float
    errors: int

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies) * 1000

    @property
    def p99_ms(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds


async def load(url: str, key: str, requests: int, concurrency: int, *, stream: bool = False) -> Run:
    """`requests` POSTs at `concurrency`; latency is to the last byte (or, for streams, to the first body byte)."""
    latencies: list[float] = []
    errors = 0
    headers = {"authorization": f"Bearer {key}"}
    body = STREAM_BODY if stream else BODY
    remaining = requests

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal remaining, errors
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            async with session.post(url, json=body, headers=headers) as answer:
                if stream:
                    await answer.content.readany()
                    latencies.append(time.perf_counter() - started)
                    await answer.read()
                else:
                    await answer.read()
                    latencies.append(time.perf_counter() - started)
                errors += answer.status != 200

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        for _ in range(min(50, requests)):  # warm the connections and caches
            async with session.post(url, json=body, headers=headers) as answer:
                await answer.read()
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        return Run(latencies, time.perf_counter() - started, errors)


async def client_throughput(url: str, requests: int, concurrency: int = 32) -> dict[str, float]:
    """Requests per second each async HTTP client reaches alone against the upstream: the proxy's upstream side."""
    import httpx

    results: dict[str, float] = {}

    async def drive(send: Callable[[], Awaitable[None]]) -> float:
        remaining = requests

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                await send()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return requests / (time.perf_counter() - started)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        async def send_aiohttp() -> None:
            async with session.post(url, json=BODY) as answer:
                await answer.read()
        results["aiohttp"] = await drive(send_aiohttp)
    for name, module in (("httpx", httpx), ("httpx2", _maybe("httpx2"))):
        if module is None:
            continue
        limits = module.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with module.AsyncClient(limits=limits) as client:
            async def send_httpx(client=client) -> None:
                (await client.post(url, json=BODY)).read()
            results[name] = await drive(send_httpx)
    return results


def _maybe(module: str):
    try:
        return __import__(module)
    except ImportError:
        return None


# ---- the report ----------------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5,
                        help="interleaved rounds of the concurrency-32 runs; each path's median round is reported")
    parser.add_argument("--no-litellm", action="store_true", help="skip LiteLLM (no install, no comparison)")
    args = parser.parse_args()
    n = args.requests
    with tempfile.TemporaryDirectory(prefix="cg-bench-") as tmp:
        workdir = Path(tmp)
        up_port, our_port, lite_port = free_port(), free_port(), free_port()
        upstream = start_upstream(up_port)
        upstream_url = f"http://127.0.0.1:{up_port}"
        servers = [upstream]
        try:
            targets = {"direct": (f"{upstream_url}/v1/chat/completions", KEY)}
            ours = start_our_proxy(our_port, upstream_url, workdir)
            servers.append(ours)
            targets["creditgauge"] = (f"http://127.0.0.1:{our_port}/bench/v1/chat/completions", KEY)
            lite = None
            if not args.no_litellm:
                lite = start_litellm(lite_port, upstream_url, workdir)
                servers.append(lite)
                targets["litellm"] = (f"http://127.0.0.1:{lite_port}/v1/chat/completions", MASTER_KEY)
            results: dict[tuple[str, int], Run] = {}
            ttfb: dict[str, Run] = {}
            proxies = {"creditgauge": ours, "litellm": lite}
            counts = {name: n if name != "litellm" else min(n, 1000) for name in targets}  # LiteLLM: ~100 req/s
            for name, (url, key) in targets.items():
                results[name, 1] = asyncio.run(load(url, key, counts[name], 1))
                ttfb[name] = asyncio.run(load(url, key, min(counts[name], 500), 1, stream=True))
            rounds: dict[str, list[Run]] = {name: [] for name in targets}
            cpu_seconds_used: dict[str, dict[str, float]] = {}
            for _ in range(args.rounds):  # interleaved, so a machine that speeds up or slows down hits every path
                for name, (url, key) in targets.items():
                    watched = watched_processes(name, upstream.pid, proxies.get(name))
                    before = cpu_snapshot(watched)
                    count = counts[name] if name != "litellm" else min(n, 300)
                    rounds[name].append(asyncio.run(load(url, key, count, 32)))
                    totals = cpu_seconds_used.setdefault(name, {})
                    for process, seconds in cpu_used(before, cpu_snapshot(watched)).items():
                        totals[process] = totals.get(process, 0.0) + seconds
            cpu = {name: {process: seconds * 1e6 / sum(len(run.latencies) for run in rounds[name])
                          for process, seconds in totals.items()} for name, totals in cpu_seconds_used.items()}
            for name, runs in rounds.items():
                results[name, 32] = sorted(runs, key=lambda run: run.rps)[len(runs) // 2]
            clients = asyncio.run(client_throughput(targets["direct"][0], n))
            memory = {"creditgauge": peak_rss_mb(ours.pid)}
            if lite is not None:
                memory["litellm"] = peak_rss_mb(lite.pid)
        finally:
            for server in servers:
                server.terminate()
            for server in servers:
                try:
                    server.wait(30)
                except subprocess.TimeoutExpired:
                    server.kill()
    report(results, ttfb, clients, memory, cpu, rounds, n)


def report(results: dict[tuple[str, int], Run], ttfb: dict[str, Run], clients: dict[str, float],
           memory: dict[str, float], cpu: dict[str, dict[str, float]], rounds: dict[str, list[Run]],
           n: int) -> None:
    print(f"\nproxy overhead: {n} chat completions per run (LiteLLM: at most 1,000 at c=1 and 300 a round at c=32), "
          f"c=32 as the median of {len(next(iter(rounds.values())))} interleaved rounds, {os.cpu_count()} cores, "
          "one machine\n")
    print("| path | c | median ms | p99 ms | added median ms | added p99 ms | req/s | errors |")
    print("|---|---|---|---|---|---|---|---|")
    for (name, concurrency), run in results.items():
        base = results["direct", concurrency]
        added = "" if name == "direct" else f"{run.median_ms - base.median_ms:.2f}"
        added99 = "" if name == "direct" else f"{run.p99_ms - base.p99_ms:.2f}"
        print(f"| {name} | {concurrency} | {run.median_ms:.2f} | {run.p99_ms:.2f} | {added} | {added99} | "
              f"{run.rps:,.0f} | {run.errors} |")
    print("\n| path | c=32 req/s in each round (the median round is the one above) |")
    print("|---|---|")
    for name, runs in rounds.items():
        print(f"| {name} | {', '.join(f'{run.rps:,.0f}' for run in runs)} |")
    print("\n| path | stream time to first byte, median ms | p99 ms |")
    print("|---|---|---|")
    for name, run in ttfb.items():
        print(f"| {name} | {run.median_ms:.2f} | {run.p99_ms:.2f} |")
    print("\n| proxy | peak RSS MB |")
    print("|---|---|")
    for name, mb in memory.items():
        print(f"| {name} | {mb:.0f} |")
    print("\n| path, c=32 | process | CPU µs per request |")
    print("|---|---|---|")
    for name, processes in cpu.items():
        for process, micros in processes.items():
            print(f"| {name} | {process} | {micros:.0f} |")
        print(f"| {name} | all | {sum(processes.values()):.0f} |")
    print("\n| upstream client alone, c=32 | req/s |")
    print("|---|---|")
    for name, rps in clients.items():
        print(f"| {name} | {rps:,.0f} |")
    ours1, direct1 = results["creditgauge", 1], results["direct", 1]
    ours32, direct32 = results["creditgauge", 32], results["direct", 32]
    added = ours1.median_ms - direct1.median_ms
    print("\ngoals:")
    print(f"- added median latency at c=1: {added:.3f} ms (goal < {GOALS['added_median_ms_c1']} ms): "
          f"{'met' if added < GOALS['added_median_ms_c1'] else 'NOT met'}")
    share = ours32.rps / direct32.rps
    print(f"- throughput at c=32: {share:.0%} of direct (goal >= {GOALS['share_of_direct_c32']:.0%}): "
          f"{'met' if share >= GOALS['share_of_direct_c32'] else 'NOT met'}")
    if ("litellm", 32) in results:
        times = ours32.rps / results["litellm", 32].rps
        print(f"- throughput at c=32: {times:.1f}x LiteLLM's (goal >= {GOALS['x_litellm_c32']:.0f}x): "
              f"{'met' if times >= GOALS['x_litellm_c32'] else 'NOT met'}")


if __name__ == "__main__":
    main()
