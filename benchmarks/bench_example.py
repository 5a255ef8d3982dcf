"""The README's main command, `pytest example_project --llm-eval`: wall and CPU time, and where it goes.

    python benchmarks/bench_example.py [--runs 5] [--before PATH] [--quick] [--json PATH]

A copy of example_project/ (caches left out) runs in a subprocess exactly as the
README says, from the folder holding it: about 130 tests replayed from their
cassettes, offline, ending with the LLM evaluation report and the baseline
comparison. Every run must pass, replay everything and compare with the
baseline, or the benchmark stops. PYTHONDONTWRITEBYTECODE is unset for the
children (warm pyc caches, as on a developer's machine) and this checkout comes
first on PYTHONPATH. RUNS rounds after a warm-up run, each round:

  warm    the command with .pytest_cache kept (the local loop: the cassettes' parsed form is cached)
  cold    the same after deleting .pytest_cache (a fresh checkout, as in CI)
  probe   warm, with a small plugin (-p) that timestamps the phases: start-up (interpreter, pytest,
          plugins, configure), collection, the test loop, the report (session finish and the
          terminal summary), Python-level exit (unconfigure, pytest's final collections, exit
          handlers) and interpreter finalization; it also counts the modules loaded and the
          cyclic collector's full collections (and the CPU time of all its collections), and
          times the packages that tests import first (e.g. the SDKs, on the first call through
          them): CPU seconds of each such top-level import, nested ones included in theirs
  before  with --before PATH: the warm command on another checkout of the project (its
          example_project and its pytest_llmops), e.g. `git archive <commit> | tar -x -C PATH`

Medians over the rounds; CPU time is the child's own (user + system, rusage).
Goal: <= 4 s wall for the warm and cold commands.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from figures import figure, print_figures, run_benchmark

ROOT = Path(__file__).resolve().parent.parent
COMMAND = "pytest example_project --llm-eval"
GOAL = "value <= 4"
PHASES = (
    ("startup", "start-up: interpreter, pytest, plugins, configure"),
    ("collection", "collection"),
    ("loop", "test loop"),
    ("report", "report: session finish and terminal summary"),
    ("teardown", "exit, Python-level: unconfigure, pytest's final collections, exit handlers"),
    ("finalize", "exit, interpreter finalization"),
)
PROBE = textwrap.dedent(
    '''
    """Timestamps of the phases of one pytest run, written as JSON at exit (bench_example.py)."""
    import atexit, gc, json, os, sys, time

    import pytest

    MARKS = {}
    FULL = {"count": 0, "seconds": 0.0}
    GC_CPU = {"seconds": 0.0}
    IMPORTS = {}  # top-level package first imported by a test -> CPU seconds of its import
    _start = [0.0, 0.0]
    _depth = [0]


    def mark(name):
        MARKS[name] = [time.time(), time.process_time()]


    def _on_gc(phase, info):
        if phase == "start":
            _start[0], _start[1] = time.perf_counter(), time.process_time()
            return
        GC_CPU["seconds"] += time.process_time() - _start[1]
        if info["generation"] == 2:
            FULL["count"] += 1
            FULL["seconds"] += time.perf_counter() - _start[0]


    gc.callbacks.append(_on_gc)


    class _TimedLoader:
        """The package's own loader, timing its execution (which imports what the package imports)."""

        def __init__(self, loader, name):
            self._loader, self._name = loader, name

        def __getattr__(self, attribute):
            return getattr(self._loader, attribute)

        def create_module(self, spec):
            return self._loader.create_module(spec)

        def exec_module(self, module):
            module.__loader__ = module.__spec__.loader = self._loader
            _depth[0] += 1
            started = time.process_time()
            try:
                self._loader.exec_module(module)
            finally:
                _depth[0] -= 1
                if _depth[0] == 0:
                    IMPORTS[self._name] = IMPORTS.get(self._name, 0.0) + time.process_time() - started


    class _TimedImports:
        """Times the top-level packages imported during the test loop (not nested in another one).

        The spec is the one the finders after this one give (pytest's and the plugin's import hooks,
        inserted before it later, have had their turn or ask it themselves), with a timing loader.
        """

        def find_spec(self, name, path=None, target=None):
            if "." in name or "loop_start" not in MARKS or "loop_end" in MARKS or self not in sys.meta_path:
                return None
            for finder in sys.meta_path[sys.meta_path.index(self) + 1 :]:
                find = getattr(finder, "find_spec", None)
                spec = find(name, path, target) if find is not None else None
                if spec is not None:
                    if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                        spec.loader = _TimedLoader(spec.loader, name)
                    return spec
            return None


    sys.meta_path.insert(0, _TimedImports())


    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(session):
        mark("collection_start")


    def pytest_collection_finish(session):
        mark("collection_end")


    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtestloop(session):
        mark("loop_start")
        yield
        mark("loop_end")


    @pytest.hookimpl(hookwrapper=True)
    def pytest_terminal_summary(terminalreporter):
        yield
        mark("summary_end")


    def _write():  # registered at import, before the plugins' own: it runs after them
        mark("exit_handlers_end")
        payload = {
            "marks": MARKS,
            "modules": len(sys.modules),
            "full_collections": FULL,
            "gc_cpu_s": GC_CPU["seconds"],
            "imports": IMPORTS,
        }
        with open(os.environ["LLMOPS_BENCH_PROBE"], "w", encoding="utf-8") as handle:
            json.dump(payload, handle)


    atexit.register(_write)
    '''
)


def child_env(checkout: Path, probe_dir: Path | None = None) -> dict[str, str]:
    drop = ("PYTEST_", "SUPPORTBOT_", "OPENAI_", "ANTHROPIC_", "LLMOPS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    paths = [str(checkout)] + ([str(probe_dir)] if probe_dir else [])
    env["PYTHONPATH"] = os.pathsep.join(paths + [p for p in [os.environ.get("PYTHONPATH")] if p])
    return env


def copy_example(checkout: Path, into: Path) -> Path:
    """`into`/example_project: the checkout's example without caches; the command runs from `into`."""
    source = checkout / "example_project"
    if not (source / "pytest.ini").is_file():
        raise SystemExit(f"{source}: no example project there (pytest.ini missing)")
    into.mkdir(parents=True, exist_ok=True)
    shutil.copytree(
        source, into / "example_project", ignore=shutil.ignore_patterns(".pytest_cache", "__pycache__")
    )
    return into


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_command(where: Path, env: dict[str, str], *, cold: bool, probe: Path | None = None) -> dict[str, Any]:
    """One run of `pytest example_project --llm-eval` in `where`: wall, CPU, tests, and the probe's phases."""
    if cold:
        shutil.rmtree(where / "example_project" / ".pytest_cache", ignore_errors=True)
    command = [sys.executable, "-m", "pytest", "example_project", "--llm-eval"]
    if probe is not None:
        command += ["-p", "llmops_bench_probe"]
        env = {**env, "LLMOPS_BENCH_PROBE": str(probe)}
    cpu0, launched, wall0 = _child_cpu(), time.time(), time.perf_counter()
    proc = subprocess.run(command, cwd=where, env=env, capture_output=True, text=True, check=False)
    wall, cpu = time.perf_counter() - wall0, _child_cpu() - cpu0
    ended = launched + wall
    out = proc.stdout
    passed = re.search(r"(\d+) passed", out)
    if (
        proc.returncode != 0
        or not passed
        or " 0 misses" not in out
        or "baseline: .llm-baseline.json" not in out
    ):
        raise SystemExit(
            f"{' '.join(command)} in {where} did not replay cleanly:\n{out[-3000:]}{proc.stderr[-2000:]}"
        )
    run: dict[str, Any] = {"wall_s": wall, "cpu_s": cpu, "tests": int(passed.group(1))}
    if probe is not None:
        run.update(phases(json.loads(probe.read_text(encoding="utf-8")), launched, ended, cpu))
    return run


def phases(data: dict[str, Any], launched: float, ended: float, cpu_total: float) -> dict[str, Any]:
    """Wall and CPU seconds of each phase, from the probe's marks (the process's own clocks)."""
    marks = data["marks"]
    bounds = [
        ("startup", None, "collection_start"),
        ("collection", "collection_start", "collection_end"),
        ("loop", "loop_start", "loop_end"),
        ("report", "loop_end", "summary_end"),
        ("teardown", "summary_end", "exit_handlers_end"),
    ]
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for name, start, end in bounds:
        wall[name] = marks[end][0] - (marks[start][0] if start else launched)
        cpu[name] = marks[end][1] - (marks[start][1] if start else 0.0)
    wall["finalize"] = ended - marks["exit_handlers_end"][0]
    cpu["finalize"] = max(cpu_total - marks["exit_handlers_end"][1], 0.0)
    return {
        "phase_wall_s": wall,
        "phase_cpu_s": cpu,
        "modules": data["modules"],
        "full_collections": data["full_collections"]["count"],
        "full_collections_s": data["full_collections"]["seconds"],
        "gc_cpu_s": data["gc_cpu_s"],
        "imports_s": data["imports"],
    }


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(float(r[key]) for r in runs))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="measured rounds (default 5)")
    parser.add_argument(
        "--before", type=Path, metavar="PATH", help="another checkout of the project to compare with"
    )
    parser.add_argument("--quick", action="store_true", help="3 rounds")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    return parser


def measure(args: argparse.Namespace) -> dict[str, Any]:
    rounds = min(args.runs, 3) if args.quick else args.runs
    samples: dict[str, list[dict[str, Any]]] = {"warm": [], "cold": [], "probe": [], "before": []}
    with tempfile.TemporaryDirectory(prefix="bench-example-") as tmp:
        probe_dir = Path(tmp) / "probe"
        probe_dir.mkdir()
        (probe_dir / "llmops_bench_probe.py").write_text(PROBE, encoding="utf-8")
        here = copy_example(ROOT, Path(tmp) / "this")
        env = child_env(ROOT, probe_dir)
        jobs: dict[str, Callable[[int], dict[str, Any]]] = {
            "warm": lambda i: run_command(here, env, cold=False),
            "cold": lambda i: run_command(here, env, cold=True),
            "probe": lambda i: run_command(here, env, cold=False, probe=Path(tmp) / f"probe-{i}.json"),
        }
        if args.before is not None:
            before = copy_example(args.before.resolve(), Path(tmp) / "before")
            before_env = child_env(args.before.resolve())
            jobs["before"] = lambda i: run_command(before, before_env, cold=False)
        for job in jobs.values():  # warm-up: pyc files, the parse cache
            job(-1)
        for i in range(rounds):
            names = list(jobs) if i % 2 == 0 else list(reversed(jobs))
            for name in names:
                samples[name].append(jobs[name](i))
                print(
                    f"  round {i + 1}/{rounds} {name}: {samples[name][-1]['wall_s']:.2f} s wall", flush=True
                )
    return summarize(samples, rounds, args.before)


def summarize(samples: dict[str, list[dict[str, Any]]], rounds: int, before: Path | None) -> dict[str, Any]:
    warm, cold, probe, prior = samples["warm"], samples["cold"], samples["probe"], samples["before"]
    tests = warm[0]["tests"]
    phase_wall = {p: statistics.median(r["phase_wall_s"][p] for r in probe) for p, _ in PHASES}
    phase_cpu = {p: statistics.median(r["phase_cpu_s"][p] for r in probe) for p, _ in PHASES}
    versus: dict[str, Any] = {}
    if prior:
        versus = {"baseline": f"--before {before}", "baseline_value": _median(prior, "wall_s")}
    note = f"{tests} tests, median of {rounds} runs"
    figures = [
        figure(
            f"{COMMAND}, median wall, .pytest_cache warm",
            _median(warm, "wall_s"),
            "s",
            **versus,
            goal=GOAL,
            note=note,
        ),
        figure(
            f"{COMMAND}, median CPU, .pytest_cache warm",
            _median(warm, "cpu_s"),
            "s",
            **({**versus, "baseline_value": _median(prior, "cpu_s")} if prior else {}),
            note=note,
        ),
        figure(
            f"{COMMAND}, median wall, no .pytest_cache (fresh checkout)",
            _median(cold, "wall_s"),
            "s",
            goal=GOAL,
            note=note,
        ),
        figure(
            f"{COMMAND}, median CPU, no .pytest_cache (fresh checkout)",
            _median(cold, "cpu_s"),
            "s",
            note=note,
        ),
    ]
    for name, label in PHASES:
        figures.append(
            figure(
                f"phase CPU: {label}", phase_cpu[name], "s", note=f"wall {phase_wall[name]:.2f} s (median)"
            )
        )
    figures.append(
        figure("modules loaded at exit", statistics.median(r["modules"] for r in probe), "modules")
    )
    figures.append(
        figure(
            "full collections of the cyclic collector before finalization",
            statistics.median(r["full_collections"] for r in probe),
            "collections",
            note=f"{statistics.median(r['full_collections_s'] for r in probe):.2f} s wall (median)",
        )
    )
    figures.append(
        figure(
            "CPU of the cyclic collector before finalization, all generations",
            statistics.median(r["gc_cpu_s"] for r in probe),
            "s",
        )
    )
    for package in sorted({name for r in probe for name in r["imports_s"]}):
        figures.append(
            figure(
                f"CPU of `import {package}`, first imported by a test",
                statistics.median(r["imports_s"].get(package, 0.0) for r in probe),
                "s",
                note="part of the test loop's CPU; what the package imports included",
            )
        )
    return {
        "benchmark": "example",
        "command": COMMAND,
        "tests": tests,
        "rounds": rounds,
        "before": None if before is None else str(before),
        "samples": samples,
        "phase_wall_s": phase_wall,
        "phase_cpu_s": phase_cpu,
        "figures": figures,
    }


def report(results: dict[str, Any]) -> None:
    print(f"example: `{results['command']}`, {results['tests']} tests, {results['rounds']} rounds (medians)")
    for mode in ("warm", "cold", "probe", "before"):
        rows = results["samples"][mode]
        if rows:
            print(
                f"  {mode:6s} wall {_median(rows, 'wall_s'):6.2f} s (min {min(r['wall_s'] for r in rows):5.2f}), "
                f"CPU {_median(rows, 'cpu_s'):6.2f} s"
            )
    print("  phases (probe runs):        wall      CPU")
    for name, label in PHASES:
        print(
            f"    {label[:60]:60s} {results['phase_wall_s'][name]:6.2f} s {results['phase_cpu_s'][name]:6.2f} s"
        )
    print_figures(results)


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(argv, build_parser, measure, report)


if __name__ == "__main__":
    raise SystemExit(main())
