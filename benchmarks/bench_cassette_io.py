"""Time writing and reading a cassette of 5,000 chat interactions, against vcrpy's serializer.

Run: python benchmarks/bench_cassette_io.py [N] [--repeat 3] [--quick] [--json PATH]

Interactions look like real OpenAI chat traffic: ~20 response headers, a
multi-message request, a pretty-printed JSON response; every fifth one is a
streamed response of ~40 SSE events.

Baseline: vcrpy's own `serialize`/`deserialize` (PyYAML with libyaml) of the
same interactions and the same file, as pytest-recording would write and read
them. vcrpy is several times slower, so its figures come from one run; ours
are the best of REPEAT. CPU time is the figure (steady on a busy machine).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from figures import figure, print_figures, run_benchmark

from pytest_llmops.recording.formats import dump_interactions, load_interactions
from pytest_llmops.recording.interactions import (
    Interaction,
    InteractionMeta,
    RecordedRequest,
    RecordedResponse,
)


def _chat(i: int) -> Interaction:
    stream = i % 5 == 0
    request = {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are a support assistant for an online bookshop. Be brief."},
            {"role": "user", "content": f"Question {i}: where is my order? It was placed three days ago."},
        ],
        "temperature": 0.2,
        "stream": stream,
    }
    request_headers = {
        "accept": ["application/json"],
        "content-type": ["application/json"],
        "host": ["api.openai.com"],
        "user-agent": ["OpenAI/Python 1.54.0"],
        "x-stainless-lang": ["python"],
        "x-stainless-retry-count": ["0"],
    }
    response_headers = {
        "Date": ["Thu, 27 Nov 2026 23:00:00 GMT"],
        "Content-Type": ["text/event-stream; charset=utf-8" if stream else "application/json"],
        "Connection": ["keep-alive"],
        "access-control-expose-headers": ["X-Request-ID"],
        "openai-organization": ["user-abc123"],
        "openai-processing-ms": [str(300 + i % 700)],
        "openai-version": ["2020-10-01"],
        "x-ratelimit-limit-requests": ["10000"],
        "x-ratelimit-limit-tokens": ["200000"],
        "x-ratelimit-remaining-requests": ["9999"],
        "x-ratelimit-remaining-tokens": ["199950"],
        "x-ratelimit-reset-requests": ["8.64s"],
        "x-ratelimit-reset-tokens": ["15ms"],
        "x-request-id": [f"req_{i:032x}"],
        "strict-transport-security": ["max-age=31536000; includeSubDomains; preload"],
        "CF-Cache-Status": ["DYNAMIC"],
        "Set-Cookie": ["__cf_bm=abcdefghijklmnop; path=/; expires=Thu, 27-Nov-26 23:30:00 GMT; HttpOnly"],
        "Server": ["cloudflare"],
        "CF-RAY": ["8e1f2a3b4c5d6e7f-AMS"],
        "alt-svc": ['h3=":443"; ma=86400'],
    }
    answer = "Your order shipped yesterday and should arrive within two business days. " * 2
    if stream:
        words = answer.split(" ")
        chunk = (
            '{"id":"chatcmpl-%d","object":"chat.completion.chunk",'
            '"choices":[{"index":0,"delta":{"content":%s}}]}'
        )
        events = [f"data: {chunk % (i, json.dumps(w + ' '))}\n\n" for w in words]
        body = ("".join(events) + "data: [DONE]\n\n").encode()
    else:
        body = json.dumps(
            {
                "id": f"chatcmpl-{i}",
                "object": "chat.completion",
                "created": 1795000000 + i,
                "model": "gpt-4o-mini-2024-07-18",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": answer, "refusal": None},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 41, "completion_tokens": 30, "total_tokens": 71},
            },
            indent=2,
        ).encode()
    return Interaction(
        request=RecordedRequest(
            method="POST",
            uri="https://api.openai.com/v1/chat/completions",
            headers=request_headers,
            body=json.dumps(request, separators=(",", ":")).encode(),
        ),
        response=RecordedResponse(status=200, reason="OK", headers=response_headers, body=body),
        meta=InteractionMeta(recorded_at="2026-11-27T23:00:00.123456Z", latency_ms=812.3 + i, ttfb_ms=170.1),
    )


def _best_of(runs: int, fn: Callable[[], object]) -> tuple[float, float]:
    """Best wall-clock and best CPU time of `runs` calls (CPU time is steadier on a busy machine)."""
    wall = cpu = float("inf")
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=5000, help="interactions (default 5000)")
    parser.add_argument("--repeat", type=int, default=3, help="timing runs of ours; the best is kept")
    parser.add_argument("--quick", action="store_true", help="2,000 interactions")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    return parser


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from vcr.serialize import deserialize, serialize
    from vcr.serializers import yamlserializer

    n = min(args.n, 2000) if args.quick else args.n
    interactions = [_chat(i) for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.yaml"
        text = ""

        def dump() -> None:
            nonlocal text
            text = dump_interactions(interactions)
            path.write_text(text, encoding="utf-8")

        dump_s, dump_cpu = _best_of(args.repeat, dump)
        load_s, load_cpu = _best_of(args.repeat, lambda: load_interactions(path))
        loaded = load_interactions(path)
        assert len(loaded) == n

        vcr_requests: list[Any] = []
        vcr_responses: list[Any] = []

        def vcr_load() -> None:
            requests, responses = deserialize(path.read_text(encoding="utf-8"), yamlserializer)[:2]
            vcr_requests[:], vcr_responses[:] = requests, responses

        vcr_load_s, vcr_load_cpu = _best_of(1, vcr_load)
        assert len(vcr_requests) == n
        vcr_path = Path(tmp) / "vcrpy.yaml"
        cassette = {"requests": vcr_requests, "responses": vcr_responses}
        vcr_dump_s, vcr_dump_cpu = _best_of(
            1, lambda: vcr_path.write_text(serialize(cassette, yamlserializer), encoding="utf-8")
        )
    ms = 1000
    return {
        "benchmark": "cassette_io",
        "interactions": n,
        "megabytes": round(len(text.encode()) / 1e6, 1),
        "libyaml": yaml.__with_libyaml__,
        "dump_ms": {"wall": round(dump_s * ms, 1), "cpu": round(dump_cpu * ms, 1)},
        "load_ms": {"wall": round(load_s * ms, 1), "cpu": round(load_cpu * ms, 1)},
        "vcrpy_serialize_ms": {"wall": round(vcr_dump_s * ms, 1), "cpu": round(vcr_dump_cpu * ms, 1)},
        "vcrpy_deserialize_ms": {"wall": round(vcr_load_s * ms, 1), "cpu": round(vcr_load_cpu * ms, 1)},
        "figures": [
            figure(
                f"dump_interactions + write, {n:,} interactions, CPU",
                dump_cpu * ms,
                "ms",
                baseline="vcrpy serialize + write",
                baseline_value=vcr_dump_cpu * ms,
            ),
            figure(
                f"load_interactions, {n:,} interactions, CPU",
                load_cpu * ms,
                "ms",
                baseline="vcrpy deserialize",
                baseline_value=vcr_load_cpu * ms,
            ),
        ],
    }


def report(results: dict[str, Any]) -> None:
    dump, load = results["dump_ms"], results["load_ms"]
    vdump, vload = results["vcrpy_serialize_ms"], results["vcrpy_deserialize_ms"]
    print(f"libyaml: {results['libyaml']}")
    print(f"{results['interactions']} interactions, {results['megabytes']:.1f} MB of YAML")
    print(f"dump_interactions + write: {dump['wall']:.0f} ms wall, {dump['cpu']:.0f} ms CPU (best of runs)")
    print(f"load_interactions:         {load['wall']:.0f} ms wall, {load['cpu']:.0f} ms CPU (best of runs)")
    print(f"vcrpy serialize + write:   {vdump['wall']:.0f} ms wall, {vdump['cpu']:.0f} ms CPU (one run)")
    print(f"vcrpy deserialize:         {vload['wall']:.0f} ms wall, {vload['cpu']:.0f} ms CPU (one run)")
    print_figures(results)


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(argv, build_parser, measure, report)


if __name__ == "__main__":
    raise SystemExit(main())
