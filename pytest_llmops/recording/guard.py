"""The fail-closed guard: what an llm test sends that no interception accounts for.

The interceptions (`recording/transports/`) answer every HTTP request of the
libraries they patch from the cassette, before a socket is opened. Anything
else an llm test does on the network passes here, at the socket
(`socket.connect`, `connect_ex`, `getaddrinfo`); the http.client interception
hands over the requests it leaves alone (`check_http_client`), and grpc and
pycurl, which connect in C, are checked where they connect (`check_native`):

- replaying (the test's cassette cannot record): a connection that leaves the
  machine, a name lookup of a host that is not loopback, a loopback connection
  to a port an LLM base URL points at, and an `http.client` request shaped
  like an LLM call are refused with a message naming the host and, from the
  stack, the library;
- recording: the same traffic is let through and remembered, so the test ends
  with a warning (a failure under --llm-block-network) that it was not recorded;
  under --llm-budget-usd it is refused, since its spend could not be counted;
- other loopback connections (a local database, a vector store) stay allowed.

Outside llm tests of a replay run, requests to provider hosts and LLM-shaped
requests are refused. Standard library only: this module is imported at start-up.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import socket
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pytest_llmops.recording.network import is_ip_literal, is_local
from pytest_llmops.recording.refusals import Refusal

if TYPE_CHECKING:
    import http.client

PROVIDER_HOSTS = frozenset(
    {
        "api.openai.com",
        "api.anthropic.com",
        "generativelanguage.googleapis.com",
        "api.mistral.ai",
        "api.groq.com",
        "api.together.xyz",
        "api.together.ai",
        "api.cohere.ai",
        "api.cohere.com",
        "api.deepseek.com",
        "api.fireworks.ai",
        "api.x.ai",
        "api.perplexity.ai",
        "openrouter.ai",
        "api.deepinfra.com",
        "inference.ai.azure.com",
    }
)
_PROVIDER_HOST_PATTERN = re.compile(
    r"(^|\.)(openai\.azure\.com|cognitiveservices\.azure\.com|services\.ai\.azure\.com)$"
    r"|^bedrock-runtime(-fips)?\.[a-z0-9-]+\.amazonaws\.com$"
    r"|(^|-)aiplatform\.googleapis\.com$"
)
_LLM_PATH = re.compile(
    r"(/chat/completions|/completions|/v1/messages|/v1/responses|/embeddings"
    r"|:(stream)?generatecontent|/model/[^/]+/(converse|converse-stream|invoke|invoke-with-response-stream)"
    r"|/api/(chat|generate|embed))/?$",
    re.IGNORECASE,
)
BASE_URL_ENV_VARS = (
    "OPENAI_BASE_URL",
    "OPENAI_API_BASE",
    "ANTHROPIC_BASE_URL",
    "AZURE_OPENAI_ENDPOINT",
    "OLLAMA_HOST",
    "LITELLM_PROXY_API_BASE",
    "GOOGLE_GEMINI_BASE_URL",
)
RECORDED_LIBRARIES = "httpx, aiohttp, requests/urllib3, botocore and http.client/urllib.request"


class NetworkRefused(Refusal):
    """Traffic no interception accounts for, refused at the socket."""


class Mode(Enum):
    OFF = "off"
    REPLAY = "replay"  # an llm test whose cassette cannot record
    RECORD = "record"  # an llm test that may send live
    UNMARKED = "unmarked"  # outside llm tests, in a replay run


@dataclass(frozen=True, slots=True)
class Unrecorded:
    """Traffic an llm test sent while recording that no interception recorded."""

    target: str
    library: str | None

    def __str__(self) -> str:
        via = f" (from {self.library})" if self.library else ""
        return f"{self.target}{via}"


_sending: contextvars.ContextVar[bool] = contextvars.ContextVar("llmops_sending", default=False)
_mode = Mode.OFF
_unmarked_refused = False
_test = ""
_rerecord: str | Callable[[], str] = ""
_pending_uris: Callable[[], Iterable[str]] | None = None
_env_seen: list[str] | None = None
_local_ports: set[int] = set()
_allowed: frozenset[str] = frozenset()
_allowed_names: frozenset[str] = frozenset()
_unrecorded: list[Unrecorded] = []
_budgeted = False  # recording under --llm-budget-usd: traffic past the interceptions cannot be counted
_next: dict[str, Any] = {}
_mine: dict[str, Any] = {}


# -- what counts as provider traffic ---------------------------------------------------------------


def is_provider_host(host: str | None) -> bool:
    if not host:
        return False
    host = host.lower().rstrip(".")
    return host in PROVIDER_HOSTS or _PROVIDER_HOST_PATTERN.search(host) is not None


def looks_like_llm_call(path: str) -> bool:
    return _LLM_PATH.search(path.split("?", 1)[0]) is not None


def env_base_urls() -> list[str]:
    return [v for v in (os.environ.get(name, "") for name in BASE_URL_ENV_VARS) if v]


def host_of(url: str) -> str | None:
    """The lower-case host of a URL or of a bare `host:port`, as base URL variables hold them."""
    host = urlsplit(_with_scheme(url)).hostname
    return host.lower().rstrip(".") if host else None


def is_provider_request(uri: str) -> bool:
    """A provider's host, a host an LLM base URL in the environment names, or an LLM-shaped path."""
    parts = urlsplit(uri)
    host = parts.hostname
    if is_provider_host(host) or looks_like_llm_call(parts.path):
        return True
    return host is not None and any(host_of(url) == host.rstrip(".") for url in env_base_urls())


