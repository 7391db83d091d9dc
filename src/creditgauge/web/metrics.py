"""Prometheus metrics of `serve`: the answers (balance, spend, burn, runway, state) read from the store at scrape
time, sync health, and the recording proxy's counters when the proxy runs in the same process.

Names follow Prometheus conventions: a `creditgauge_` prefix, `_total` on counters, `_seconds` on times,
`_timestamp_seconds` on moments, labels for account, currency, kind. Prometheus values are float64 by definition:
amounts become floats only here, in the exposition text, never in the store or the API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from creditgauge.domain import UsageEvent

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
TOKEN_KINDS = ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens")
STATES = ("healthy", "warning", "critical", "unknown")


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, dict):
        value = value.get("amount")
    return float(Decimal(str(value))) if value is not None else None


class AnswersCollector(Collector):
    """Reads the status rows and sync states when Prometheus scrapes, so the figures are those of the dashboard."""

    def __init__(self, status_rows: Callable[[], Iterable[dict[str, Any]]],
                 sync_states: Callable[[], Iterable[dict[str, Any]]],
                 quarantined: Callable[[], Iterable[dict[str, Any]]]) -> None:
        self.status_rows = status_rows
        self.sync_states = sync_states
        self.quarantined = quarantined  # counts per kind and origin (store.quarantine.quarantine_counts)

    def describe(self) -> Iterator[Metric]:
        return iter(())  # figures come from the store at scrape time; nothing to pre-register

    def collect(self) -> Iterator[Metric]:
        yield from self._answers()
        yield from self._sync()
        yield from self._quarantine()

    def _answers(self) -> Iterator[Metric]:
        balance = GaugeMetricFamily("creditgauge_balance", "Balance left, by kind (verified, estimated, limit_only).",
                                    labels=["account", "currency", "kind"])
        spend = GaugeMetricFamily("creditgauge_month_to_date_spend", "Spend since the first of this month (UTC).",
                                  labels=["account", "currency"])
        burn = GaugeMetricFamily("creditgauge_burn_per_day", "Current burn rate, money per day.",
                                 labels=["account", "currency"])
        runway = GaugeMetricFamily("creditgauge_runway_days", "Days until the balance (or the monthly limit) runs out.",
                                   labels=["account", "currency"])
        state = GaugeMetricFamily("creditgauge_account_state", "1 for the account's current state, 0 for the others.",
                                  labels=["account", "currency", "state"])
        for row in self.status_rows():
            account, currency = row["account"], row["currency"]
            if (amount := _number(row.get("balance"))) is not None:
                balance.add_metric([account, currency, str(row.get("balance_kind") or "unknown")], amount)
            for family, key in ((spend, "month_to_date"), (burn, "burn_per_day"), (runway, "runway_days")):
                if (value := _number(row.get(key))) is not None:
                    family.add_metric([account, currency], value)
            for name in STATES:
                state.add_metric([account, currency, name], 1.0 if row.get("state") == name else 0.0)
        yield from (balance, spend, burn, runway, state)

    def _sync(self) -> Iterator[Metric]:
        success = GaugeMetricFamily("creditgauge_sync_last_success_timestamp_seconds",
                                    "When each source last synced without error.", labels=["account", "source"])
        failing = GaugeMetricFamily("creditgauge_sync_failing", "1 while the source's last sync failed.",
                                    labels=["account", "source"])
        problems = GaugeMetricFamily("creditgauge_sync_item_problems",
                                     "Items the source's last successful sync could not store.",
                                     labels=["account", "source"])
        for row in self.sync_states():
            labels = [row["account"], row["source"]]
            if row.get("last_success_at") is not None:
                success.add_metric(labels, row["last_success_at"].timestamp())
            failing.add_metric(labels, 1.0 if row.get("last_error") else 0.0)
            if row.get("item_problems") is not None:
                problems.add_metric(labels, float(row["item_problems"]))
        yield from (success, failing, problems)

    def _quarantine(self) -> Iterator[Metric]:
        total = GaugeMetricFamily("creditgauge_quarantined_items",
                                  "Tracked items kept in quarantine (could not be stored as they came; not counted).")
        by_origin = GaugeMetricFamily("creditgauge_quarantined_items_by_origin",
                                      "Tracked items kept in quarantine, by kind (event, fact) and origin.",
                                      labels=["origin", "kind"])
        count = 0
        for row in self.quarantined():
            by_origin.add_metric([row["origin"], row["kind"]], float(row["count"]))
            count += row["count"]
        total.add_metric([], float(count))
        yield from (total, by_origin)


class Metrics:
    """One registry per app (tests build many apps in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.sync_runs = Counter("creditgauge_sync_runs", "Scheduled and manual sync runs in this process.",
                                 ["trigger", "status"], registry=self.registry)
        self.sync_errors = Counter("creditgauge_sync_errors", "Failed sync tasks in this process.",
                                   ["account", "source"], registry=self.registry)
        self.proxy_requests = Counter("creditgauge_proxy_requests", "Requests recorded by the in-process proxy.",
                                      ["account", "status"], registry=self.registry)
        self.proxy_tokens = Counter("creditgauge_proxy_tokens", "Tokens recorded by the in-process proxy.",
                                    ["account", "kind"], registry=self.registry)
        self.proxy_cost = Counter("creditgauge_proxy_cost", "Priced cost recorded by the in-process proxy.",
                                  ["account", "currency"], registry=self.registry)
        self.proxy_unpriced = Counter("creditgauge_proxy_unpriced_requests",
                                      "Requests the in-process proxy could not price.", ["account"],
                                      registry=self.registry)

    def watch_store(self, collector: AnswersCollector) -> None:
        self.registry.register(collector)

    def observe_sync(self, trigger: str, status: str, failures: Iterable[tuple[str, str]]) -> None:
        self.sync_runs.labels(trigger, status).inc()
        for account, source in failures:
            self.sync_errors.labels(account, source).inc()

    def observe_event(self, event: UsageEvent) -> None:
        """Count one captured event; the proxy calls this when it runs inside `serve` (or the demo)."""
        status = str(event.status_code) if event.status_code is not None else "unknown"
        self.proxy_requests.labels(event.account, status).inc(event.requests)
        for kind in TOKEN_KINDS:
            if count := getattr(event, kind):
                self.proxy_tokens.labels(event.account, kind.removesuffix("_tokens")).inc(count)
        if event.cost is None:
            self.proxy_unpriced.labels(event.account).inc(event.requests)
        else:
            self.proxy_cost.labels(event.account, event.currency).inc(float(event.cost))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
