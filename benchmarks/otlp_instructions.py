"""The OTLP receiver's CPU per span as a count of instructions: repeatable whatever else the machine is doing, where
timings on this shared 2-core machine drift by a half.

    .venv/bin/python benchmarks/otlp_instructions.py [--spans 10240]

Runs the whole in-process path (`OtlpReceiver.export` of protobuf requests of 512 spans: decode, read, check,
price, journal, queue; then the writer thread storing them in SQLite, counted once) under valgrind's callgrind
(Debian's `valgrind` package; user-space instructions of every thread), once for a quarter of the spans and once
for all of them, and prints the difference per span: start-up, imports and the first batch's warm-up cancel out.
Under valgrind the receiver runs about 50 times slower: a run takes a few minutes. Compare two versions of the code
with `PYTHONPATH=<their src>`; use otlp_ingest.py for throughput.
"""

from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

from otlp_ingest import span_requests


def run_receiver(bodies_file: str, requests: int) -> None:
    """The measured process: export `requests` saved requests, then wait until the writer stored them."""
    from creditgauge.capture.otlp_receiver import TRACES, OtlpReceiver
    from creditgauge.config import parse_config
    from creditgauge.store.engine import open_engine

    with open(bodies_file, "rb") as handle:
        bodies = pickle.load(handle)[:requests]  # our own file, written by main() below
    with tempfile.TemporaryDirectory(prefix="cg-otlp-instr-") as tmp:
        url = f"sqlite:///{tmp}/otlp.db"
        config = parse_config({"database_url": url, "proxy": {"journal_dir": f"{tmp}/j"},
                               "accounts": {"openai-main": {"provider": "openai"},
                                            "anthropic-main": {"provider": "anthropic"}}}, None)
        receiver = OtlpReceiver(config, open_engine(url), store_in_child=False)  # all the work in one process
        assert receiver.recorder.writer.flush(60)
        for body in bodies:
            assert receiver.export(TRACES, body, "application/x-protobuf", None).status == 200
        assert receiver.recorder.writer.flush(600), "the writer did not finish"
        receiver.close()


def instructions(bodies_file: str, requests: int, workdir: Path) -> int:
    output = workdir / f"callgrind.{requests}.out"
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={output}", sys.executable, __file__,
                    "--run", bodies_file, str(requests)], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    for line in output.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError(f"no instruction total in {output}")


def main() -> None:
    if sys.argv[1:2] == ["--run"]:
        run_receiver(sys.argv[2], int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=10_240, help="a multiple of 2,048")
    args = parser.parse_args()
    requests = args.spans // 512
    with tempfile.TemporaryDirectory(prefix="cg-otlp-instr-") as tmp:
        workdir = Path(tmp)
        bodies_file = str(workdir / "bodies.pickle")
        with open(bodies_file, "wb") as handle:
            pickle.dump(span_requests(requests * 512, 512), handle)
        small = instructions(bodies_file, requests // 4, workdir)
        large = instructions(bodies_file, requests, workdir)
    spans = (requests - requests // 4) * 512
    print(f"OTLP receiver, whole path (SQLite): {(large - small) / spans:,.0f} instructions a span "
          f"({spans:,} spans between the two runs)")


if __name__ == "__main__":
    main()
