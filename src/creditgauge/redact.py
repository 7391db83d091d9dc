"""Keep secrets out of every message, log line and export.

`redact` masks keys we were given (`register_secret`), anything shaped like a registered provider's key
(`Provider.key_patterns`), and whatever stands where a credential goes (an Authorization or api-key header's value,
a `key=` query parameter), so a key of an unknown shape in a malformed request line is masked too.
`install_log_redaction` puts it in front of every log record of the process, whichever logger made it
(creditgauge's, aiohttp's "Error handling request" with the raw header line, uvicorn's, httpx's) and whichever
handler takes it, traceback text included."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from typing import Any

from creditgauge.providers.registry import key_pattern

# Values in credential positions, whatever their shape: header lines (also as Python reprs of header tuples,
# `'authorization': 'Bearer ...'`) and query parameters.
_CREDENTIAL_PATTERN = re.compile(
    r"(?i)((?:proxy-)?authorization['\"]?\s*[:=,]\s*['\"]?(?:bearer\s+|basic\s+|token\s+)?"
    r"|(?:x-api-key|x-goog-api-key|api-key|x-admin-key)['\"]?\s*[:=,]\s*['\"]?"
    r"|[?&;](?:key|api_key|apikey|access_token|token)="
    r"|\bbearer\s+(?=[^\s'\",&;\\]*\d))"
    r"([^\s'\",&;\\]{4,})"
)
# Exceptions whose text quotes raw bytes of a malformed request (aiohttp's HTTP parser errors quote the header
# line or URL, sometimes without the header's name): a key there may have any shape, so only the class is logged.
_RAW_REQUEST_ERRORS = ("aiohttp.http_exceptions",)
_known: set[str] = set()
_lock = threading.Lock()
MASK = "[redacted]"


def register_secret(secret: str | None) -> None:
    """Remember a secret so `redact` masks it wherever it appears, whatever its shape."""
    if secret and len(secret) >= 6:
        with _lock:
            _known.add(secret)


def redact(text: str) -> str:
    for secret in sorted(_known, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    shaped = key_pattern()
    if shaped is not None:
        text = shaped.sub(MASK, text)
    return _CREDENTIAL_PATTERN.sub(lambda match: match.group(1) + MASK, text)


def fingerprint(secret: str) -> str:
    """A short one-way fingerprint of a key, enough to split spend per key, useless to call an API with."""
    return "fp_" + hashlib.sha256(secret.encode("utf-8")).hexdigest()[:12]


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """The record with its message, traceback and stack text redacted (the traceback is formatted here, so no
    handler formats the raw exception again)."""
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # arguments that do not fit the format: keep both, redacted as text
        message = f"{record.msg} {record.args}"
    clean = redact(message)
    if clean != message or record.args:
        record.msg, record.args = clean, None
    if record.exc_info:
        error = record.exc_info[1]
        if type(error).__module__ in _RAW_REQUEST_ERRORS:
            record.exc_text = f"{type(error).__name__} (the malformed request's text is not logged)"
        else:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        record.exc_info = None
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


def install_log_redaction() -> None:
    """Redact every log record as it is made, whichever logger makes it and whichever handler takes it later
    (libraries such as uvicorn attach handlers of their own, which a filter on the root's handlers never sees)."""
    current = logging.getLogRecordFactory()
    if getattr(current, "redacting", False):
        return

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(current(*args, **kwargs))

    make_record.redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make_record)
