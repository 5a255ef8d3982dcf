"""One interception per client library (httpx/httpx2, aiohttp, urllib3 for requests and botocore).

Each module patches one library when the first llm test starts and sends its
requests to the active `Recorder` (`recording/transport.py`). None of them
imports its library at module import.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading

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
    """Patch each client library once: those already imported, and with `import_missing` those importable.

    With no active recorder the patches behave exactly as the library does.
    """
    if len(_installed) == len(LIBRARIES):
        return
    with _lock:
        for interception in _interceptions():
            name = interception.library
            if name in _installed:
                continue
            module = sys.modules.get(name)
            if module is None and import_missing and importlib.util.find_spec(name) is not None:
                module = importlib.import_module(name)
            if module is not None:
                interception.install(module)
                _installed[name] = interception


def uninstall() -> None:
    with _lock:
        for interception in _installed.values():
            interception.uninstall()
        _installed.clear()


def installed() -> list[str]:
    return list(_installed)
