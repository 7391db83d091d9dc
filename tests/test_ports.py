"""Listening checks made before a server prints its address: each failure is one line with its own fix."""

from __future__ import annotations

import socket

import pytest

from creditgauge.errors import ConfigError, CreditgaugeError
from creditgauge.ports import port_is_free, require_free_port


def test_a_port_in_use_is_a_runtime_error_naming_the_port() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert not port_is_free("127.0.0.1", port)
        with pytest.raises(CreditgaugeError, match=f"port {port} on 127.0.0.1 is in use") as caught:
            require_free_port("127.0.0.1", port)
    assert caught.value.exit_code == 1


def test_a_host_that_is_not_this_machine_is_a_usage_error_naming_host_not_a_busy_port() -> None:
    host = "192.0.2.1"  # TEST-NET-1: never an address of this machine (binding to it sends nothing)
    with pytest.raises(ConfigError, match=f"cannot listen on {host}: it is not an address of this machine; "
                                          "check --host") as caught:
        require_free_port(host, 18123)
    assert caught.value.exit_code == 2 and "in use" not in str(caught.value)


def test_a_free_port_passes() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    require_free_port("127.0.0.1", port)
