"""Alerts delivered for real: a local webhook receiver and an aiosmtpd server with STARTTLS and auth. Fire once,
remind, resolve, survive a restart, a channel that is down (retried, reported, the others still served), and
planted secrets found nowhere."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import logging
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from factories import NOW, make_config, tracked
from sqlalchemy import select

from creditgauge.analysis.alerts.engine import check_alerts, send_test_notice
from creditgauge.fakes.server import FakeServer
from creditgauge.store import schema
from creditgauge.store.alerts import alert_history, alert_states
from creditgauge.store.engine import open_engine
from creditgauge.store.ledger import add_entry

HOOK_TOKEN = "whsec-PLANTED-9f8e7d6c5b4a"
DOWN_TOKEN = "slack-PLANTED-1a2b3c4d5e6f"
SMTP_PASSWORD = "smtp-PLANTED-pass-7788"
SECRETS = (HOOK_TOKEN, DOWN_TOKEN, SMTP_PASSWORD)


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 that records what it is sent, or answers `status` when told to."""

    status: int = 200
    received: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        if self.status != 200:
            return web.Response(status=self.status, text=f"down, token {request.match_info['token']}")
        self.received.append(await request.json())
        return web.Response(text="ok")


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    hook = Receiver()
    app = web.Application()
    app.router.add_post("/hook/{token}", hook.handle)
    server = FakeServer(app)
    url = server.start()
    yield hook, url
    server.stop()


def _certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                    x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp.crt", directory / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"alerts", SMTP_PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[tuple[Mailbox, int, Path]]:
    cert, key = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox, port = Mailbox(), _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                            auth_required=True, authenticator=_authenticate)
    controller.start()
    yield mailbox, port, cert
    controller.stop()


def alert_config(hook_url: str, smtp_port: int, cert: Path, channels: list[str]) -> Any:
    return make_config({"oa": {"provider": "openai", "key_env": "K"}}, alerts={
        "channels": {
            "hook": {"type": "webhook", "url_env": "HOOK_URL", "retries": 1},
            "mail": {"type": "email", "smtp_host": "127.0.0.1", "smtp_port": smtp_port, "username": "alerts",
                     "password_env": "SMTP_PASSWORD", "sender": "creditgauge@example.test",
                     "recipients": ["ops@example.test"], "ca_file": str(cert), "retries": 0},
            "down": {"type": "slack", "url_env": "DOWN_URL", "retries": 2},
        },
        "rules": [{"name": "low-balance", "kind": "balance_below", "account": "oa", "threshold": "50",
                   "channels": channels, "remind_hours": "6"}],
    })


@pytest.fixture
def env(receiver, monkeypatch) -> dict[str, str]:
    _, url = receiver
    values = {"HOOK_URL": f"{url}/hook/{HOOK_TOKEN}", "DOWN_URL": f"{url}/hook/{DOWN_TOKEN}",
              "SMTP_PASSWORD": SMTP_PASSWORD}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def check(config, engine, hours: float = 0):
    now = NOW + dt.timedelta(hours=hours)
    return asyncio.run(check_alerts(config, engine, now=now, retry_delay=0.01))


def spend_to(engine, amount: str, hours: float = 0) -> None:
    tracked(engine, "oa", NOW - dt.timedelta(hours=1) + dt.timedelta(hours=hours), amount)


def deposit(engine, amount: str) -> None:
    add_entry(engine, account="oa", kind="deposit", amount=Decimal(amount), currency="USD",
              at=NOW - dt.timedelta(days=2), expires_at=None, note=None, created_at=NOW)


