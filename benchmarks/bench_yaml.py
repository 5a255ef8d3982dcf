"""Read a 5,000-interaction cassette with each YAML option, side by side (issue: keep the simplest that
holds the replay goal).

Run: python benchmarks/bench_yaml.py [N] [--repeat 3] [--quick] [--json PATH]

Options measured on the same file (written by `dump_interactions`, our readable vcrpy v1 layout):
- `fast_load`: the hand-written reader for the subset our writer emits (`recording/yaml_fast.py`);
- PyYAML with libyaml (`CSafeLoader`, what `load_yaml` falls back to);
- rapidyaml (`ryml`, C++), when installed: parse, emit JSON, `json.loads` (its Python API has no
  direct conversion to Python objects);
- a parse cache keyed by the file's content hash (`recording/parse_cache.py`): SHA-256 of the bytes,
  then `marshal.loads` of the parsed form stored under that hash. It can never be stale: a changed
  byte is a different key. Timed warm (the cache holds the file) and cold (parse + store).
Writing: the hand-written emitter (`yaml_emitter.py`) against PyYAML's `CSafeDumper` on the same items.
CPU time, best of REPEAT.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_cassette_io import _best_of, _chat
from figures import figure, print_figures, run_benchmark

from pytest_llmops.recording import yaml_general, yaml_io
from pytest_llmops.recording.formats import _interaction_data, dump_interactions
from pytest_llmops.recording.parse_cache import ParseCache
from pytest_llmops.recording.yaml_fast import fast_load


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=5000, help="interactions (default 5000)")
    parser.add_argument("--repeat", type=int, default=3, help="timing runs; the best is kept")
    parser.add_argument("--quick", action="store_true", help="1,000 interactions")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    return parser


def _ryml_load(data: bytes) -> Any:
    import ryml

    tree = ryml.parse_in_arena(data)
    return json.loads(ryml.emit_json_malloc(tree, tree.root_id()))


def measure(args: argparse.Namespace) -> dict[str, Any]:
    n = min(args.n, 1000) if args.quick else args.n
    interactions = [_chat(i) for i in range(n)]
    text = dump_interactions(interactions)
    data = text.encode()
    reference = fast_load(text)
    assert reference is not None and reference == yaml.load(data, Loader=yaml_general.CassetteLoader)
    ms = 1000.0
    timings: dict[str, float] = {}
    timings["fast_load"] = _best_of(args.repeat, lambda: fast_load(data.decode()))[1] * ms
    timings["pyyaml_libyaml"] = (
        _best_of(args.repeat, lambda: yaml.load(data, Loader=yaml_general.CassetteLoader))[1] * ms
    )
    try:
        import ryml  # noqa: F401

        ryml_data = _ryml_load(data)
        timings["rapidyaml"] = _best_of(args.repeat, lambda: _ryml_load(data))[1] * ms
        ryml_equal = ryml_data == reference
    except ImportError:
        ryml_equal = None
    with tempfile.TemporaryDirectory() as tmp:
        cache = ParseCache(Path(tmp))

        def cold() -> None:
            cache.clear()
            cache.load(data, lambda: yaml.load(data, Loader=yaml_general.CassetteLoader))

        timings["cache_cold_pyyaml"] = _best_of(args.repeat, cold)[1] * ms
        assert cache.load(data, lambda: None) == reference
        timings["cache_warm"] = _best_of(args.repeat, lambda: cache.load(data, lambda: None))[1] * ms
    items = [_interaction_data(x, i) for i, x in enumerate(interactions)]
    timings["dump_emitter"] = _best_of(args.repeat, lambda: yaml_io.dump_cassette(items))[1] * ms
    timings["dump_pyyaml_libyaml"] = (
        _best_of(args.repeat, lambda: yaml_io.dump_yaml({"interactions": items, "version": 1}))[1] * ms
    )
    goal = "value <= 500"
    return {
        "benchmark": "yaml",
        "interactions": n,
        "megabytes": round(len(data) / 1e6, 1),
        "libyaml": yaml.__with_libyaml__,
        "rapidyaml_equal": ryml_equal,
        "cpu_ms": {k: round(v, 1) for k, v in timings.items()},
        "figures": [
            figure(
                f"load {n:,} interactions: {name}, CPU",
                value,
                "ms",
                baseline="PyYAML + libyaml",
                baseline_value=timings["pyyaml_libyaml"],
                goal=goal,
            )
            for name, value in timings.items()
            if not name.startswith("dump")
        ]
        + [
            figure(
                f"dump {n:,} interactions: {name}, CPU",
                value,
                "ms",
                baseline="PyYAML + libyaml",
                baseline_value=timings["dump_pyyaml_libyaml"],
            )
            for name, value in timings.items()
            if name.startswith("dump")
        ],
    }


def report(results: dict[str, Any]) -> None:
    print(
        f"{results['interactions']:,} interactions, {results['megabytes']} MB, libyaml: {results['libyaml']}, "
        f"rapidyaml gives the same data: {results['rapidyaml_equal']}"
    )
    print_figures(results)


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(argv, build_parser, measure, report)


if __name__ == "__main__":
    raise SystemExit(main())
