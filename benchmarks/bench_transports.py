"""Replay per call through the aiohttp and requests interceptions, against the same client answered in-process.

    python benchmarks/bench_transports.py [--calls 1000] [--repeat 5] [--quick] [--json PATH]

CALLS distinct chat completions are recorded once from the provider simulator
(real HTTP, through requests) and written as one cassette. Then, in this
process, the same app code makes the CALLS calls, REPEAT times, the best run
kept (CPU and wall time, per call):

  aiohttp, replayed      `aiohttp.ClientSession().post(url, json=...)` + `await r.json()`, answered by
                         the plugin's aiohttp interception from the cassette (matching on method, path,
                         query and JSON body, a real `ClientResponse` built from the recording)
  aiohttp, in-process    the same code on a `ClientSession` subclass whose `_request` pops the next
                         recorded response (no matching), as aioresponses-style fakes do
  requests, replayed     `requests.Session().post(url, json=...)` + `.json()`, answered by the plugin's
                         urllib3 interception
  requests, in-process   the same code on a session with a transport adapter that pops the next
                         recorded response and builds it as requests builds a urllib3 response

What an llm test adds around each call (usage parsing, the per-test record) is
the same whatever the library and is measured by bench_replay.py.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import platform
import sys
import tempfile
import time
import warnings
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from figures import figure, print_figures, run_benchmark

GOAL = "ratio <= 1.5"
HOP_HEADERS = frozenset(
    {"content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive"}
)
Recorded = tuple[int, list[tuple[str, str]], bytes]


def _bodies(calls: int) -> list[dict[str, Any]]:
    return [
        {
            "model": "gpt-4o-mini",
            "temperature": 0,
            "messages": [
                {"role": "system", "content": "You answer in one short sentence."},
                {"role": "user", "content": f"Question {i}: what does a cassette store?"},
            ],
        }
        for i in range(calls)
    ]


def record(calls: int, folder: Path) -> tuple[Path, list[Recorded], str]:
    """Ask the simulator CALLS questions; write our cassette; return it, the raw answers and the URL."""
    import requests

    from pytest_llmops.recording.formats import dump_interactions
    from pytest_llmops.recording.interactions import Interaction, RecordedRequest, RecordedResponse
    from pytest_llmops.simulator import ProviderSimulator

    interactions, answers = [], []
    with ProviderSimulator(require_auth=False) as sim, requests.Session() as session:
        url = sim.url + "/v1/chat/completions"
        for body in _bodies(calls):
            response = session.post(url, json=body, headers={"Accept-Encoding": "identity"})
            headers = [(k, v) for k, v in response.headers.items() if k.lower() not in HOP_HEADERS]
            request = RecordedRequest(
                "POST", url, {"content-type": ["application/json"]}, response.request.body
            )
            interactions.append(
                Interaction(
                    request,
                    RecordedResponse(
                        response.status_code, response.reason, {k: [v] for k, v in headers}, response.content
                    ),
                )
            )
            answers.append((response.status_code, headers, response.content))
    path = folder / "bench.yaml"
    path.write_text(dump_interactions(interactions), encoding="utf-8")
    return path, answers, url


def _cassette(path: Path) -> Any:
    from pytest_llmops.recording.cassette import Cassette, RecordMode
    from pytest_llmops.recording.matching import Matcher
    from pytest_llmops.recording.secrets import Scrubber

    return Cassette(path, RecordMode.NONE, Matcher.build(), Scrubber())


def _activate(path: Path) -> None:
    """A fresh cassette (each recording replays once), indexed as a test's first call indexes it."""
    from pytest_llmops.recording import transport

    cassette = _cassette(path)
    cassette._index()  # loading and indexing the cassette is per test, measured in bench_replay
    transport.activate(
        transport.Recorder(
            cassette=cassette,
            rerecord_command=lambda: "",
            on_replay=lambda index, interaction: None,
            on_live=lambda index, interaction: None,
        )
    )


def _timed(run: Callable[[], None]) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    run()
    return time.process_time() - cpu, time.perf_counter() - wall


# -- requests ---------------------------------------------------------------------------------------


def _requests_calls(session: Any, url: str, bodies: list[dict[str, Any]]) -> None:
    for body in bodies:
        session.post(url, json=body).json()


def _mock_requests_session(answers: list[Recorded]) -> Any:
    import requests
    import urllib3

    class RecordedAdapter(requests.adapters.HTTPAdapter):
        def __init__(self) -> None:
            super().__init__()
            self.queue = deque(answers)

        def send(self, request: Any, **kwargs: Any) -> Any:
            status, headers, body = self.queue.popleft()
            raw = urllib3.HTTPResponse(
                body=io.BytesIO(body),
                headers=[*headers, ("content-length", str(len(body)))],
                status=status,
                preload_content=False,
                decode_content=False,
            )
            return self.build_response(request, raw)

    session = requests.Session()
    session.mount("http://", RecordedAdapter())
    return session


# -- aiohttp ----------------------------------------------------------------------------------------


async def _aiohttp_calls(session: Any, url: str, bodies: list[dict[str, Any]]) -> None:
    for body in bodies:
        async with session.post(url, json=body) as response:
            await response.json()