def test_fire_once_remind_resolve_and_survive_a_restart(database_url, receiver, smtp, env, caplog):
    caplog.set_level(logging.INFO)
    hook, _ = receiver
    mailbox, port, cert = smtp
    config = alert_config("", port, cert, ["hook", "mail", "log"])
    engine = open_engine(database_url)
    deposit(engine, "100")
    spend_to(engine, "20")
    assert check(config, engine).transitions == []  # 80 left: fine, nothing sent, nothing stored

    spend_to(engine, "45")
    fired = check(config, engine, hours=1)
    assert [t.event for t in fired.transitions] == ["fired"] and not fired.failures
    assert len(hook.received) == len(mailbox.messages) == 1
    assert hook.received[0]["event"] == "fired" and "35.00 USD is below 50" in hook.received[0]["message"]
    assert mailbox.messages[0]["Subject"] == "[creditgauge] ALERT low-balance: oa/USD"
    assert "ALERT low-balance" in caplog.text

    assert check(config, engine, hours=2).transitions == []  # still firing, too early to remind
    engine.dispose()

    engine = open_engine(database_url)  # a restart: the state comes from the store
    assert alert_states(engine)[("low-balance", "oa/USD")].state == "firing"
    assert check(config, engine, hours=4).transitions == []
    reminded = check(config, engine, hours=7)
    assert [t.event for t in reminded.transitions] == ["reminded"]
    assert len(hook.received) == 2 and hook.received[1]["event"] == "reminded"

    deposit(engine, "100")
    resolved = check(config, engine, hours=8)
    assert [t.event for t in resolved.transitions] == ["resolved"]
    assert hook.received[2]["event"] == "resolved" and "back at or above 50" in hook.received[2]["message"]
    assert mailbox.messages[2]["Subject"].startswith("[creditgauge] RESOLVED")
    assert check(config, engine, hours=20).transitions == []
    assert [e.event for e in reversed(alert_history(engine))] == ["fired", "reminded", "resolved"]
    engine.dispose()


def test_a_channel_that_is_down_is_retried_reported_and_the_others_are_served(sqlite_engine, receiver, smtp, env):
    hook, url = receiver
    mailbox, port, cert = smtp
    config = alert_config(url, port, cert, ["down", "mail"])
    deposit(sqlite_engine, "10")
    hook.status = 503  # the receiver behind "down" answers 503 to everything

    report = check(config, sqlite_engine)

    assert hook.attempts == 3  # one try and two retries
    assert len(mailbox.messages) == 1
    [(_, delivery)] = report.failures
    assert delivery.channel == "down" and "HTTP 503 after 3 attempts" in (delivery.error or "")
    events = {(e.event, tuple(e.channels or ())) for e in alert_history(sqlite_engine)}
    assert events == {("fired", ("mail",)), ("channel_failed", ("down",))}


def test_unreachable_channel_and_a_wrong_password(sqlite_engine, smtp, env, monkeypatch):
    mailbox, port, cert = smtp
    monkeypatch.setenv("HOOK_URL", f"http://127.0.0.1:{_free_port()}/hook/{HOOK_TOKEN}")
    monkeypatch.setenv("SMTP_PASSWORD", SMTP_PASSWORD + "-wrong")
    config = alert_config("", port, cert, ["hook", "mail"])
    hook = asyncio.run(send_test_notice(config, "hook", now=NOW, retry_delay=0.01))
    mail = asyncio.run(send_test_notice(config, "mail", now=NOW, retry_delay=0.01))
    assert "cannot reach it" in (hook.error or "")
    assert "SMTPAuthenticationError 535" in (mail.error or "") and not mailbox.messages


def test_planted_secrets_are_found_nowhere(sqlite_engine, receiver, smtp, env, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    hook, _ = receiver
    _, port, cert = smtp
    config = alert_config("", port, cert, ["down", "hook", "mail", "log"])
    deposit(sqlite_engine, "10")
    hook.status = 500  # "down" and "hook" share the receiver: both fail, with the token in the response body
    report = check(config, sqlite_engine)
    assert len(report.failures) == 2

    with sqlite_engine.connect() as connection:
        stored = "\n".join(str(tuple(row)) for table in schema.metadata.sorted_tables
                           for row in connection.execute(select(table)))
    out = capsys.readouterr()
    visible = "\n".join([caplog.text, str(report.to_dict()), stored, out.out, out.err])
    for secret in SECRETS:
        assert secret not in visible
