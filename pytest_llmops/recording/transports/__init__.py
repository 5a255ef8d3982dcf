"""One interception per client library (httpx/httpx2, aiohttp, urllib3 for requests and botocore, http.client
for urllib.request and hand-written clients), and the refusals for libraries that open sockets of their own
(grpc, pycurl: `native.py`).

Each module patches one library, and sends its requests to the active `Recorder`
(`recording/transport.py`). None of them imports its library: a library already
imported is patched when the first llm test starts, and one imported later is
patched by a `sys.meta_path` hook the moment its import completes, before the
importing code gets the module, so no request can leave through it unpatched.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from pytest_llmops.recording.transport import Interception

LIBRARIES = ("httpx2", "httpx", "aiohttp", "urllib3", "http.client", "httplib2", "grpc", "pycurl")
ALWAYS = ("http.client",)
"""Patched when installing even if nothing imported it yet: the standard library's client is cheap to import,
and outside llm tests of a replay run its patch is what refuses LLM-shaped requests."""

_installed: dict[str, tuple[Interception, ModuleType]] = {}
"""Each library's interception and the module object it patched: a library imported again (after pytester put
`sys.modules` back, say) is another object, with classes of its own to patch."""
_replaced: list[Interception] = []
"""Interceptions of modules imported again since (a re-import or reload builds new classes): kept to undo."""
_lock = threading.RLock()


def _interception(name: str) -> Interception:
    if name in ("httpx2", "httpx"):
        from pytest_llmops.recording.transports import httpx

        return httpx.HttpxInterception(name)
    if name == "aiohttp":
        from pytest_llmops.recording.transports import aiohttp

        return aiohttp.AiohttpInterception()
    if name == "urllib3":
        from pytest_llmops.recording.transports import urllib3

        return urllib3.Urllib3Interception()
    if name == "http.client":
        from pytest_llmops.recording.transports import http_client

        return http_client.HttpClientInterception()
    if name == "httplib2":
        from pytest_llmops.recording.transports import http_client

        return http_client.LazyConnectInterception()
    from pytest_llmops.recording.transports import native

    return native.NativeInterception(name)


def _patched_module(name: str) -> ModuleType | None:
    found = _installed.get(name)
    return None if found is None else found[1]


def _patch(name: str, module: ModuleType) -> None:
    with _lock:
        interception = _interception(name)
        interception.install(module)
        previous = _installed.get(name)
        if previous is not None:
            _replaced.append(previous[0])
        _installed[name] = (interception, module)


class _PatchingLoader(importlib.abc.Loader):
    """Stands in for a client library's own loader during its import: runs it, then patches the module."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        module: ModuleType | None = self.loader.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        # The module's own code, and everyone after it, sees the library's loader, not this one.
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        if _hook in sys.meta_path:  # not uninstalled meanwhile
            _patch(module.__name__, module)


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """First on `sys.meta_path`: for a client library, the spec the other finders give, with a loader that
    patches the module once it has run; for every other name, nothing (the next finder answers)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in LIBRARIES:
            return None
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec: importlib.machinery.ModuleSpec | None = find(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _PatchingLoader(spec.loader)
                return spec
        return None


_hook = _PatchOnImport()


def install(*, import_missing: bool) -> None:
    """Patch each client library once: those already imported; with `import_missing` every other one too,
    when it is imported (none is imported here: an app that only uses httpx2 never loads aiohttp).

    With no active recorder the patches behave exactly as the library does.
    """
    for name in ALWAYS:
        if name not in sys.modules:
            importlib.import_module(name)
    for name in LIBRARIES:
        module = sys.modules.get(name)
        if module is None or _patched_module(name) is module or _initializing(module):
            continue  # absent, done, or being imported: the hook patches it when its code has run
        with _lock:
            if _patched_module(name) is not module:
                _patch(name, module)
    if import_missing and _hook not in sys.meta_path:
        with _lock:
            if _hook not in sys.meta_path:
                sys.meta_path.insert(0, _hook)


def _initializing(module: ModuleType) -> bool:
    return bool(getattr(getattr(module, "__spec__", None), "_initializing", False))


def uninstall() -> None:
    with _lock:
        while _hook in sys.meta_path:
            sys.meta_path.remove(_hook)
        for interception in [*(i for i, _ in _installed.values()), *reversed(_replaced)]:
            interception.uninstall()
        _installed.clear()
        _replaced.clear()


def installed() -> list[str]:
    return list(_installed)
