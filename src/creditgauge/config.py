"""Load and validate the TOML config plus the environment. Every error names the file, the key and the fix."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from creditgauge.errors import ConfigError
from creditgauge.http import DEFAULT_LIMITS, Limits
from creditgauge.providers.record import ProviderOptions
from creditgauge.providers.registry import known_providers, option_owners, provider

OptionsT = TypeVar("OptionsT", bound=ProviderOptions)
UNKNOWN_FIELD = "unknown field: remove it or check its spelling against the README's config reference"
CONFIG_ENV = "CREDITGAUGE_CONFIG"
DATABASE_ENV = "CREDITGAUGE_DATABASE_URL"


def _decimal(value: Any) -> Decimal | None:
    """Amounts in the config are strings ("200.00") or integers; floats would lose cents, so they are refused."""
    if value is None:
        return None
    if isinstance(value, (bool, float)):
        raise ValueError(f"write the amount as a quoted string, e.g. \"{value}\", so it stays exact")
    try:
        result = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"{value!r} is not a decimal amount (write it like \"200.00\")") from exc
    if not result.is_finite():
        raise ValueError(f"{value!r} is not a finite amount")
    return result


ConfigDecimal = Annotated[Decimal | None, BeforeValidator(_decimal)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriceOverride(Strict):
    """Per-model prices in USD (or the account currency) per million tokens."""

    input: ConfigDecimal = None
    cached_input: ConfigDecimal = None
    cache_write: ConfigDecimal = None
    output: ConfigDecimal = None
    per_request: ConfigDecimal = None


class AccountConfig(Strict):
    """`[accounts.X]`: the fields every account has, and the options of its provider (validated by the provider's
    own model, `Provider.options`), written in the same flat table."""

    name: str = ""
    provider: str
    key_env: str | None = None
    key_file: str | None = None
    base_url: str | None = None
    currency: str | None = None  # override the provider's default currency (moonshot .cn = CNY)
    monthly_limit: ConfigDecimal = None
    # balance / runway thresholds
    warning_days: ConfigDecimal = None
    critical_days: ConfigDecimal = None
    min_balance: ConfigDecimal = None
    data_delay_hours: int | None = None
    # capture
    inject_stream_usage: bool = True
    # `creditgauge keys`: fingerprint of a key the proxy or hook saw -> the provider key it is (id or name), or a
    # name for it where the provider lists no keys
    tracked_keys: dict[str, str] = Field(default_factory=dict)
    prices: dict[str, PriceOverride] = Field(default_factory=dict)
    fees: dict[str, ConfigDecimal] = Field(default_factory=dict)  # per tool call: web_search, code_interpreter...
    # scheduling in `serve`
    balance_interval_minutes: int | None = None
    report_interval_minutes: int | None = None
    options: ProviderOptions = ProviderOptions()  # the provider's own keys of this table

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        known = known_providers()
        if value not in known:
            raise ValueError(f"unknown provider {value!r}; use one of: {', '.join(sorted(known))}")
        return value

    @model_validator(mode="wrap")
    @classmethod
    def _split_provider_options(cls, data: Any, handler: ModelWrapValidatorHandler[AccountConfig]) -> AccountConfig:
        """The keys that are not common fields go to the provider's options model, which refuses what it does not
        know. With an unknown provider every key is left to the common fields, so the provider is what is reported."""
        if not isinstance(data, dict) or data.get("provider") not in known_providers():
            return handler(data)
        common = {key: value for key, value in data.items() if key in cls.model_fields and key != "options"}
        given = {key: value for key, value in data.items() if key not in common}
        return handler({**common, "options": _provider_options(data["provider"], given)})

    def provider_options(self, model: type[OptionsT]) -> OptionsT:
        """This account's options as its connector's options model (typed)."""
        if not isinstance(self.options, model):
            raise ConfigError(f"account {self.name!r}: provider {self.provider!r} has options "
                              f"{type(self.options).__name__}, not {model.__name__}")
        return self.options


def _provider_options(name: str, given: dict[str, Any]) -> ProviderOptions:
    """`given` validated by the provider's options model. A key it does not know is refused naming what the
    provider takes (and which provider it belongs to, when it is another one's option)."""
    record = provider(name)
    try:
        return record.options.model_validate(given)
    except ValidationError as error:
        unknown = [e for e in error.errors() if e["type"] == "extra_forbidden"]
        if not unknown:
            raise
        raise ValidationError.from_exception_data(error.title, [
            _unknown_option(record.name, record.option_names, e["loc"], e["input"]) for e in unknown
        ]) from None


def _unknown_option(provider_name: str, options: list[str], loc: tuple[int | str, ...],
                    value: Any) -> InitErrorDetails:
    takes = (f"provider {provider_name!r} takes the common fields and: {', '.join(options)}" if options
             else f"provider {provider_name!r} takes only the common fields")
    owners = [owner for owner in option_owners(str(loc[0])) if owner != provider_name] if loc else []
    belongs = f"; {loc[0]} is an option of {', '.join(owners)}" if owners else ""
    return {"type": PydanticCustomError("unknown_option", f"{UNKNOWN_FIELD} ({takes}{belongs})"), "loc": loc,
            "input": value}


class SyncConfig(Strict):
    backfill_days: int = Field(90, ge=1, le=3650)
    late_window_days: int = Field(3, ge=0, le=60)
    concurrency: int = Field(4, ge=1, le=64)
    account_concurrency: int = Field(4, ge=1, le=64)
    timeout_seconds: float = Field(30.0, gt=0)
    max_retries: int = Field(5, ge=0, le=20)
    max_retry_seconds: float = Field(120.0, ge=0)
    # Bounds of one endpoint task (http.Limits, whose defaults these are): a hostile or broken provider stops there,
    # that task fails and stores nothing, the others go on. The defaults are far above a real 180-day backfill.
    task_seconds: float = Field(1800.0, gt=0)
    task_retry_seconds: float = Field(DEFAULT_LIMITS.retry_seconds, ge=0)
    max_requests_per_task: int = Field(DEFAULT_LIMITS.max_requests, ge=1)
    max_pages_per_task: int = Field(DEFAULT_LIMITS.max_pages, ge=1)
    max_bytes_per_task: int = Field(DEFAULT_LIMITS.max_bytes, ge=1024)
    max_response_bytes: int = Field(DEFAULT_LIMITS.max_response_bytes, ge=1024)
    response_seconds: float = Field(DEFAULT_LIMITS.response_seconds, gt=0)

    def limits(self) -> Limits:
        return Limits(max_requests=self.max_requests_per_task, max_pages=self.max_pages_per_task,
                      max_bytes=self.max_bytes_per_task, max_response_bytes=self.max_response_bytes,
                      response_seconds=self.response_seconds, retry_seconds=self.task_retry_seconds)


class BurnConfig(Strict):
    window_days: int = Field(7, ge=1, le=90)
    method: Literal["mean", "ewma"] = "mean"
    ewma_alpha: ConfigDecimal = Decimal("0.3")
    warning_days: ConfigDecimal = Decimal(14)
    critical_days: ConfigDecimal = Decimal(3)


class ReconcileConfig(Strict):
    min_difference: ConfigDecimal = Decimal(1)
    min_ratio: ConfigDecimal = Decimal("0.10")
    data_delay_hours: dict[str, int] = Field(default_factory=dict)


class FxRate(Strict):
    """`[fx.CNY] rate = "0.1381", date = "2026-11-20"`: 1 CNY is worth `rate` of `to` (USD unless said)."""

    rate: ConfigDecimal
    date: str
    to: str = "USD"

    @field_validator("rate")
    @classmethod
    def _positive(cls, value: Decimal | None) -> Decimal | None:
        if value is None or value <= 0:
            raise ValueError("an exchange rate must be a positive amount, e.g. rate = \"0.1381\"")
        return value


class ChannelConfig(Strict):
    type: Literal["webhook", "slack", "email", "log"]
    url: str | None = None
    url_env: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 587
    starttls: bool = True
    username: str | None = None
    password_env: str | None = None
    sender: str | None = None
    recipients: list[str] = Field(default_factory=list)
    ca_file: str | None = None  # email: trust this CA for STARTTLS (a private mail relay)
    timeout_seconds: float = 10.0
    retries: int = 2


class AlertRule(Strict):
    name: str
    kind: Literal[
        "balance_below",
        "runway_below",
        "spend_today_above",
        "spend_month_above",
        "spend_anomaly",
        "reconcile_flagged",
        "leak_suspect",
        "sync_failing",
        "unpriced_usage",
        "quarantined_items",
    ]
    account: str | None = None
    tag: str | None = None
    project: str | None = None  # a project's id or its name
    key: str | None = None  # an API key's name, the provider's id of it, or a tracked fingerprint
    threshold: ConfigDecimal = None
    days: ConfigDecimal = None
    hours: ConfigDecimal = None
    factor: ConfigDecimal = None
    channels: list[str] = Field(default_factory=lambda: ["log"])
    remind_hours: ConfigDecimal = Decimal(24)


class AlertsConfig(Strict):
    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    rules: list[AlertRule] = Field(default_factory=list)


class ProxyConfig(Strict):
    host: str = "127.0.0.1"
    port: int = 4000
    journal_dir: str | None = None
    queue_size: int = Field(100_000, ge=100)
    batch_size: int = Field(500, ge=1)
    # How long and how much the proxy waits for and reads (these defaults are the proxy's own, see capture.proxy).
    connect_timeout_seconds: float = Field(30.0, gt=0)  # to open a connection to the provider
    read_timeout_seconds: float = Field(600.0, gt=0)  # between two reads of the provider's answer (long streams)
    idle_timeout_seconds: float = Field(30.0, gt=0)  # a client connection without a complete request is closed
    body_timeout_seconds: float = Field(120.0, gt=0)  # to receive a request body the proxy reads whole
    max_request_mb: int = Field(64, ge=1, le=4096)  # a JSON request read whole; larger uploads stream through
    max_connections: int = Field(2048, ge=1)  # client connections open at once; more are closed


class ServeConfig(Strict):
    host: str = "127.0.0.1"
    port: int = 8484
    token_env: str = "CREDITGAUGE_TOKEN"


class OtlpConfig(Strict):
    """The OTLP receiver (`POST /v1/traces`, `/v1/metrics`): which account a span's provider or server address
    belongs to, and which resource and span attributes are kept as tags (`service.name` always is)."""

    accounts: dict[str, str] = Field(default_factory=dict)  # "openai" or "api.openai.com" -> account name
    tags: list[str] = Field(default_factory=lambda: ["deployment.environment", "deployment.environment.name"])


class DisplayConfig(Strict):
    """How pages and the CLI label times. Days stay UTC days (providers bucket by UTC); only moments move."""

    time_zone: str = "UTC"

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone; use an IANA name such as \"America/Los_Angeles\" "
                             "or \"UTC\"") from None
        return value


