"""Whether a TCP port can be listened on, checked before a server announces its address, and a free one to use."""

from __future__ import annotations

import errno
import socket

from creditgauge.errors import ConfigError, CreditgaugeError


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _bind_error(host: str, port: int) -> OSError | None:
    """Why host:port cannot be listened on, or None when it can."""
    try:
        with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind: TIME_WAIT is no obstacle
            probe.bind((host, port))
    except OSError as error:  # socket.gaierror (a host name that does not resolve) included
        return error
    return None


def port_is_free(host: str, port: int) -> bool:
    return _bind_error(host, port) is None


def require_free_port(host: str, port: int, *, option: str = "--port") -> None:
    """Raise one line when host:port cannot be listened on: in use (exit 1), or a host that is not an address of
    this machine (exit 2, a usage error: the fix is --host)."""
    error = _bind_error(host, port)
    if error is None:
        return
    if error.errno == errno.EADDRINUSE:
        raise CreditgaugeError(f"port {port} on {host} is in use (another creditgauge, or another program); "
                               f"stop it, or pass {option} with a free port")
    if isinstance(error, socket.gaierror) or error.errno == errno.EADDRNOTAVAIL:
        raise ConfigError(f"cannot listen on {host}: it is not an address of this machine; check --host "
                          "(127.0.0.1 for this machine only, 0.0.0.0 for every interface)")
    raise CreditgaugeError(f"cannot listen on {host} port {port}: {error.strerror or error}; pass {option} with "
                           "another port (ports below 1024 need root)")


def any_free_port(host: str) -> int:
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
