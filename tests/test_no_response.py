"""A request that got no response is recorded, and its replay raises what the client raised live.

Two faults, for each intercepted library: the connection is refused (nothing listens on the port), and
the server accepts the request and hangs up without a status line. The inner test catches the error,
notes the class of it and of its causes, and falls back to a second provider (the simulator), as an app
with a fallback does. Live and replay must note the same classes, and the replay must reach nothing.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_llmops.simulator import ProviderSimulator


class HangUp:
    """Accepts connections on 127.0.0.1, reads a little, closes without answering; counts connections."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            with conn:
                conn.settimeout(1)
                with contextlib.suppress(OSError):
                    conn.recv(65536)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture
def hang_up() -> Iterator[HangUp]:
    server = HangUp()
    yield server
    server.close()


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


CALLS = {
    "openai": """
def primary(url):
    from openai import OpenAI
    OpenAI(base_url=url + "/v1", max_retries=0).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
""",
    "requests": """
def primary(url):
    import requests
    body = {"model": "gpt-4o-mini", "messages": MESSAGES}
    requests.post(url + "/v1/chat/completions", json=body, headers={"authorization": "Bearer " + KEY}, timeout=5)
""",
    "urllib": """
def primary(url):
    import json, urllib.request
    body = json.dumps({"model": "gpt-4o-mini", "messages": MESSAGES}).encode()
    request = urllib.request.Request(url + "/v1/chat/completions", data=body, headers={"authorization": "Bearer " + KEY})
    urllib.request.urlopen(request, timeout=5)
""",
    "aiohttp": """
def primary(url):
    import asyncio, aiohttp
    async def go():
        body = {"model": "gpt-4o-mini", "messages": MESSAGES}
        async with aiohttp.ClientSession() as s:
            async with s.post(url + "/v1/chat/completions", json=body, headers={"authorization": "Bearer " + KEY}) as r:
                return await r.json()
    asyncio.run(go())
""",
}

SUITE = """
import os
import pytest
from openai import OpenAI

KEY = os.environ.get("OPENAI_API_KEY", "sk-replay")
MESSAGES = [{{"role": "user", "content": "Where is my order?"}}]
{call}

def chain(exc):
    while exc is not None:
        yield type(exc).__name__
        exc = exc.__cause__ or exc.__context__

@pytest.mark.llm
def test_fallback(llm_usage):
    try:
        primary(os.environ["PRIMARY_URL"])
    except Exception as exc:
        with open(os.environ["NOTES"], "a") as notes:
            notes.write(" > ".join(chain(exc)) + "\\n")
    else:
        raise AssertionError("the primary provider answered")
    backup = OpenAI(base_url=os.environ["SIM_URL"] + "/v1", max_retries=0)
    assert backup.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES).choices[0].message.content
    assert [c.status for c in llm_usage.calls] == [0, 200]
    assert llm_usage.calls[0].error_type
"""


@pytest.mark.parametrize("library", sorted(CALLS))
@pytest.mark.parametrize("fault", ["refused", "hang-up"])
def test_replay_raises_what_live_raised(
    llm_pytester: pytest.Pytester,
    sim: ProviderSimulator,
    hang_up: HangUp,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    library: str,
    fault: str,
) -> None:
    port = _dead_port() if fault == "refused" else hang_up.port
    notes = tmp_path / "notes.txt"
    monkeypatch.setenv("PRIMARY_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("NOTES", str(notes))
    llm_pytester.makepyfile(test_fallback=SUITE.format(call=CALLS[library]))

    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-" + "N" * 40)
    llm_pytester.runpytest("--llm-eval", "--llm-record=once").assert_outcomes(passed=1)
    [cassette] = llm_pytester.path.rglob("test_fallback.yaml")
    text = cassette.read_text()
    assert "status: {code: 0, message: no response}" in text and "N" * 40 not in text
    connections = hang_up.connections

    monkeypatch.delenv("OPENAI_API_KEY")
    sim.reset()
    llm_pytester.runpytest("--llm-eval", "--llm-block-network").assert_outcomes(passed=1)
    live, replayed = notes.read_text().splitlines()
    assert replayed == live, f"live raised {live}, the replay {replayed}"
    assert (sim.requests, hang_up.connections) == ([], connections)


def test_the_error_message_is_redacted(
    llm_pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """urllib3 puts the URL in its error, query and all: a key in the query never reaches the cassette."""
    key = "AIza" + "Q" * 35
    monkeypatch.setenv("GEMINI_API_KEY", key)
    monkeypatch.setenv("DEAD", str(_dead_port()))
    llm_pytester.makepyfile(
        test_gemini="""
        import os
        import pytest
        import requests

        @pytest.mark.llm
        def test_down():
            url = (f"http://127.0.0.1:{os.environ['DEAD']}/v1beta/models/gemini-2.0-flash:generateContent"
                   f"?key={os.environ['GEMINI_API_KEY']}")
            with pytest.raises(requests.ConnectionError):
                requests.post(url, json={"contents": [{"parts": [{"text": "hi"}]}]}, timeout=5)
        """
    )
    llm_pytester.runpytest("--llm-eval", "--llm-record=once").assert_outcomes(passed=1)
    [cassette] = llm_pytester.path.rglob("test_down.yaml")
    text = cassette.read_text()
    assert "MaxRetryError" in text and "NewConnectionError" in text
    assert key not in text and "[REDACTED" in text
    monkeypatch.delenv("GEMINI_API_KEY")
    llm_pytester.runpytest("--llm-eval").assert_outcomes(passed=1)


def test_status_0_without_an_error_is_refused(tmp_path: Path) -> None:
    from pytest_llmops.recording.formats import CassetteFormatError, load_interactions

    path = tmp_path / "hand-made.yaml"
    path.write_text(
        "interactions:\n- request: {method: GET, uri: 'http://127.0.0.1:9/x', headers: {}, body: null}\n"
        "  response:\n    status: {code: 0, message: no response}\n    headers: {}\n    body: {string: ''}\n"
        "  metadata: {recorded_at: '2026-01-01T00:00:00Z'}\nversion: 1\n"
    )
    with pytest.raises(CassetteFormatError, match=r"status 0 marks a request that got no response"):
        load_interactions(path)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
