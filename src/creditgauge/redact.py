"""Keep secrets out of every message, log line and export."""

from __future__ import annotations

import hashlib
import logging
import re
import threading

# Shapes of provider keys, so even a key we were never told about is masked in messages.
_KEY_PATTERN = re.compile(
    r"(sk-(?:ant-|admin-|proj-|or-v1-|svcacct-)?[A-Za-z0-9_\-]{8,}|xai-[A-Za-z0-9_\-]{8,}|gsk_[A-Za-z0-9]{8,}"
    r"|sess-[A-Za-z0-9]{8,}|AIza[0-9A-Za-z_\-]{20,})"
)
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
    return _KEY_PATTERN.sub(MASK, text)


def fingerprint(secret: str) -> str:
    """A short one-way fingerprint of a key, enough to split spend per key, useless to call an API with."""
    return "fp_" + hashlib.sha256(secret.encode("utf-8")).hexdigest()[:12]


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def install_log_redaction() -> None:
    """Attach the filter to every handler of the root logger (filters on loggers do not see propagated records)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
