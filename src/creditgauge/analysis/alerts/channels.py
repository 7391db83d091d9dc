"""Alert channels: a generic JSON webhook, a Slack incoming webhook, email over SMTP (STARTTLS and auth), and
the log. Webhook URLs and SMTP passwords are secrets: they are read from the environment when sending, registered
for redaction, and never appear in an error, a log line or the database."""

from __future__ import annotations

import asyncio
import logging
import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

import aiohttp

from creditgauge.config import ChannelConfig
from creditgauge.errors import ConfigError, CreditgaugeError
from creditgauge.redact import redact, register_secret

log = logging.getLogger("creditgauge.alerts")
LOG_CHANNEL = ChannelConfig(type="log")


class ChannelError(CreditgaugeError):
    """A channel refused or could not be reached; the message names the channel, never its URL or password."""


@dataclass(frozen=True, slots=True)
class Notice:
    rule: str
    subject: str
    event: str  # fired | reminded | resolved | test
    message: str
    at: datetime
    value: str | None = None

    @property
    def title(self) -> str:
        label = {"fired": "ALERT", "reminded": "STILL FIRING", "resolved": "RESOLVED", "test": "TEST"}[self.event]
        return f"[creditgauge] {label} {self.rule}: {self.subject}"

    def payload(self) -> dict[str, Any]:
        return {"source": "creditgauge", "rule": self.rule, "subject": self.subject, "event": self.event,
                "message": self.message, "value": self.value, "at": self.at.isoformat().replace("+00:00", "Z")}


def _secret_from_env(name: str, env_var: str, what: str, env: Mapping[str, str]) -> str:
    value = env.get(env_var, "").strip()
    if not value:
        raise ConfigError(f"alerts.channels.{name}: environment variable {env_var} ({what}) is not set; export it")
    register_secret(value)
    return value


def channel_url(name: str, channel: ChannelConfig, env: Mapping[str, str]) -> str:
    if channel.url_env:
        return _secret_from_env(name, channel.url_env, "the webhook URL", env)
    if channel.url:
        register_secret(channel.url)  # Slack URLs carry their token in the path
        return channel.url
    raise ConfigError(f"alerts.channels.{name}: set url_env = \"VARIABLE\" holding the {channel.type} URL")


async def _post(name: str, channel: ChannelConfig, body: dict[str, Any], env: Mapping[str, str]) -> None:
    # aiohttp rather than httpx: httpx logs every request URL at INFO, and these URLs are secrets.
    url = channel_url(name, channel, env)
    try:
        timeout = aiohttp.ClientTimeout(total=channel.timeout_seconds)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.post(url, json=body) as response:
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise ChannelError(f"channel {name!r} ({channel.type}): cannot reach it ({type(exc).__name__})") from None
    if not 200 <= status < 300:
        raise ChannelError(f"channel {name!r} ({channel.type}): HTTP {status}")


def _email(name: str, channel: ChannelConfig, notice: Notice, env: Mapping[str, str]) -> None:
    if not channel.smtp_host or not channel.recipients or not channel.sender:
        raise ConfigError(f"alerts.channels.{name}: email needs smtp_host, sender and recipients")
    password = _secret_from_env(name, channel.password_env, "the SMTP password", env) if channel.password_env else None
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = notice.title, channel.sender, ", ".join(channel.recipients)
    message.set_content(f"{notice.message}\n\nat {notice.payload()['at']}\n")
    try:
        with smtplib.SMTP(channel.smtp_host, channel.smtp_port, timeout=channel.timeout_seconds) as smtp:
            if channel.starttls:
                smtp.starttls(context=ssl.create_default_context(cafile=channel.ca_file))
            if channel.username and password is not None:
                smtp.login(channel.username, password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        # SMTP replies can echo what was sent; only the class and the reply code leave this function.
        code = getattr(exc, "smtp_code", None)
        detail = f"{type(exc).__name__}" + (f" {code}" if code else "")
        raise ChannelError(f"channel {name!r} (email): {detail}") from None


async def send(name: str, channel: ChannelConfig, notice: Notice, env: Mapping[str, str] | None = None) -> None:
    """Deliver one notice once; raises ChannelError (or ConfigError for a channel set up wrong)."""
    env = os.environ if env is None else env
    if channel.type == "log":
        log.warning("%s: %s", notice.title, redact(notice.message))
    elif channel.type == "webhook":
        await _post(name, channel, notice.payload(), env)
    elif channel.type == "slack":
        await _post(name, channel, {"text": f"*{notice.title}*\n{notice.message}"}, env)
    else:
        await asyncio.to_thread(_email, name, channel, notice, env)


async def deliver(name: str, channel: ChannelConfig, notice: Notice, *, retry_delay: float = 1.0,
                  env: Mapping[str, str] | None = None) -> str | None:
    """Send with `channel.retries` retries and exponential backoff; returns None, or the last error's message."""
    error = ""
    for attempt in range(channel.retries + 1):
        if attempt:
            await asyncio.sleep(retry_delay * 2 ** (attempt - 1))
        try:
            await send(name, channel, notice, env)
            return None
        except ConfigError as exc:
            return redact(str(exc))  # retrying cannot fix a missing setting
        except ChannelError as exc:
            error = redact(str(exc))
            log.info("%s (attempt %d of %d)", error, attempt + 1, channel.retries + 1)
    attempts = channel.retries + 1
    return f"{error} after {attempts} attempt{'s' if attempts > 1 else ''}"