class Config(Strict):
    path: Path | None = None
    database_url: str | None = None
    accounts: dict[str, AccountConfig] = Field(default_factory=dict)
    sync: SyncConfig = SyncConfig()
    burn: BurnConfig = BurnConfig()
    reconcile: ReconcileConfig = ReconcileConfig()
    fx: dict[str, FxRate] = Field(default_factory=dict)
    alerts: AlertsConfig = AlertsConfig()
    proxy: ProxyConfig = ProxyConfig()
    serve: ServeConfig = ServeConfig()
    otlp: OtlpConfig = OtlpConfig()
    display: DisplayConfig = DisplayConfig()

    def account(self, name: str) -> AccountConfig:
        try:
            return self.accounts[name]
        except KeyError:
            known = ", ".join(sorted(self.accounts)) or "none configured"
            raise ConfigError(
                f"no account named {name!r} in {self.path or 'the config'} (accounts: {known})"
            ) from None

    def resolved_database_url(self) -> str:
        return os.environ.get(DATABASE_ENV) or self.database_url or default_database_url()


def default_config_path() -> Path:
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir("creditgauge")) / "config.toml"


def default_database_url() -> str:
    data_dir = Path(platformdirs.user_data_dir("creditgauge"))
    return f"sqlite:///{data_dir / 'creditgauge.db'}"


