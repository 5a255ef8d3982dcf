"""How fast `pytest-llmops inspect --json` reads a large cassette folder.

Builds FILES x PER_FILE chat-completion interactions (our own YAML format,
written with `dump_interactions`) in a temporary folder, then times the whole
command in-process: find files, load YAML, parse usage, price, print JSON.
Goal: >= 5,000 interactions/s. Baseline: `load_interactions` of the same
files alone (reading is the floor of inspecting), timed the same way.

    python benchmarks/bench_inspect.py [--files 100] [--per-file 100] [--repeat 3] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from figures import figure, print_figures, run_benchmark

from pytest_llmops.cli import main as cli_main
from pytest_llmops.recording.formats import dump_interactions, load_interactions
from pytest_llmops.recording.interactions import (
    Interaction,
    InteractionMeta,
    RecordedRequest,
    RecordedResponse,
)

GOAL_PER_S = 5_000
MODELS = ("gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06", "gpt-4.1-nano-2025-04-14", "o4-mini-2025-04-16")


def interaction(i: int) -> Interaction:
    model = MODELS[i % len(MODELS)]
    request = {
        "model": model.rsplit("-", 3)[0],
        "messages": [{"role": "user", "content": f"Question number {i}: what is {i} squared?"}],
        "temperature": 0,
    }
    response = {
        "id": f"chatcmpl-{i:08d}",
        "object": "chat.completion",
        "created": 1_750_000_000 + i,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": f"{i} squared is {i * i}.", "refusal": None},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 20 + i % 50,
            "completion_tokens": 8 + i % 13,
            "total_tokens": 28 + i % 50 + i % 13,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        },
        "service_tier": "default",
    }
    return Interaction(
        RecordedRequest(
            "POST",
            "https://api.openai.com/v1/chat/completions",
            {"content-type": ["application/json"], "user-agent": ["OpenAI/Python 1.99.0"]},
            json.dumps(request).encode(),
        ),
        RecordedResponse(
            200,
            "OK",
            {"content-type": ["application/json"], "date": ["Mon, 02 Jun 2025 10:00:00 GMT"]},
            json.dumps(response).encode(),
        ),
        InteractionMeta(
            recorded_at=f"2025-06-02T10:{i // 60 % 60:02d}:{i % 60:02d}Z", latency_ms=400.0 + i % 300
        ),
    )


def build(folder: Path, files: int, per_file: int) -> int:
    for f in range(files):
        batch = [interaction(f * per_file + i) for i in range(per_file)]
        (folder / f"group_{f // 10:02d}").mkdir(exist_ok=True)
        (folder / f"group_{f // 10:02d}" / f"cassette_{f:04d}.yaml").write_text(
            dump_interactions(batch), encoding="utf-8"
        )
    return files * per_file


def time_inspect(folder: Path) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of this process, interactions listed).

    CPU time is reported too because wall time swings on a shared machine.
    """
    out = io.StringIO()
    start, cpu_start = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(out):
        status = cli_main(["inspect", str(folder), "--json"])
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    if status != 0:
        raise SystemExit(f"inspect exited with {status}")
    return elapsed, cpu, len(json.loads(out.getvalue()))


def time_load(folder: Path) -> tuple[float, float, int]:
    """The baseline: (wall, CPU, interactions) of loading every cassette, nothing else."""
    start, cpu_start = time.perf_counter(), time.process_time()
    count = sum(len(load_interactions(path)) for path in sorted(folder.rglob("*.yaml")))
    return time.perf_counter() - start, time.process_time() - cpu_start, count


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--per-file", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="20 files, 2 runs")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the results here")
    return parser


def measure(args: argparse.Namespace) -> dict[str, Any]:
    if args.quick:
        args.files, args.repeat = min(args.files, 20), min(args.repeat, 2)
    with tempfile.TemporaryDirectory(prefix="bench-inspect-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        total = build(folder, args.files, args.per_file)
        build_s = time.perf_counter() - start
        runs: list[float] = []
        cpu_runs: list[float] = []
        load_runs: list[float] = []
        load_cpu_runs: list[float] = []
        for _ in range(args.repeat):
            elapsed, cpu, listed = time_inspect(folder)
            if listed != total:
                raise SystemExit(f"inspect listed {listed} interactions, expected {total}")
            runs.append(elapsed)
            cpu_runs.append(cpu)
            elapsed, cpu, loaded = time_load(folder)
            if loaded != total:
                raise SystemExit(f"load_interactions read {loaded} interactions, expected {total}")
            load_runs.append(elapsed)
            load_cpu_runs.append(cpu)

    best = min(runs)
    rate = total / best
    cpu_rate = total / min(cpu_runs)
    return {
        "benchmark": "inspect --json",
        "interactions": total,
        "files": args.files,
        "build_s": round(build_s, 3),
        "runs_s": [round(r, 4) for r in runs],
        "best_s": round(best, 4),
        "median_s": round(statistics.median(runs), 4),
        "interactions_per_s": round(rate),
        "cpu_runs_s": [round(r, 4) for r in cpu_runs],
        "interactions_per_cpu_s": round(cpu_rate),
        "load_only_runs_s": [round(r, 4) for r in load_runs],
        "load_only_cpu_runs_s": [round(r, 4) for r in load_cpu_runs],
        "goal_per_s": GOAL_PER_S,
        "meets_goal": rate >= GOAL_PER_S,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "figures": [
            figure(
                "inspect --json, interactions per wall second (best run)",
                rate,
                "/s",
                baseline="load_interactions only",
                baseline_value=total / min(load_runs),
                goal=f"value >= {GOAL_PER_S}",
            ),
            figure(
                "inspect --json, interactions per CPU second (best run)",
                cpu_rate,
                "/s",
                baseline="load_interactions only",
                baseline_value=total / min(load_cpu_runs),
                goal=f"value >= {GOAL_PER_S}",
            ),
        ],
    }


def report(results: dict[str, Any]) -> None:
    best, median, rate = results["best_s"], results["median_s"], results["interactions_per_s"]
    print(
        f"inspect --json: {results['interactions']:,} interactions in {results['files']} files, best {best:.3f} s "
        f"(median {median:.3f} s) -> {rate:,.0f} interactions/s "
        f"(goal {GOAL_PER_S:,}/s: {'met' if rate >= GOAL_PER_S else 'NOT met'}); "
        f"{results['interactions_per_cpu_s']:,.0f} interactions per CPU-second"
    )
    print_figures(results)


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(argv, build_parser, measure, report)


if __name__ == "__main__":
    sys.exit(main())
