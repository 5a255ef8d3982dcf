"""Libraries that open connections of their own, past Python's sockets: grpc and pycurl.

grpc's C core (the default transport of google-cloud-aiplatform's Vertex AI SDK
and of the legacy google-generativeai) and libcurl resolve names and connect
without `socket.connect` or `getaddrinfo`, where the fail-closed guard
watches, and no interception can record what they send. So their connections
are checked where they are made, before anything is attempted: a gRPC channel
when it is created (`grpc`'s and `grpc.aio`'s `Channel`), a curl transfer when
it starts (`Curl.perform*`, `CurlMulti.add_handle`). The guard decides
(`guard.check_native`): refused in a replay unless every host is loopback or
allowed, noted while recording (a warning, refused at once under
--llm-block-network).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from pytest_llmops.recording import guard

GRPC_FIX = (
    "Use the library's REST transport (vertexai/google-cloud-aiplatform: `vertexai.init(..., "
    'api_transport="rest")`; google-generativeai: `genai.configure(..., transport="rest")`; the newer '
    "google-genai SDK sends over httpx), which the plugin records."
)
CURL_FIX = "Send the call with an HTTP library the plugin records (httpx, requests, urllib.request)."
_GRPC_SCHEMES = ("dns:", "ipv4:", "ipv6:")
_OTHER_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:/")


class NativeInterception:
    def __init__(self, library: str) -> None:
        self.library = library
        self._undo: list[Callable[[], None]] = []

    def install(self, module: Any) -> None:
        if self.library == "grpc":
            self._install_grpc()
        else:
            self._install_pycurl(module)

    def uninstall(self) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo = []

    def _install_grpc(self) -> None:
        for name in ("grpc._channel", "grpc.aio._channel"):
            try:
                channel_cls = importlib.import_module(name).Channel
            except (ImportError, AttributeError):
                continue
            self._guard_new(channel_cls)

    def _guard_new(self, cls: type) -> None:
        """Check the target in `__new__`: a refused channel is never built (nothing half-made to clean up)."""
        had = "__new__" in cls.__dict__
        previous = cls.__dict__.get("__new__")

        def __new__(klass: type, target: Any = None, *args: Any, **kwargs: Any) -> Any:
            text = target.decode() if isinstance(target, bytes) else str(target)
            guard.check_native("grpc", "gRPC channel", text, grpc_hosts(text), GRPC_FIX)
            return object.__new__(klass)

        cls.__new__ = staticmethod(__new__)  # type: ignore[assignment]

        def undo() -> None:
            if had:
                cls.__new__ = previous  # type: ignore[assignment]
            else:
                del cls.__new__

        self._undo.append(undo)

    def _install_pycurl(self, module: Any) -> None:
        curl_cls, multi_cls = module.Curl, getattr(module, "CurlMulti", None)
        url_option, proxy_option = module.URL, getattr(module, "PROXY", None)

        def check(handle: Any) -> None:
            url = getattr(handle, "_llmops_url", "") or ""
            hosts = [h for h in (_url_host(url), _url_host(getattr(handle, "_llmops_proxy", "") or "")) if h]
            guard.check_native(
                "pycurl", "curl transfer", url or "an unset URL", hosts or ["localhost"], CURL_FIX
            )

        class Curl(curl_cls):  # type: ignore[misc, valid-type]
            """pycurl's `Curl`, which notes the URL (and proxy) it is given and checks them before a transfer."""

            def setopt(self, option: int, value: Any) -> Any:
                if option == url_option:
                    self._llmops_url = value.decode() if isinstance(value, bytes) else str(value)
                elif option == proxy_option:
                    self._llmops_proxy = value.decode() if isinstance(value, bytes) else str(value)
                return super().setopt(option, value)

            def perform(self) -> Any:
                check(self)
                return super().perform()

            def perform_rb(self) -> Any:
                check(self)
                return super().perform_rb()

            def perform_rs(self) -> Any:
                check(self)
                return super().perform_rs()

        Curl.__module__, Curl.__qualname__ = curl_cls.__module__, curl_cls.__qualname__
        module.Curl = Curl
        self._undo.append(lambda: setattr(module, "Curl", curl_cls))
        if multi_cls is not None:

            class CurlMulti(multi_cls):  # type: ignore[misc, valid-type]
                def add_handle(self, handle: Any) -> Any:
                    check(handle)
                    return super().add_handle(handle)

            CurlMulti.__module__, CurlMulti.__qualname__ = multi_cls.__module__, multi_cls.__qualname__
            module.CurlMulti = CurlMulti
            self._undo.append(lambda: setattr(module, "CurlMulti", multi_cls))


def _url_host(url: str) -> str | None:
    if not url:
        return None
    try:
        host = urlsplit(url if "://" in url else f"http://{url}").hostname
    except ValueError:
        return url
    return host or None


def grpc_hosts(target: str) -> list[str]:
    """The hosts a gRPC target names: `host:port`, `dns:[//authority/]host[:port]`, `ipv4:a.b.c.d:port,...`,
    `ipv6:[::1]:port`; a unix socket is local. A scheme grpc resolves some other way (`xds:`, `google-c2p:`)
    names a host that is not loopback."""
    lower = target.strip().lower()
    if lower.startswith(("unix:", "unix-abstract:", "vsock:")):
        return ["localhost"]
    for scheme in _GRPC_SCHEMES:
        if lower.startswith(scheme):
            rest = lower[len(scheme) :]
            authority = ""
            if scheme == "dns:" and rest.startswith("//"):
                authority, _, rest = rest[2:].partition("/")  # dns://authority/name: the DNS server asked
            hosts = [_grpc_host(address) for address in rest.lstrip("/").split(",") if address]
            return hosts + ([_grpc_host(authority)] if authority else [])
    else:
        if _OTHER_SCHEME.match(lower):
            return [target]  # resolved by grpc some other way: not provably loopback
    return [_grpc_host(address) for address in lower.split(",") if address]


def _grpc_host(address: str) -> str:
    if address.startswith("["):
        return address[1:].partition("]")[0]
    if address.count(":") > 1:  # a bare IPv6 address
        return address
    return address.partition(":")[0]
