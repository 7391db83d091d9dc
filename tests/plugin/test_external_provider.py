"""A provider from outside creditgauge: the package beside this file is really installed (pip, into a directory of
its own), found through its entry point, configured with an option of its own in the flat account table, and synced
by the `creditgauge` command against a fake endpoint on 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from creditgauge.store import schema
from creditgauge.store.engine import make_engine
from support import assert_found_nowhere

PACKAGE = Path(__file__).parent / "creditgauge-example-provider"
KEY = "exk-planted0123456789"
OTHER_KEY = "exk-notours0123456789"  # a key of the plugin's shape that nobody registered as a secret
WALLETS = {"eu": {"balance": "42.10", "currency": "EUR"}, "us": {"balance": "7.00", "currency": "USD"}}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plugin installed as pip installs it (its dist-info carries the entry point), apart from our package."""
    work = tmp_path_factory.mktemp("plugin")
    source, target = work / "source", work / "site"
    shutil.copytree(PACKAGE, source)  # pip builds in the source tree: keep this checkout clean
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                    str(source)], check=True, capture_output=True)
    return target


class Wallets(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urlsplit(self.path)
        region = parse_qs(url.query).get("region", [""])[0]
        if self.headers.get("authorization") != f"Bearer {KEY}":
            self._answer(401, {"error": f"key {OTHER_KEY} is revoked; use another"})
        elif url.path != "/v1/wallet" or region not in WALLETS:
            self._answer(404, {"error": "no such wallet"})
        else:
            self._answer(200, WALLETS[region])

    def _answer(self, status: int, body: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def fake_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Wallets)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def creditgauge(site: Path, config: Path, *args: str, key: str = KEY) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
           "EXAMPLE_KEY": key, "COLUMNS": "80"}
    return subprocess.run([sys.executable, "-m", "creditgauge", "--config", str(config), *args],
                          capture_output=True, text=True, env=env, timeout=120)


def write_config(tmp_path: Path, database: str, account: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'database_url = "{database}"\n[accounts.wallet]\nprovider = "example"\n'
                    f'key_env = "EXAMPLE_KEY"\n{account}\n', encoding="utf-8")
    return path


def test_an_installed_plugin_syncs_with_its_own_option(site: Path, fake_url: str, tmp_path: Path,
                                                        sqlite_url: str) -> None:
    config = write_config(tmp_path, sqlite_url, f'base_url = "{fake_url}"\nregion = "eu"')

    providers = creditgauge(site, config, "providers", "--json")
    assert providers.returncode == 0, providers.stderr
    row = json.loads(providers.stdout)["rows"][0]
    assert (row["provider"], row["capabilities"], row["key_found"]) == ("example", ["balance"], True)

    result = creditgauge(site, config, "sync", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["status"] == "ok"
    engine = make_engine(sqlite_url)
    with engine.connect() as connection:
        rows = connection.execute(select(schema.balance_snapshots)).mappings().all()
    assert [(r["account"], r["source"], Decimal(r["amount"]), r["currency"], r["details"]) for r in rows] == [
        ("wallet", "wallet", Decimal("42.10"), "EUR", {"region": "eu"})]
    assert_found_nowhere(KEY, engine, result.stdout, result.stderr, providers.stdout)
    engine.dispose()


def test_the_plugins_key_shape_is_masked_in_what_it_reports(site: Path, fake_url: str, tmp_path: Path,
                                                             sqlite_url: str) -> None:
    config = write_config(tmp_path, sqlite_url, f'base_url = "{fake_url}"\nregion = "eu"')
    result = creditgauge(site, config, "sync", "--json", key="exk-wrongwrongwrong1")
    assert result.returncode == 1
    error = json.loads(result.stdout)["results"][0]["error"]
    assert "HTTP 401: key [redacted] is revoked" in error
    assert OTHER_KEY not in result.stdout + result.stderr and "exk-wrongwrongwrong1" not in result.stdout


def test_the_plugins_unknown_option_is_refused_with_its_valid_ones(site: Path, tmp_path: Path,
                                                                   sqlite_url: str) -> None:
    config = write_config(tmp_path, sqlite_url, 'regoin = "eu"')
    result = creditgauge(site, config, "sync")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "accounts.wallet.regoin: unknown field" in lines[0]
    assert "provider 'example' takes the common fields and: region" in lines[0]


def test_another_providers_option_is_refused_saying_whose_it_is(site: Path, tmp_path: Path,
                                                                sqlite_url: str) -> None:
    config = write_config(tmp_path, sqlite_url, 'region = "eu"\nteam_id = "t-1"')
    result = creditgauge(site, config, "sync")
    assert result.returncode == 2
    assert "accounts.wallet.team_id: unknown field" in result.stderr and "team_id is an option of xai" in result.stderr


def test_without_the_plugin_the_provider_is_unknown(tmp_path: Path, sqlite_url: str) -> None:
    config = write_config(tmp_path, sqlite_url, 'region = "eu"')
    result = creditgauge(Path(tmp_path / "nothing-installed"), config, "sync")
    assert result.returncode == 2 and "unknown provider 'example'" in result.stderr
