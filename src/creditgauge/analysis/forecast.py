"""Month-end spend at the current burn, next to last month's actual."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from creditgauge.analysis.balance import month_to_date
from creditgauge.analysis.burn import Burn, Which
from creditgauge.analysis.daily import Series
from creditgauge.analysis.runway import month_end


@dataclass(frozen=True, slots=True)
class Forecast:
    currency: str
    month: str  # YYYY-MM
    month_to_date: Decimal
    month_end: Decimal
    low: Decimal
    high: Decimal
    last_month: str
    last_month_actual: Decimal

    def to_dict(self) -> dict[str, object]:
        return {"currency": self.currency, "month": self.month, "month_to_date": self.month_to_date,
                "month_end": self.month_end, "low": self.low, "high": self.high, "last_month": self.last_month,
                "last_month_actual": self.last_month_actual}


def month_forecast(series: Series | None, burn: Burn | None, currency: str, *, now: datetime) -> Forecast:
    spent = month_to_date(series, now)
    first = now.date().replace(day=1)
    previous = (first - timedelta(days=1)).replace(day=1)
    last_actual = series.total(previous, first) if series else Decimal("0.00")
    end = month_end(now)

    def projected(which: Which) -> Decimal:
        return spent + burn.spend_between(now, end, which) if burn else spent

    return Forecast(currency, f"{first:%Y-%m}", spent, projected("central"), projected("low"), projected("high"),
                    f"{previous:%Y-%m}", last_actual)
