"""`--llm-block-network`: nothing leaves the machine while llm tests run.

Blocked: connections (`connect`, `connect_ex`, TCP or UDP), datagrams
(`sendto`, `sendmsg` to an address), and name resolution (`getaddrinfo`,
`gethostbyname`, `gethostbyname_ex`, `gethostbyaddr`, `getnameinfo`), which
would otherwise send a DNS query before any connection is refused. Loopback
("localhost", `*.localhost`, 127.0.0.0/8, ::1) and the allowed hosts stay
reachable; unix sockets never leave the machine. Each blocked operation
raises `NetworkBlocked` (a BaseException, so SDK retry loops cannot swallow it).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Callable, Iterable
from typing import Any

from pytest_llmops.recording.refusals import Refusal

_allowed: frozenset[str] = frozenset()
_blocking = False


class NetworkBlocked(Refusal):
    def __init__(self, target: str) -> None:
        super().__init__(
            f"network access to {target} blocked by --llm-block-network during an llm test. "
            "Replay from a cassette, or allow the host with --llm-allowed-hosts."
        )


def is_local(host: str) -> bool:
    """localhost, a `.localhost` name, or a loopback address (IPv4-mapped IPv6 included)."""
    if host in ("localhost", "") or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return ip.is_loopback or (ip.version == 6 and ip.ipv4_mapped is not None and ip.ipv4_mapped.is_loopback)


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return True


def _permitted(host: str) -> bool:
    return is_local(host) or host in _allowed


def permitted(host: str) -> bool:
    """Whether --llm-block-network lets `host` be reached (loopback, or allowed)."""
    return _permitted(host.lower())


def blocking() -> bool:
    return _blocking


def _check_address(sock: socket.socket, address: Any, what: str = "") -> None:
    if not _blocking:  # left in place as a pass-through under another patch (see `unblock`)
        return
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple):
        return  # unix sockets and friends never leave the machine
    host = str(address[0]).lower()
    if not _permitted(host):
        raise NetworkBlocked(f"{host}:{address[1]}{what}")


def _check_name(host: Any, what: str) -> None:
    """A lookup of `host`: IP literals need no query; other names must be local or allowed."""
    if host is None or not _blocking:
        return
    name = (host.decode("idna") if isinstance(host, bytes) else str(host)).lower().rstrip(".")
    if is_ip_literal(name) or _permitted(name):
        return
    raise NetworkBlocked(f"{name} ({what})")


# --- the replacements: each checks, then calls the original ------------------------------------------

_originals: dict[tuple[Any, str], Callable[..., Any]] = {}


def _original(owner: Any, name: str) -> Callable[..., Any]:
    return _originals.get((owner, name)) or getattr(owner, name)


def wrapped(owner: Any, name: str) -> Callable[..., Any] | None:
    """What our patch of `owner.name` calls through to, when our patch is the one installed there. The
    fail-closed guard (`guard.py`) patches some of the same functions: each wraps the other at most
    once, so neither ends up calling itself."""
    replacement = _REPLACEMENTS.get((owner, name))
    if replacement is not None and getattr(owner, name, None) is replacement:
        return _originals.get((owner, name))
    return None


def _connect(self: socket.socket, address: Any) -> None:
    _check_address(self, address)
    _original(socket.socket, "connect")(self, address)


def _connect_ex(self: socket.socket, address: Any) -> int:
    _check_address(self, address)
    result: int = _original(socket.socket, "connect_ex")(self, address)
    return result


def _sendto(self: socket.socket, data: Any, *args: Any) -> int:
    _check_address(self, args[-1], " (datagram)")  # sendto(data, address) / sendto(data, flags, address)
    result: int = _original(socket.socket, "sendto")(self, data, *args)
    return result


def _sendmsg(self: socket.socket, buffers: Any, *args: Any) -> int:
    if len(args) >= 3 and args[2] is not None:  # sendmsg(buffers, ancdata, flags, address)
        _check_address(self, args[2], " (datagram)")
    result: int = _original(socket.socket, "sendmsg")(self, buffers, *args)
    return result


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    _check_name(host, "name lookup")
    return _original(socket, "getaddrinfo")(host, *args, **kwargs)


def _gethostbyname(host: str) -> str:
    _check_name(host, "name lookup")
    result: str = _original(socket, "gethostbyname")(host)
    return result


def _gethostbyname_ex(host: str) -> Any:
    _check_name(host, "name lookup")
    return _original(socket, "gethostbyname_ex")(host)


def _gethostbyaddr(host: str) -> Any:
    _check_reverse(host)
    return _original(socket, "gethostbyaddr")(host)


def _getnameinfo(address: Any, flags: int) -> Any:
    if isinstance(address, tuple) and not flags & socket.NI_NUMERICHOST:
        _check_reverse(str(address[0]))
    return _original(socket, "getnameinfo")(address, flags)


def _check_reverse(host: str) -> None:
    """A reverse lookup of an address asks DNS unless the address is loopback or allowed."""
    name = host.lower()
    if not _permitted(name):
        raise NetworkBlocked(f"{name} (reverse name lookup)")


_PATCHES: tuple[tuple[Any, str, Callable[..., Any]], ...] = (
    (socket.socket, "connect", _connect),
    (socket.socket, "connect_ex", _connect_ex),
    (socket.socket, "sendto", _sendto),
    (socket.socket, "sendmsg", _sendmsg),
    (socket, "getaddrinfo", _getaddrinfo),
    (socket, "gethostbyname", _gethostbyname),
    (socket, "gethostbyname_ex", _gethostbyname_ex),
    (socket, "gethostbyaddr", _gethostbyaddr),
    (socket, "getnameinfo", _getnameinfo),
)
_REPLACEMENTS = {(owner, name): replacement for owner, name, replacement in _PATCHES}


def block(allowed_hosts: Iterable[str] = ()) -> None:
    """Block outbound traffic. Allowed host names are resolved once, so their IPs pass too."""
    global _allowed, _blocking
    names = {h.lower() for h in allowed_hosts}
    lookup = _original(socket, "getaddrinfo")
    for name in list(names):
        with contextlib.suppress(OSError):
            names.update(str(info[4][0]) for info in lookup(name, None))
    _allowed = frozenset(names)
    if _blocking:
        return
    for owner, name, replacement in _PATCHES:
        if hasattr(owner, name) and (owner, name) not in _originals:  # sendmsg is missing on Windows
            _originals[(owner, name)] = getattr(owner, name)
            setattr(owner, name, replacement)
    _blocking = True


def unblock() -> None:
    global _blocking
    if not _blocking:
        return
    for (owner, name), original in list(_originals.items()):
        # Another patch (the guard) may sit on top of ours and call through it: then ours stays in
        # place as a pass-through (it checks only while blocking) instead of cutting that patch out.
        if getattr(owner, name) is _REPLACEMENTS[(owner, name)]:
            setattr(owner, name, original)
            del _originals[(owner, name)]
    _blocking = False
