"""Month-end spend at the current burn, next to last month's actual."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from creditgauge.analysis.balance import month_to_date, spend_in
from creditgauge.analysis.burn import Burn, Which
from creditgauge.analysis.daily import Series
from creditgauge.analysis.runway import month_end
from creditgauge.analysis.windows import last_month


@dataclass(frozen=True, slots=True)
class Forecast:
    currency: str
    month: str  # YYYY-MM
    month_to_date: Decimal | None
    month_end: Decimal | None  # None: this month's spend is unknown, so is its end
    low: Decimal | None
    high: Decimal | None
    last_month: str
    last_month_actual: Decimal | None

    def to_dict(self) -> dict[str, object]:
        return {"currency": self.currency, "month": self.month, "month_to_date": self.month_to_date,
                "month_end": self.month_end, "low": self.low, "high": self.high, "last_month": self.last_month,
                "last_month_actual": self.last_month_actual}


def month_forecast(series: Series | None, burn: Burn | None, currency: str, *, now: datetime,
                   spend_known: bool = True) -> Forecast:
    spent = month_to_date(series, now, spend_known=spend_known)
    previous = last_month(now.date())
    last_actual = spend_in(series, previous, spend_known=spend_known).amount
    end = month_end(now)

    def projected(which: Which) -> Decimal | None:
        if spent is None:
            return None
        return spent + burn.spend_between(now, end, which) if burn else spent

    return Forecast(currency, f"{now.date():%Y-%m}", spent, projected("central"), projected("low"),
                    projected("high"), f"{previous.since:%Y-%m}", last_actual)