def _mock_aiohttp_session(answers: list[Recorded]) -> Any:
    import aiohttp
    from multidict import CIMultiDict, CIMultiDictProxy
    from yarl import URL

    class _Protocol:
        def pause_reading(self) -> None:
            pass

        def resume_reading(self, *args: Any, **kwargs: Any) -> None:
            pass

    class _Writer:
        output_size = 0

    queue = deque(answers)
    # aiohttp discourages subclassing ClientSession; a test fake may.
    warnings.filterwarnings("ignore", "Inheritance class", DeprecationWarning)

    class RecordedSession(aiohttp.ClientSession):
        async def _request(self, method: str, str_or_url: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            status, headers, body = queue.popleft()
            url = URL(str_or_url)
            loop = asyncio.get_running_loop()
            info = aiohttp.RequestInfo(url, method, CIMultiDictProxy(CIMultiDict()), url)
            response = aiohttp.ClientResponse(
                method,
                url,
                writer=None,
                continue100=None,
                timer=None,
                request_info=info,
                traces=[],
                loop=loop,
                session=self,
                stream_writer=_Writer(),
            )
            response.status, response.reason = status, "OK"
            response._headers = CIMultiDictProxy(CIMultiDict([*headers, ("Content-Length", str(len(body)))]))
            response.content = aiohttp.StreamReader(_Protocol(), 2**16, loop=loop)  # type: ignore[arg-type]
            response.content.feed_data(body)
            response.content.feed_eof()
            return response

    return RecordedSession()


def _run_aiohttp(
    make_session: Callable[[], Any], url: str, bodies: list[dict[str, Any]]
) -> tuple[float, float]:
    async def go() -> tuple[float, float]:
        async with make_session() as session:
            cpu, wall = time.process_time(), time.perf_counter()
            await _aiohttp_calls(session, url, bodies)
            return time.process_time() - cpu, time.perf_counter() - wall

    return asyncio.run(go())


# -- the measurement -------------------------------------------------------------------------------


def measure_all(calls: int, repeat: int) -> dict[str, Any]:
    import aiohttp
    import requests

    from pytest_llmops.recording import transport, transports

    bodies = _bodies(calls)
    with tempfile.TemporaryDirectory(prefix="llmops-bench-transports-") as tmp:
        path, answers, url = record(calls, Path(tmp))
        transports.install(import_missing=True)
        best: dict[str, tuple[float, float]] = {}

        def keep(name: str, timing: tuple[float, float]) -> None:
            old = best.get(name)
            best[name] = timing if old is None else (min(old[0], timing[0]), min(old[1], timing[1]))

        try:
            for round_ in range(repeat + 1):  # round 0 warms up; then each mode once per round
                _activate(path)
                with requests.Session() as session:
                    keep("requests, replayed", _timed(lambda s=session: _requests_calls(s, url, bodies)))
                transport.deactivate()
                with _mock_requests_session(answers) as session:
                    keep("requests, in-process", _timed(lambda s=session: _requests_calls(s, url, bodies)))
                _activate(path)
                keep("aiohttp, replayed", _run_aiohttp(aiohttp.ClientSession, url, bodies))
                transport.deactivate()
                keep("aiohttp, in-process", _run_aiohttp(lambda: _mock_aiohttp_session(answers), url, bodies))
                if round_ == 0:
                    best.clear()
        finally:
            transport.deactivate()
            transports.uninstall()
    return {
        name: {"cpu_us": cpu / calls * 1e6, "wall_us": wall / calls * 1e6}
        for name, (cpu, wall) in best.items()
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Replay per call through aiohttp and requests vs in-process mocks."
    )
    parser.add_argument("--calls", type=int, default=1000, help="distinct calls per run (default 1000)")
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds; the best is kept (default 5)")
    parser.add_argument("--quick", action="store_true", help="300 calls, 3 rounds")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    return parser


def measure(args: argparse.Namespace) -> dict[str, Any]:
    if args.quick:
        args.calls, args.repeat = min(args.calls, 300), min(args.repeat, 3)
    per_call = measure_all(args.calls, args.repeat)
    figures = []
    for library in ("aiohttp", "requests"):
        ours, floor = per_call[f"{library}, replayed"], per_call[f"{library}, in-process"]
        for clock in ("cpu", "wall"):
            figures.append(
                figure(
                    f"{library} replay per call, {clock} time",
                    ours[f"{clock}_us"],
                    "us",
                    baseline=f"{library} answered in-process",
                    baseline_value=floor[f"{clock}_us"],
                    goal=GOAL,
                )
            )
    return {
        "benchmark": "transports",
        "python": platform.python_version(),
        "calls": args.calls,
        "repeat": args.repeat,
        "per_call": {k: {c: round(v, 1) for c, v in d.items()} for k, d in per_call.items()},
        "figures": figures,
    }


def report(results: dict[str, Any]) -> None:
    print(f"{results['calls']} distinct chat completions per run, best of {results['repeat']} rounds")
    for name, times in results["per_call"].items():
        print(f"  {name:22s} cpu {times['cpu_us']:8.1f} us/call   wall {times['wall_us']:8.1f} us/call")
    print()
    print_figures(results)


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(argv, build_parser, measure, report)


if __name__ == "__main__":
    raise SystemExit(main())