def _with_scheme(url: str) -> str:
    return url if "://" in url else f"http://{url}"


def _endpoint(uri: str) -> tuple[str, int] | None:
    parts = urlsplit(_with_scheme(uri))
    if not parts.hostname:
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    return parts.hostname.lower(), port


def note_endpoint(uri: str) -> None:
    """A URL an interception answered: a loopback connection to it from elsewhere bypasses the cassette."""
    if _mode is Mode.OFF:
        return
    found = _endpoint(uri)
    if found is not None and found[1] not in _local_ports and is_local(found[0]):
        _local_ports.add(found[1])


# -- lifecycle ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def sending() -> Iterator[None]:
    """An interception is sending a request live: its connections are accounted for."""
    token = _sending.set(True)
    try:
        yield
    finally:
        _sending.reset(token)


def refuse_unmarked(on: bool) -> None:
    global _unmarked_refused
    _unmarked_refused = on
    if on:
        _ensure_installed()


def allow(hosts: Iterable[str]) -> None:
    """Hosts the user allows (--llm-allowed-hosts): names and the addresses they resolve to, once."""
    global _allowed, _allowed_names
    names = frozenset(h.lower() for h in hosts)
    if names == _allowed_names:
        return
    resolved = set(names)
    lookup = _next.get("getaddrinfo", socket.getaddrinfo)
    for name in names:
        with contextlib.suppress(OSError):
            resolved.update(str(info[4][0]) for info in lookup(name, None))
    _allowed_names, _allowed = names, frozenset(resolved)


def start_test(
    nodeid: str,
    *,
    replaying: bool,
    rerecord: str | Callable[[], str],
    recorded_uris: Iterable[str] | Callable[[], Iterable[str]] = (),
    budgeted: bool = False,
) -> None:
    """Watch one llm test. `recorded_uris` (the cassette's) name LLM endpoints besides the environment's.
    `budgeted`: the session caps live spend, so while recording, traffic no interception accounts for is
    refused as in a replay (its spend could not be counted) instead of let through and warned about.

    Either may be given as a function, called when first needed: `recorded_uris` when the test opens a
    loopback connection (or sends an `http.client` request to loopback) to a port not known to be an LLM
    endpoint yet, `rerecord` when a refusal names it. A test that sends nothing never calls them.
    """
    global _mode, _test, _rerecord, _pending_uris, _env_seen, _budgeted
    _mode = Mode.REPLAY if replaying else Mode.RECORD
    _budgeted = budgeted and not replaying
    _test, _rerecord = nodeid, rerecord
    _unrecorded.clear()
    urls = env_base_urls()
    if urls != _env_seen:  # the ports are kept for the session: only a changed environment adds any
        _note_local(urls)
        _env_seen = urls
    if callable(recorded_uris):
        _pending_uris = recorded_uris
    else:
        _pending_uris = None
        _note_local(recorded_uris)
    _ensure_installed()


