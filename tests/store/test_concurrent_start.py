"""Several processes starting at once on an empty database all succeed: the schema is created once, the others wait
for it (issue 11 and 12). Real processes, released together, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import time

from creditgauge.store.engine import current_revision, head_revision, make_engine

STARTERS = 3
# Each process waits for the same moment, then opens the store as every command does (open_engine migrates).
START = ("import sys, time\n"
         "from creditgauge.store.engine import open_engine\n"
         "time.sleep(max(0.0, float(sys.argv[2]) - time.time()))\n"
         "open_engine(sys.argv[1]).dispose()\n")


def test_concurrent_starts_on_an_empty_database_all_succeed(database_url: str) -> None:
    at = str(time.time() + 3.0)  # after every interpreter has started and imported
    processes = [subprocess.Popen([sys.executable, "-c", START, database_url, at], stderr=subprocess.PIPE, text=True)
                 for _ in range(STARTERS)]
    failures = [p.communicate(timeout=120)[1] for p in processes if p.wait(timeout=120) != 0]
    assert failures == []
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