def _location(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1] = f"{parts[-1]}[{item}]" if parts else f"[{item}]"
        else:
            parts.append(str(item))
    return ".".join(parts)


def _explain(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return UNKNOWN_FIELD
    if kind == "missing":
        return "required field is missing: add it"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def parse_config(data: dict[str, Any], path: Path | None) -> Config:
    where = str(path) if path else "config"
    try:
        accounts = data.get("accounts", {})
        if isinstance(accounts, dict):
            data = {**data, "accounts": {
                name: {**body, "name": name} if isinstance(body, dict) else body for name, body in accounts.items()
            }}
        config = Config.model_validate({**data, "path": path})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"{where}: {_location(first['loc'])}: {_explain(first)}") from None
    targets = {rate.to.upper() for rate in config.fx.values()}
    if len(targets) > 1:
        found = ", ".join(sorted(targets))
        raise ConfigError(f"{where}: fx: every rate must convert into one currency (found {found})")
    for name, rule_channels in ((r.name, r.channels) for r in config.alerts.rules):
        for channel in rule_channels:
            if channel != "log" and channel not in config.alerts.channels:
                raise ConfigError(
                    f"{where}: alerts.rules {name!r}: channel {channel!r} is not defined; "
                    f"add [alerts.channels.{channel}]"
                )
    return config