def _note_local(uris: Iterable[str]) -> None:
    for uri in uris:
        found = _endpoint(uri)
        if found is not None and is_local(found[0]):
            _local_ports.add(found[1])


def _resolve_pending() -> None:
    """Note the running test's recorded endpoints, if they were left to be asked for."""
    global _pending_uris
    pending, _pending_uris = _pending_uris, None
    if pending is not None:
        _note_local(pending())


def end_test() -> list[Unrecorded]:
    """Stop watching the test; what it sent unrecorded (recording only)."""
    global _mode, _pending_uris
    _mode = Mode.OFF
    _pending_uris = None
    found = list(dict.fromkeys(_unrecorded))
    _unrecorded.clear()
    return found


def reassert() -> None:
    """Re-install after another patch of `socket` (--llm-block-network) restored the originals."""
    if _unmarked_refused:
        _ensure_installed()


def uninstall() -> None:
    global _unmarked_refused, _mode, _env_seen, _pending_uris, _budgeted
    _unmarked_refused = False
    _mode = Mode.OFF
    _budgeted = False
    _local_ports.clear()
    _env_seen, _pending_uris = None, None
    for (owner, name), original in _targets_and_originals():
        if getattr(owner, name) is _mine.get(name):
            setattr(owner, name, original)
    _next.clear()


def replaying() -> bool:
    """Whether nothing may go live now: a replaying llm test, or between tests of a replay run."""
    return _current_mode() in (Mode.REPLAY, Mode.UNMARKED)


def _current_mode() -> Mode:
    if _mode is not Mode.OFF:
        return _mode
    return Mode.UNMARKED if _unmarked_refused else Mode.OFF


# -- the patches ------------------------------------------------------------------------------------


_target_list: list[tuple[Any, str]] = []


def _targets() -> list[tuple[Any, str]]:
    if not _target_list:
        _target_list.extend(
            [
                (socket.socket, "connect"),
                (socket.socket, "connect_ex"),
                (socket, "getaddrinfo"),
            ]
        )
    return _target_list


def _targets_and_originals() -> list[tuple[tuple[Any, str], Any]]:
    return [((owner, name), _next[name]) for owner, name in _targets() if name in _next]


def _ensure_installed() -> None:
    if not _mine:
        _mine.update(connect=_connect, connect_ex=_connect_ex, getaddrinfo=_getaddrinfo)
    targets = _targets()
    if all(getattr(owner, name) is _mine[name] for owner, name in targets):
        return  # every test starts here (and ends): the usual case, ours are all in place
    from pytest_llmops.recording import network

    for owner, name in targets:
        current = getattr(owner, name)
        if current is _mine[name] or network.wrapped(owner, name) is _mine[name]:
            continue  # ours is there, or --llm-block-network's patch sits on top of ours and calls it
        _next[name] = current  # wrap whatever is there now (--llm-block-network's patch included)
        setattr(owner, name, _mine[name])


def _connect(self: socket.socket, address: Any) -> Any:
    unrecorded = _check_connect(self, address)
    result = _next["connect"](self, address)
    if unrecorded is not None:  # noted once it got through (--llm-block-network may refuse it)
        _unrecorded.append(unrecorded)
    return result


