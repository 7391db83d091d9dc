"""OAuth access tokens for Google Cloud APIs, the Google way: a credentials file the account names (a service-account
key or an authorized-user file) or Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud, the
metadata server). Built on google-auth, the optional extra `creditgauge[google]`, imported only when used.

google-auth is synchronous (it signs a JWT and POSTs it to the token endpoint, or asks the metadata server), so
loading and refreshing run in a worker thread and never block the event loop. The token and the file's secrets are
registered for redaction; none of them is ever logged or put in a message."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from creditgauge.errors import AuthError, ConfigError, ProviderError
from creditgauge.redact import redact, register_secret

INSTALL_HINT = "pip install 'creditgauge[google]'"
ADC_ENV = "GOOGLE_APPLICATION_CREDENTIALS"
_SECRET_FIELDS = ("private_key", "client_secret", "refresh_token")


def import_google_auth() -> Any:
    """The google.auth package, or a ConfigError that says how to install it."""
    try:
        import google.auth
        import google.auth.exceptions
        import google.auth.transport.requests
        import google.oauth2.credentials
        import google.oauth2.service_account
    except ImportError:
        raise ConfigError(f"Google Cloud credentials need the google-auth package: {INSTALL_HINT}") from None
    return google


class GoogleTokens:
    """Hands out a valid access token for `scopes`, refreshed (once, under a lock) when missing or expiring."""

    def __init__(self, *, credentials_file: str | None, scopes: tuple[str, ...], timeout: float, who: str) -> None:
        self._google = import_google_auth()
        self._file = Path(credentials_file).expanduser() if credentials_file else None
        if self._file is not None and not self._file.is_file():
            raise ConfigError(f"{who}: credentials_file {self._file} does not exist; point it at a service-account "
                              f"key file, or remove it to use Application Default Credentials ({ADC_ENV})")
        self._scopes = scopes
        self._timeout = timeout
        self._who = who
        self._credentials: Any = None
        self._lock = asyncio.Lock()

    @property
    def source(self) -> str:
        """Where the credentials come from, for messages."""
        if self._file is not None:
            return f"credentials_file {self._file}"
        return f"Application Default Credentials ({ADC_ENV}={os.environ.get(ADC_ENV) or 'unset'})"

    async def token(self) -> str:
        async with self._lock:
            if self._credentials is None or not self._credentials.valid:
                await asyncio.to_thread(self._refresh)
            return str(self._credentials.token)

    # -- in the worker thread ------------------------------------------------------------------------------------
    def _refresh(self) -> None:
        google = self._google
        if self._credentials is None:
            self._credentials = self._load()
        session = google.auth.transport.requests.Request()

        def request(*args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("timeout", self._timeout)  # google-auth's own default is 120 s
            return session(*args, **kwargs)

        try:
            self._credentials.refresh(request)
        except google.auth.exceptions.RefreshError as exc:
            raise AuthError(redact(
                f"{self._who}: Google refused the {self.source}: {self._reason(exc)}; create a new key for the "
                f"service account (IAM > Service accounts > Keys) or fix the file"
            ), provider="gemini", endpoint="token") from None
        except google.auth.exceptions.TransportError as exc:
            raise ProviderError(redact(f"{self._who}: cannot reach Google's token endpoint: {self._reason(exc)}"),
                                provider="gemini", endpoint="token") from None
        register_secret(self._credentials.token)

    def _load(self) -> Any:
        google = self._google
        if self._file is None:
            try:
                credentials, _project = google.auth.default(scopes=list(self._scopes))
            except google.auth.exceptions.DefaultCredentialsError as exc:
                raise ConfigError(redact(
                    f"{self._who}: no Google credentials found ({self._reason(exc)}); set credentials_file to a "
                    f"service-account key, export {ADC_ENV}, or run `gcloud auth application-default login`"
                )) from None
            return credentials
        return self._load_file(self._file)

    def _load_file(self, path: Path) -> Any:
        """Service-account keys and authorized-user files only: the generic loader would also follow external
        credential configs (URLs, executables), which a billing reader has no business running."""
        google = self._google
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{self._who}: credentials_file {path} is not readable JSON ({type(exc).__name__})") \
                from None
        if not isinstance(info, dict):
            raise ConfigError(f"{self._who}: credentials_file {path} is not a Google credentials JSON object")
        for field in _SECRET_FIELDS:
            if isinstance(info.get(field), str):
                register_secret(info[field])
        kind = info.get("type")
        try:
            if kind == "service_account":
                return google.oauth2.service_account.Credentials.from_service_account_info(
                    info, scopes=list(self._scopes))
            if kind == "authorized_user":
                return google.oauth2.credentials.Credentials.from_authorized_user_info(info, scopes=list(self._scopes))
        except (ValueError, KeyError) as exc:
            raise ConfigError(redact(f"{self._who}: credentials_file {path} is not a usable {kind} file: "
                                     f"{self._reason(exc)}")) from None
        raise ConfigError(f"{self._who}: credentials_file {path} has type {kind!r}; use a service-account key "
                          f"(type service_account) or an authorized_user file, or Application Default Credentials")

    @staticmethod
    def _reason(exc: BaseException) -> str:
        """google-auth puts the readable part first in args; the rest can be a whole response body."""
        return str(exc.args[0]) if exc.args else type(exc).__name__