def load_config(path: Path | None = None, *, required: bool = False, named_by: str | None = None) -> Config:
    """Read the config file. A missing file is an error when `required` or when the user named it (`named_by`: how,
    e.g. "-c"); only the default path may be absent, which is an empty config."""
    path = path or default_config_path()
    if not path.exists():
        if named_by:
            raise ConfigError(f"config file {path} (named by {named_by}) does not exist; check the path, or run "
                              f"`creditgauge -c {path} init` to write one there")
        if required:
            raise ConfigError(f"{path}: no config file; run `creditgauge init` to write one")
        return Config(path=path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the syntax at that line") from None
    except OSError as exc:
        from creditgauge.filesystem import file_error

        raise file_error(exc, "read the config", path) from None
    return parse_config(data, path)


def resolve_key(account: AccountConfig, *, required: bool = True,
                env: Mapping[str, str] | None = None) -> str | None:
    """The account's key, from its environment variable or key file. It is returned, never logged or stored."""
    variables: Mapping[str, str] = os.environ if env is None else env
    if account.key_env:
        value = variables.get(account.key_env, "").strip()
        if value:
            return value
        if required:
            raise ConfigError(
                f"account {account.name!r}: environment variable {account.key_env} is not set; "
                f"export it with the account's key (or set key_file)"
            )
        return None
    if account.key_file:
        key_path = Path(account.key_file).expanduser()
        try:
            value = key_path.read_text(encoding="utf-8").strip()
        except OSError:
            if required:
                raise ConfigError(
                    f"account {account.name!r}: key_file {key_path} cannot be read; check the path and permissions"
                ) from None
            return None
        if value:
            return value
        if required:
            raise ConfigError(f"account {account.name!r}: key_file {key_path} is empty")
        return None
    if required:
        raise ConfigError(
            f"account {account.name!r}: no key configured; add key_env = \"VARIABLE\" or key_file = \"path\""
        )
    return None