def _connect_ex(self: socket.socket, address: Any) -> Any:
    unrecorded = _check_connect(self, address)
    result = _next["connect_ex"](self, address)
    if unrecorded is not None:
        _unrecorded.append(unrecorded)
    return result


def _getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
    mode = _current_mode()
    if mode is not Mode.OFF and not _sending.get() and isinstance(host, str | bytes):
        name = host.decode("ascii", "replace") if isinstance(host, bytes) else host
        if (
            mode is Mode.REPLAY
            and not is_ip_literal(name)
            and not is_local(name.lower())
            and name.lower() not in _allowed
        ):
            _refuse(f"a name lookup of {name}", name, port)
        if mode is Mode.UNMARKED and (is_provider_host(name) or name.lower() in _env_hosts()):
            _refuse_unmarked_host(name, port)
    return _next["getaddrinfo"](host, port, *args, **kwargs)


def check_http_client(self: http.client.HTTPConnection, method: str, url: str) -> None:
    """An `http.client` request the http.client interception leaves alone (outside llm tests, or on a
    connection of urllib3's, whose interception answers at its pools): refused when it is shaped like an
    LLM call and nothing can answer it, noted while recording."""
    mode = _current_mode()
    if mode is not Mode.OFF and not _sending.get():
        host, port = str(self.host).lower(), int(self.port or 80)
        path = urlsplit(url).path if "://" in url else url
        target = f"{method} {path.split('?')[0]} to {host}:{port}"
        if mode is Mode.UNMARKED:
            if is_provider_request(f"http://{host}:{port}{path}"):
                _refuse_unmarked_host(host, port, target)
        elif looks_like_llm_call(path) or is_provider_host(host) or (is_local(host) and _llm_port(port)):
            _refuse_if_uncountable(mode, target, host, port)
            _unrecorded.append(Unrecorded(f"{host}:{port}", _library()))


def _check_connect(sock: socket.socket, address: Any) -> Unrecorded | None:
    """Refuse the connection (replaying), or return what to note once it is made (recording)."""
    mode = _current_mode()
    if mode in (Mode.OFF, Mode.UNMARKED) or _sending.get():
        return None
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple):
        return None  # unix sockets and friends never leave the machine
    host, port = str(address[0]).lower(), int(address[1])
    if (is_local(host) and not _llm_port(port)) or host in _allowed:
        return None
    _refuse_if_uncountable(mode, f"a connection to {host}:{port}", host, port)
    return Unrecorded(f"{host}:{port}", _library())


def _llm_port(port: int) -> bool:
    """Whether a loopback `port` is an LLM endpoint's (of the environment, or recorded in a cassette)."""
    if port not in _local_ports and _pending_uris is not None:
        _resolve_pending()
    return port in _local_ports


def check_native(library: str, kind: str, target: str, hosts: Iterable[str], fix: str) -> None:
    """A library about to open connections of its own, past Python's sockets (grpc's C core, libcurl): a
    `kind` ("gRPC channel") to `target`, which reaches `hosts`. In a replay it is refused unless every
    host is loopback or allowed; recording, it is noted (refused at once under --llm-block-network);
    outside llm tests of a replay run, refused when it goes to a provider."""
    mode = _current_mode()
    if mode is Mode.OFF or _sending.get():
        return
    from pytest_llmops.recording import network

    what = f"a {kind} to {target}"
    names = [h.lower().rstrip(".") for h in hosts]
    outside = [h for h in names if not is_local(h) and h not in _allowed]
    if mode is Mode.UNMARKED:
        if any(is_provider_host(h) or h in _env_hosts() for h in names):
            raise NetworkRefused(
                f"{what} from {library} was refused: it comes from a test without @pytest.mark.llm, so no "
                "cassette can answer it and this replay run sends nothing to providers. Mark the test "
                f"@pytest.mark.llm and send the call through a library the plugin records. {fix}"
            )
        return
    if not outside:
        return
    if mode is Mode.REPLAY:
        raise NetworkRefused(
            f"{what} from {library} was refused: {_test} replays from its cassette, and {library} opens its "
            "own connections, past the Python sockets and HTTP libraries the plugin records and replays "
            f"({RECORDED_LIBRARIES}), so no cassette can answer it and a replay run sends nothing out. {fix} "
            "Or, if the service may be reached from replays, allow it with "
            f"--llm-allowed-hosts={','.join(outside)}."
        )
    if network.blocking() and not all(network.permitted(h) for h in outside):
        raise network.NetworkBlocked(f"{outside[0]} ({what} from {library})")
    if _budgeted:
        _refuse_over_budget(what, outside[0], library)
    _unrecorded.append(Unrecorded(target, library))


