"""Whether a TCP port can be listened on, checked before a server announces its address, and a free one to use."""

from __future__ import annotations

import socket

from creditgauge.errors import CreditgaugeError


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind: TIME_WAIT is no obstacle
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def require_free_port(host: str, port: int, *, option: str = "--port") -> None:
    """Raise one line (exit 1) when something already listens on host:port."""
    if not port_is_free(host, port):
        raise CreditgaugeError(f"port {port} on {host} is in use (another creditgauge, or another program); "
                               f"stop it, or pass {option} with a free port")


def any_free_port(host: str) -> int:
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
