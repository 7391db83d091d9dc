"""creditgauge: spend, usage, balance and runway across every AI API account you pay for.

`creditgauge.track(client, account=..., tags=...)` is the SDK hook and `creditgauge.flush()` waits for its events
to be written and reports what could not be stored (see creditgauge.track)."""

from creditgauge.track import flush, track

__all__ = ["flush", "track"]