def _refuse(what: str, host: str, port: Any) -> None:
    library = _library()
    via = f" from {library}" if library else ""
    where = (
        "a port an LLM base URL of this test points at" if is_local(host) else "a host outside this machine"
    )
    raise NetworkRefused(
        f"{what}{via} was refused: {_test} replays from its cassette, and this traffic, to {where}, "
        f"does not go through an HTTP library the plugin records and replays ({RECORDED_LIBRARIES}), "
        "so no cassette can answer it and a replay run sends nothing out. Send the call through one of those "
        f"libraries and record it:\n  {_rerecord() if callable(_rerecord) else _rerecord}\n"
        "(Loopback services on other ports, such as a local database, stay reachable.)"
    )


def _refuse_if_uncountable(mode: Mode, what: str, host: str, port: Any) -> None:
    """Traffic no interception accounts for: refused in a replay (no cassette can answer it) and under a
    session budget (its spend could not be counted); else let through, to be noted."""
    if mode is Mode.REPLAY:
        _refuse(what, host, port)
    if _budgeted:
        _refuse_over_budget(what, host)


def _refuse_over_budget(what: str, host: str, library: str | None = None) -> None:
    library = library or _library()
    via = f" from {library}" if library else ""
    raise NetworkRefused(
        f"{what}{via} was refused: --llm-budget-usd caps this session's live spend, and this traffic does not "
        f"go through an HTTP library the plugin records ({RECORDED_LIBRARIES}), so its cost could not be "
        "held to the budget. Send the call through one of those libraries, record without the budget, or, "
        f"if {host} is no LLM service (a database, a search API), allow it with --llm-allowed-hosts={host}."
    )


def _refuse_unmarked_host(host: str, port: Any, what: str | None = None) -> None:
    library = _library()
    via = f" from {library}" if library else ""
    raise NetworkRefused(
        f"{what or f'a connection to {host}:{port}'}{via} was refused: it comes from a test without "
        "@pytest.mark.llm, so no cassette can answer it and this replay run sends nothing to providers. "
        "Mark the test @pytest.mark.llm (and record it), or mock the client."
    )


def _env_hosts() -> set[str]:
    return {h.lower() for h in (urlsplit(_with_scheme(u)).hostname for u in env_base_urls()) if h}


_NOT_LIBRARIES = frozenset(
    {
        "socket",
        "ssl",
        "asyncio",
        "selectors",
        "concurrent",
        "threading",
        "contextlib",
        "pytest_llmops",
        "_pytest",
        "pluggy",
        "functools",
    }
)


def _library() -> str | None:
    """The outermost library module between the test's code and the socket, from the stack."""
    import sysconfig

    library_roots = {
        os.path.normcase(p)
        for p in {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    }
    frame = sys._getframe(1)
    found: str | None = None
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        filename = os.path.normcase(frame.f_code.co_filename)
        top = module.split(".")[0]
        if top not in _NOT_LIBRARIES:
            if not any(filename.startswith(root) for root in library_roots):
                break  # the test's own code
            found = module if top in ("http", "urllib", "xmlrpc") else top
        frame = frame.f_back  # type: ignore[assignment]
    return found


def is_sending() -> bool:
    """Inside an interception's live send (urllib3 re-enters its own `urlopen` for retries and redirects)."""
    return _sending.get()
