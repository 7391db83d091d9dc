"""The dashboard, the JSON API, the ingest endpoint and /metrics of `creditgauge serve`."""

from creditgauge.web.app import create_app
from creditgauge.web.server import serve

__all__ = ["create_app", "serve"]
