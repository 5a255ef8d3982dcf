"""One interception per client library (httpx/httpx2, aiohttp, urllib3 for requests and botocore).

Each module patches one library when the first llm test starts (or, for a
library not imported yet, when it is imported) and sends its requests to the
active `Recorder` (`recording/transport.py`). None of them imports its library.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import sys
import threading
from types import ModuleType
from typing import Any

from pytest_llmops.recording.transport import Interception

LIBRARIES = ("httpx2", "httpx", "aiohttp", "urllib3")

_installed: dict[str, Interception] = {}
_lock = threading.Lock()


def _interceptions() -> list[Interception]:
    from pytest_llmops.recording.transports import aiohttp, httpx, urllib3

    return [
        httpx.HttpxInterception("httpx2"),
        httpx.HttpxInterception("httpx"),
        aiohttp.AiohttpInterception(),
        urllib3.Urllib3Interception(),
    ]


def install(*, import_missing: bool) -> None:
    """Patch each client library once: those already imported, and with `import_missing` the others
    when they are imported (`_PatchOnImport`), so an app that imports one inside a test is recorded too.

    With no active recorder the patches behave exactly as the library does.
    """
    if len(_installed) == len(LIBRARIES):
        return
    waiting = _on_import.waiting
    if (
        import_missing
        and len(_installed) + len(waiting) == len(LIBRARIES)
        and _on_import in sys.meta_path
        and not any(name in sys.modules for name in waiting)
    ):
        return  # every test starts here: the rest are patched when imported
    with _lock:
        for interception in _interceptions():
            name = interception.library
            if name in _installed:
                continue
            module = sys.modules.get(name)
            if module is not None:
                _on_import.waiting.pop(name, None)
                interception.install(module)
                _installed[name] = interception
            elif import_missing:
                _on_import.watch(interception)
        if import_missing and _on_import.waiting and _on_import not in sys.meta_path:
            sys.meta_path.insert(0, _on_import)


def uninstall() -> None:
    with _lock:
        if _on_import in sys.meta_path:
            sys.meta_path.remove(_on_import)
        _on_import.waiting.clear()
        for interception in _installed.values():
            interception.uninstall()
        _installed.clear()


def installed() -> list[str]:
    return list(_installed)


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Patches a client library right after it is first imported.

    Importing every library the app might use when the first llm test starts would cost each run their
    import time and memory (httpx and urllib3 alone: tens of milliseconds, megabytes) for libraries the
    app may never load. This finder stands first in `sys.meta_path`, answers only for the libraries not
    imported yet, finds them as the import system would (the other finders), and wraps that one module's
    `exec_module` once: the library is patched when its module has run, before the importer gets it.
    """

    def __init__(self) -> None:
        self.waiting: dict[str, Interception] = {}

    def watch(self, interception: Interception) -> None:
        self.waiting[interception.library] = interception

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        interception = self.waiting.get(fullname)
        if interception is None:
            return None
        spec = None
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                break
        loader = getattr(spec, "loader", None)
        original = getattr(loader, "exec_module", None)
        if spec is None or loader is None or original is None:
            return spec

        def exec_module(module: ModuleType) -> None:
            with contextlib.suppress(AttributeError):
                del loader.exec_module  # once: a loader may serve other modules (zipimport)
            original(module)
            with _lock:
                if self.waiting.pop(fullname, None) is not None and fullname not in _installed:
                    interception.install(module)
                    _installed[fullname] = interception

        # A loader without an instance dict keeps its own: the library is patched when the next test starts.
        with contextlib.suppress(AttributeError, TypeError):
            loader.exec_module = exec_module
        return spec


_on_import = _PatchOnImport()
