"""`--llm-block-network`: refuse every socket connection that leaves the machine while llm tests run."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import pytest

_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex
_allowed: frozenset[str] = frozenset()
_blocking = False


class NetworkBlocked(pytest.fail.Exception):  # type: ignore[name-defined,misc]
    """A BaseException like CassetteMiss, so SDK retry loops cannot turn it into a slow 'Connection error'."""

    def __init__(self, target: str) -> None:
        super().__init__(
            msg=f"network access to {target} blocked by --llm-block-network during an llm test. "
            "Replay from a cassette, or allow the host with --llm-allowed-hosts.",
            pytrace=False,
        )


def _is_local(host: str) -> bool:
    if host in ("localhost", "") or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return ip.is_loopback or (ip.version == 6 and ip.ipv4_mapped is not None and ip.ipv4_mapped.is_loopback)


def _check(sock: socket.socket, address: Any) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple):
        return  # unix sockets and friends never leave the machine
    host = str(address[0]).lower()
    if _is_local(host) or host in _allowed:
        return
    raise NetworkBlocked(f"{host}:{address[1]}")


def _connect(self: socket.socket, address: Any) -> None:
    _check(self, address)
    _original_connect(self, address)


def _connect_ex(self: socket.socket, address: Any) -> int:
    _check(self, address)
    return _original_connect_ex(self, address)


def block(allowed_hosts: Iterable[str] = ()) -> None:
    """Block outbound connections. Allowed host names are resolved once, so their IPs pass too."""
    global _allowed, _blocking
    names = {h.lower() for h in allowed_hosts}
    for name in list(names):
        with contextlib.suppress(OSError):
            names.update(str(info[4][0]) for info in socket.getaddrinfo(name, None))
    _allowed = frozenset(names)
    setattr(socket.socket, "connect", _connect)  # noqa: B010 - mypy rejects assigning to a method
    setattr(socket.socket, "connect_ex", _connect_ex)  # noqa: B010
    _blocking = True


def unblock() -> None:
    global _blocking
    if _blocking:
        setattr(socket.socket, "connect", _original_connect)  # noqa: B010
        setattr(socket.socket, "connect_ex", _original_connect_ex)  # noqa: B010
        _blocking = False
