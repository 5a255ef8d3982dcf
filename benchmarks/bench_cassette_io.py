"""Time writing and reading a cassette of 5,000 chat interactions.

Run: /work/venv/bin/python benchmarks/bench_cassette_io.py [N]

Interactions look like real OpenAI chat traffic: ~20 response headers, a
multi-message request, a pretty-printed JSON response; every fifth one is a
streamed response of ~40 SSE events.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from pytest_llmops.cassette_formats import dump_interactions, load_interactions
from pytest_llmops.interactions import Interaction, InteractionMeta, RecordedRequest, RecordedResponse


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


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    interactions = [_chat(i) for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.yaml"
        text = ""

        def dump() -> None:
            nonlocal text
            text = dump_interactions(interactions)
            path.write_text(text, encoding="utf-8")

        dump_s, dump_cpu = _best_of(3, dump)
        load_s, load_cpu = _best_of(3, lambda: load_interactions(path))
        loaded = load_interactions(path)
        assert len(loaded) == n
    print(f"libyaml: {yaml.__with_libyaml__}")
    print(f"{n} interactions, {len(text.encode()) / 1e6:.1f} MB of YAML")
    print(f"dump_interactions + write: {dump_s * 1000:.0f} ms wall, {dump_cpu * 1000:.0f} ms CPU (best of 3)")
    print(f"load_interactions:         {load_s * 1000:.0f} ms wall, {load_cpu * 1000:.0f} ms CPU (best of 3)")


if __name__ == "__main__":
    main()
