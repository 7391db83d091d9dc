"""The controls of the Spend and Usage pages read from the query string (range, group, source, a drill-down), and
the URLs that keep them: every link a page draws (a preset, a row's drill-down, its CSV) is a real URL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from fastapi import Request

from creditgauge.service.drilldown import drill_filter, report_by
from creditgauge.service.reports import Source, parse_source, tag_keys
from creditgauge.web.context import WebContext
from creditgauge.web.ranges import DEFAULT_PRESET, PRESETS, Range, page_range

GROUPS: dict[Source, tuple[str, ...]] = {
    "best": ("account", "provider", "model", "project", "api_key", "workspace", "line_item", "day"),
    "reported": ("account", "provider", "model", "project", "api_key", "workspace", "line_item", "day"),
    "tracked": ("account", "provider", "model", "project", "key", "endpoint", "day"),
}
DAY_DRILL_GROUP = "model"  # a day opens on its models; the group-by then shows its keys or projects


@dataclass(frozen=True)
class Controls:
    path: str
    range: Range
    group: str
    groups: list[str]
    source: Source
    sources: Sequence[Source]
    narrowed: tuple[str, str] | None  # (dimension, value): a drill-down into one model, key, project...

    @property
    def since(self) -> str:
        return self.range.since.isoformat()

    @property
    def until(self) -> str:
        return self.range.until.isoformat()

    @property
    def presets(self) -> dict[str, str]:
        return PRESETS

    def range_params(self) -> dict[str, str]:
        if self.range.preset == "day":
            return {"day": self.since}
        return self.days_range_params()

    def days_range_params(self) -> dict[str, str]:
        """The range of a "its days" drill-down: this one, or the default when the page shows one day."""
        if self.range.preset == "day":
            return {"range": DEFAULT_PRESET}
        if self.range.preset == "custom":
            return {"since": self.since, "until": self.until}
        return {"range": self.range.preset}

    def url(self, *, group: str | None = None, narrowed: tuple[str, str] | None = None, day: date | None = None,
            **extra: str) -> str:
        """This page with some controls changed: another group, a narrower drill-down, one day."""
        if day:
            params = {"day": day.isoformat()}
        else:
            params = self.days_range_params() if group == "day" else self.range_params()
        params |= {"group": group or self.group, "source": self.source}
        chosen = narrowed or self.narrowed
        if chosen:
            params[chosen[0]] = chosen[1]
        return f"{self.path}?{urlencode(params | extra)}"

    def row_url(self, value: object) -> str:
        """Where a table row leads: a day to its models; anything else to its days."""
        if self.group == "day":
            return self.url(group=DAY_DRILL_GROUP, day=date.fromisoformat(str(value)))
        return self.url(group="day", narrowed=(self.group, "" if value is None else str(value)))

    def all_rows_url(self) -> str:
        """Back from a drill-down: the page's default range, or this range without the narrowing."""
        params = self.days_range_params()
        params |= {"group": self.narrowed[0] if self.narrowed else self.group, "source": self.source}
        return f"{self.path}?{urlencode(params)}"

    def chart_query(self) -> str:
        """The API query of the page's chart: its rows per day (and the narrowed dimension, filtered in the chart)."""
        by = report_by(self.group, self.narrowed)
        return self.api_query(by if self.group == "day" else f"day,{by}")

    def api_query(self, by: str, **extra: str) -> str:
        values = {"since": self.since, "until": self.until, "source": self.source, "by": by, **extra}
        return urlencode({k: v for k, v in values.items() if v})


def page_controls(request: Request, ctx: WebContext, sources: Sequence[Source], *, narrowable: bool = True) -> Controls:
    """The report controls from the query string, with the defaults the API uses (the first of `sources`); a group
    the source does not know falls back to account. `narrowable`: the page drills into one dimension value."""
    params = request.query_params
    source = parse_source(params.get("source", sources[0]), sources, option="source")
    groups = list(GROUPS[source])
    if source == "tracked":
        groups += [f"tag:{key}" for key in tag_keys(ctx)]
    group = params.get("group", "account")
    if group not in groups:
        group = "account"
    window = page_range(ctx.today(), params.get("range") or None, params.get("since") or None,
                        params.get("until") or None, params.get("day") or None)
    narrowed = drill_filter(params, [g for g in groups if g != "day"]) if narrowable else None
    return Controls(request.url.path, window, group, groups, source, sources, narrowed)
