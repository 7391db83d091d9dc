"""The proxy process's set-up: its event loop and its garbage collector."""

from __future__ import annotations

import asyncio
import gc
import sys

import pytest

from creditgauge.capture.collector import tune_garbage_collector
from creditgauge.capture.runtime import event_loop_factory


def test_the_collector_skips_what_was_loaded_at_start_and_collects_young_objects_rarely() -> None:
    threshold = gc.get_threshold()
    try:
        tune_garbage_collector()
        assert gc.get_freeze_count() > 10_000  # the modules and data loaded so far
        assert gc.get_threshold() == (10_000, *threshold[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop does not exist on Windows")
def test_the_proxy_loop_is_uvloop_where_it_exists() -> None:
    import uvloop

    factory = event_loop_factory()
    assert factory is not None
    loop = factory()
    try:
        assert isinstance(loop, uvloop.Loop)
        assert loop.run_until_complete(asyncio.sleep(0, result="ran")) == "ran"
    finally:
        loop.close()
