"""`python -m pytest_llmops.simulator`: serve the provider simulator until idle, SIGTERM or Ctrl-C.

Prints the base URL as the first line of stdout, so scripts can read it:
`URL=$(python -m pytest_llmops.simulator --idle-timeout 60 | head -n1)`.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from types import FrameType

from .server import ProviderSimulator


def _non_negative(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value!r}")
    return number


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_llmops.simulator",
        description=(
            "Local OpenAI, Anthropic, Gemini, Bedrock and Azure OpenAI API simulator (127.0.0.1 only) that "
            "also answers pytest-llmops' LLM judge rubrics; prints its URL first."
        ),
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: 0, any free port)")
    parser.add_argument("--latency-ms", type=_non_negative, default=0.0, help="total time of a JSON response")
    parser.add_argument(
        "--ttfb-ms", type=_non_negative, default=0.0, help="delay before the response headers"
    )
    parser.add_argument(
        "--chunk-delay-ms", type=_non_negative, default=0.0, help="delay between stream events"
    )
    parser.add_argument(
        "--idle-timeout",
        type=_non_negative,
        default=300.0,
        metavar="S",
        help="stop after S seconds without requests (default 300; 0 disables)",
    )
    parser.add_argument("--no-auth", action="store_true", help="accept requests without an API key")
    parser.add_argument("--gzip-streams", action="store_true", help="gzip SSE bodies too, when accepted")
    parser.add_argument(
        "--drifted",
        action="store_true",
        default=os.environ.get("LLMOPS_SIMULATOR_DRIFTED", "") not in ("", "0"),
        help="play a drifted model: reworded answers without citations, a successor snapshot with other "
        "prices (also: LLMOPS_SIMULATOR_DRIFTED=1)",
    )
    return parser


class _Terminated(Exception):
    pass


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sim = ProviderSimulator(
        port=args.port,
        latency_ms=args.latency_ms,
        ttfb_ms=args.ttfb_ms,
        chunk_delay_ms=args.chunk_delay_ms,
        idle_timeout_s=args.idle_timeout or None,
        require_auth=not args.no_auth,
        gzip_streams=args.gzip_streams,
        drifted=args.drifted,
    )
    try:
        sim.start()
    except OSError as error:
        print(f"error: cannot listen on 127.0.0.1:{args.port}: {error}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    print(sim.url, flush=True)
    print(
        f"OpenAI base_url: {sim.openai_base_url}  Anthropic base_url: {sim.anthropic_base_url}\n"
        f"Gemini base_url: {sim.gemini_base_url}  Bedrock endpoint_url: {sim.bedrock_endpoint_url}  "
        f"Azure azure_endpoint: {sim.azure_endpoint}  Ollama host: {sim.ollama_base_url}",
        file=sys.stderr,
    )
    try:
        while not sim.wait_stopped(timeout=0.5):
            pass
    except (KeyboardInterrupt, _Terminated):
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
