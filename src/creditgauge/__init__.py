"""creditgauge: spend, usage, balance and runway across every AI API account you pay for.

`creditgauge.track(client, account=..., tags=...)` is the SDK hook (see creditgauge.track)."""

from creditgauge.track import track

__all__ = ["track"]
