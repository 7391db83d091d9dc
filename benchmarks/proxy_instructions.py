"""The recording proxy's CPU per request as a count of instructions: repeatable to within about 2% from run to run
whatever else the machine is doing, where timings on this 2-core virtual machine drift by a third.

    .venv/bin/python benchmarks/proxy_instructions.py [--requests 1000] [--concurrency 4]

Runs `creditgauge proxy` under valgrind's callgrind (Debian's `valgrind` package; user-space instructions of
every thread of the proxy process, not its helper store process, not the kernel's socket work), warms it with 300
requests, zeroes the counters, sends `--requests` chat completions through it from this process and prints the
instructions per request. Under valgrind the proxy runs about 50 times slower, so a run takes about a minute. Use
it to compare two versions of the code; use proxy_overhead.py for throughput and latency.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from proxy_overhead import KEY, free_port, load, proxy_config, start_upstream, wait_http


def count(requests: int, concurrency: int) -> int:
    with tempfile.TemporaryDirectory(prefix="cg-instr-") as tmp:
        workdir = Path(tmp)
        upstream_port, proxy_port = free_port(), free_port()
        upstream = start_upstream(upstream_port)
        config = proxy_config(f"http://127.0.0.1:{upstream_port}", workdir)
        output = workdir / "callgrind.out"
        proxy = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={output}", sys.executable,
                                  "-m", "creditgauge", "--config", str(config), "proxy", "--port", str(proxy_port)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_http(f"http://127.0.0.1:{proxy_port}/bench/v1/models", timeout=600, process=proxy)
            url = f"http://127.0.0.1:{proxy_port}/bench/v1/chat/completions"
            asyncio.run(load(url, KEY, 300, concurrency))
            time.sleep(1)
            subprocess.run(["callgrind_control", "--zero", str(proxy.pid)], check=True, capture_output=True)
            asyncio.run(load(url, KEY, requests, concurrency))
            time.sleep(1)  # the writer's last batch
            subprocess.run(["callgrind_control", "--dump", str(proxy.pid)], check=True, capture_output=True)
        finally:
            proxy.terminate()
            upstream.terminate()
            proxy.wait(60)
            upstream.wait(60)
        dump = Path(f"{output}.1")  # the first explicit dump: what the measured requests cost
        totals = [line for line in dump.read_text().splitlines() if line.startswith("summary:")]
        return int(totals[0].split()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("proxy_instructions.py needs valgrind (apt-get install valgrind)")
    total = count(args.requests, args.concurrency)
    print(f"creditgauge proxy: {total / args.requests:,.0f} instructions per request "
          f"({args.requests} chat completions at concurrency {args.concurrency}, callgrind)")


if __name__ == "__main__":
    main()
