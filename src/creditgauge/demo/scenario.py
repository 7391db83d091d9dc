"""The demo's story, in one place: which accounts exist, their (obviously fake) keys, and the days on which the
things worth seeing happen: a model launch, a leaked key the reconciliation catches, an account running low."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from creditgauge.fakes.openai import DEFAULT_MODELS, KeyLeak, ModelLaunch, ModelPrice

MIN_DAYS = 21  # room for a week of burn, the leak twelve days back and tracked days before it
MAX_DAYS = 400


@dataclass(frozen=True, slots=True)
class DemoAccount:
    name: str
    provider: str
    key_env: str
    key: str  # a demo value: it opens nothing but the fakes, and still never reaches the store or the screen


# Every key names itself as fake; the prefixes are the providers' own so the redactor's patterns apply too.
ACCOUNTS = (
    DemoAccount("openai", "openai", "CREDITGAUGE_DEMO_OPENAI_KEY", "sk-admin-demo-not-a-real-key-openai"),
    DemoAccount("anthropic", "anthropic", "CREDITGAUGE_DEMO_ANTHROPIC_KEY",
                "sk-ant-admin01-demo-not-a-real-key-anthropic"),
    DemoAccount("xai", "xai", "CREDITGAUGE_DEMO_XAI_KEY", "xai-demo-not-a-real-key-management"),
    DemoAccount("openrouter", "openrouter", "CREDITGAUGE_DEMO_OPENROUTER_KEY", "sk-or-v1-demo-not-a-real-key-mgmt"),
    DemoAccount("deepseek", "deepseek", "CREDITGAUGE_DEMO_DEEPSEEK_KEY", "sk-demo-not-a-real-key-deepseek"),
    DemoAccount("moonshot", "moonshot", "CREDITGAUGE_DEMO_MOONSHOT_KEY", "sk-demo-not-a-real-key-moonshot"),
    DemoAccount("groq", "groq", "CREDITGAUGE_DEMO_GROQ_KEY", "gsk_demoNotARealKeyGroq"),
)
# The key the demo's applications send through the recording proxy (an OpenAI project key).
INFERENCE_KEY = "sk-proj-demo-not-a-real-key-inference"
DEMO_KEYS = (*(account.key for account in ACCOUNTS), INFERENCE_KEY)

OPENAI_SCALE = 6_000_000  # tokens of a busy project and model on a busy day: a team spending ~$40 a day
LAUNCHED = ModelLaunch("gpt-5-2025-08-07", ModelPrice("completions", Decimal("1.25"), Decimal("0.125"),
                                                      Decimal("10.00")),
                       day=date.min, replaces="gpt-4.1-2025-04-14", share=Decimal("0.7"), ramp_days=14)  # day: below
LEAKED_PROJECT = "support-bot"
LEAK_DAYS_AGO = 12
RUNNING_LOW = "openrouter"  # the account left with about a week of credit
RUNWAY_LEFT_DAYS = 6

# DeepSeek bills the China platform in CNY per million tokens (cache hit, cache miss, output).
DEEPSEEK_PRICES_CNY = {"deepseek-chat": ("0.2", "2", "3"), "deepseek-reasoner": ("0.2", "2", "3")}
DEEPSEEK_PROJECTS = ("support-bot", "doc-search")
GROQ_MODELS = ("llama-3.3-70b-versatile", "llama-3.1-8b-instant")
GROQ_PROJECTS = ("checkout-assistant", "evals")
# The team that owns each project: the demo's tracked events carry it as a `team` tag (spend --by tag:team).
TEAMS = {"checkout-assistant": "payments", "support-bot": "support", "doc-search": "support", "evals": "research",
         "Default project": "research", "old-experiments": "research"}


@dataclass(frozen=True, slots=True)
class Scenario:
    """The days of the story for a history of `days` days ending `today` (inclusive)."""

    days: int
    today: date

    def __post_init__(self) -> None:
        if not MIN_DAYS <= self.days <= MAX_DAYS:
            raise ValueError(f"the demo history must be {MIN_DAYS} to {MAX_DAYS} days long, not {self.days}")

    @property
    def first(self) -> date:
        return self.today - timedelta(days=self.days - 1)

    @property
    def launch(self) -> ModelLaunch:
        """gpt-5 arrives a third of the way back (at least a week ago) and takes over most of gpt-4.1's work."""
        return replace(LAUNCHED, day=self.today - timedelta(days=max(7, self.days // 3)))

    @property
    def leak(self) -> KeyLeak:
        """A forgotten prototype key, leaked, spends about two normal days' worth on gpt-4.1 in one day."""
        day = self.today - timedelta(days=LEAK_DAYS_AGO)
        return KeyLeak(day, LEAKED_PROJECT, "gpt-4.1-2025-04-14", input_tokens=5 * OPENAI_SCALE,
                       output_tokens=OPENAI_SCALE, requests=9_400)


def openai_prices() -> dict[str, dict[str, str]]:
    """Price overrides equal to the fake's own list prices, so tracked and reported spend agree to the cent."""
    models: dict[str, ModelPrice] = {**DEFAULT_MODELS, LAUNCHED.model: LAUNCHED.price}
    return {model: {"input": str(p.input), "cached_input": str(p.cached_input), "output": str(p.output)}
            for model, p in models.items() if p.input or p.output}


def deepseek_prices() -> dict[str, dict[str, str]]:
    return {model: {"cached_input": hit, "input": miss, "output": output}
            for model, (hit, miss, output) in DEEPSEEK_PRICES_CNY.items()}
