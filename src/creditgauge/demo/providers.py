"""Every fake provider of the demo, built with the story's history and started on 127.0.0.1."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import timedelta
from decimal import ROUND_CEILING

from creditgauge.demo.scenario import ACCOUNTS, OPENAI_SCALE, RUNWAY_LEFT_DAYS, Scenario
from creditgauge.fakes.anthropic import FakeAnthropic
from creditgauge.fakes.deepseek import FakeDeepSeek, balance_info
from creditgauge.fakes.groq import FakeGroq
from creditgauge.fakes.moonshot import FakeMoonshot
from creditgauge.fakes.openai import FakeOpenAI
from creditgauge.fakes.openrouter import FakeOpenRouter
from creditgauge.fakes.server import FakeProvider
from creditgauge.fakes.upstream import FakeUpstream
from creditgauge.fakes.xai import FakeXAI

ONE_DAY = timedelta(days=1)


@dataclass
class DemoFakes:
    """One fake per demo account (same names), plus the inference upstream the proxy's OpenAI traffic goes to:
    the OpenAI fake serves the admin API only."""

    openai: FakeOpenAI
    anthropic: FakeAnthropic
    xai: FakeXAI
    openrouter: FakeOpenRouter
    deepseek: FakeDeepSeek
    moonshot: FakeMoonshot
    groq: FakeGroq
    upstream: FakeUpstream

    @classmethod
    def for_story(cls, scenario: Scenario) -> DemoFakes:
        key = {account.name: account.key for account in ACCOUNTS}
        days, end = scenario.days, scenario.today + ONE_DAY  # the fakes other than OpenAI's take `end` exclusive
        openrouter = FakeOpenRouter(days=days, end=end, management_keys={key["openrouter"]})
        _leave_credit_for(openrouter, RUNWAY_LEFT_DAYS)
        return cls(
            openai=FakeOpenAI(days=days, end=scenario.today, scale=OPENAI_SCALE, tools=False, launch=scenario.launch,
                              leak=scenario.leak, keys={key["openai"]}, spend_limit_cents=300_000),
            anthropic=FakeAnthropic(days=days, end=end, admin_keys={key["anthropic"]}),
            xai=FakeXAI(days=days, end=end, management_keys={key["xai"]}),
            openrouter=openrouter,
            deepseek=FakeDeepSeek(balances=[balance_info("CNY", "10.00", "290.00")], keys={key["deepseek"]}),
            moonshot=FakeMoonshot(region="cn", keys={key["moonshot"]}),
            groq=FakeGroq(keys={key["groq"]}),
            upstream=FakeUpstream(),  # any key: people may send their own calls through the demo proxy
        )

    def servers(self) -> dict[str, FakeProvider]:
        return {field.name: getattr(self, field.name) for field in fields(self)}

    def start(self) -> dict[str, str]:
        """Start every fake (stopping those already started when one fails); returns name -> URL."""
        started: list[FakeProvider] = []
        try:
            for server in self.servers().values():
                server.start()
                started.append(server)
        except BaseException:
            for server in started:
                server.stop()
            raise
        return {name: server.url for name, server in self.servers().items()}

    def stop(self) -> None:
        for server in self.servers().values():
            server.stop()


def _leave_credit_for(fake: FakeOpenRouter, days: int) -> None:
    """Buy just enough credit (whole dollars) that about `days` days of last week's average spend remain."""
    last_week = fake.spent(fake.today - 7 * ONE_DAY, fake.today) / 7
    fake.total_credits = (fake.total_usage() + days * last_week).to_integral_value(rounding=ROUND_CEILING)


__all__ = ["DemoFakes"]
