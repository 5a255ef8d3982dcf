"""What the plugin adds to every pytest run, llm tests or not: `pytest -q` on a one-test suite.

    python benchmarks/bench_startup.py [--runs 21] [--no-regular] [--quick] [--json PATH]

A temporary folder holds an empty pytest.ini and one trivial test. `pytest -q`
runs there in a subprocess with the plugin installed, and again with
`-p no:llmops` (the baseline), alternating, RUNS times each after two warm-up
runs each; every other installed plugin loads in both. PYTHONDONTWRITEBYTECODE
is unset for the children so pyc caches are warm, as on a developer's machine.
Medians of wall time and of the child's CPU time (user + system, from rusage);
on a loaded machine the CPU figure is the steadier one. Goal: ratio <= 1.10.

The venv here has an editable install (a `.pth` that installs an import
hook at every interpreter start). The same pair is measured with a regular
install too: a temporary venv with `pip install --no-deps` of a copy of the
project, which sees the dev venv's site-packages through a `.pth` path line
(path lines do not run that folder's own `.pth` files, so the hook is absent).

`python -X importtime` gives the plugin module's import cost, cumulative
(`import pytest_llmops.plugin` alone, which imports pytest) and with pytest
imported first (only what the plugin adds).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from figures import figure, print_figures, run_benchmark

ROOT = Path(__file__).resolve().parent.parent
GOAL = "ratio <= 1.10"
IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)$")


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def make_suite(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pytest.ini").write_text("", encoding="utf-8")
    (folder / "test_one.py").write_text("def test_one():\n    assert True\n", encoding="utf-8")
    return folder


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_run(command: list[str], cwd: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one run; the CPU time is the child's own, from rusage."""
    cpu0, wall0 = _child_cpu(), time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, env=child_env(), capture_output=True, text=True, check=False)
    wall, cpu = time.perf_counter() - wall0, _child_cpu() - cpu0
    if proc.returncode != 0 or "1 passed" not in proc.stdout:
        raise SystemExit(f"{' '.join(command)} failed in {cwd}:\n{proc.stdout}{proc.stderr}")
    return wall, cpu


def compare_pair(python: str, suite: Path, runs: int, warmup: int = 2) -> dict[str, Any]:
    """`pytest -q` with the plugin and with `-p no:llmops`, alternating; medians and ratios."""
    commands = {
        "plugin": [python, "-m", "pytest", "-q"],
        "no_plugin": [python, "-m", "pytest", "-q", "-p", "no:llmops"],
    }
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(warmup):
        for command in commands.values():
            time_run(command, suite)
    for i in range(runs):
        order = list(commands) if i % 2 == 0 else list(reversed(commands))
        for name in order:
            samples[name].append(time_run(commands[name], suite))
    out: dict[str, Any] = {"python": python, "runs": runs}
    for name, rows in samples.items():
        out[name] = {
            "wall_median_ms": round(statistics.median(w for w, _ in rows) * 1000, 1),
            "cpu_median_ms": round(statistics.median(c for _, c in rows) * 1000, 1),
            "wall_min_ms": round(min(w for w, _ in rows) * 1000, 1),
            "cpu_min_ms": round(min(c for _, c in rows) * 1000, 1),
        }
    return out


def import_times(python: str, code: str, repeat: int, cwd: Path) -> dict[str, float]:
    """Median cumulative import time (ms) of every module imported by `code` (and at start-up).

    `cwd` must not be the project folder: `-c` puts it first on sys.path, bypassing the install.
    """
    per_module: dict[str, list[float]] = {}
    for _ in range(repeat):
        proc = subprocess.run(
            [python, "-X", "importtime", "-c", code],
            cwd=cwd,
            env=child_env(),
            capture_output=True,
            text=True,
            check=True,
        )
        for line in proc.stderr.splitlines():
            match = IMPORT_LINE.match(line)
            if match:  # a module is imported once, so its name is a key at any depth
                per_module.setdefault(match.group(4), []).append(int(match.group(2)) / 1000)
    return {name: round(statistics.median(values), 2) for name, values in per_module.items()}


def regular_install(folder: Path) -> tuple[str | None, str]:
    """A venv with a regular (non-editable) install of the project; (python, how) or (None, why not)."""
    source = folder / "src"
    source.mkdir(parents=True)
    shutil.copy(ROOT / "pyproject.toml", source)
    for name in ("README.md", "LICENSE"):
        if (ROOT / name).is_file():
            shutil.copy(ROOT / name, source)
    shutil.copytree(
        ROOT / "pytest_llmops", source / "pytest_llmops", ignore=shutil.ignore_patterns("__pycache__")
    )
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return None, "pip install failed: " + (proc.stderr.strip().splitlines() or ["?"])[-1]
    (site / "zz_dev_venv.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    where = subprocess.run(
        [str(python), "-c", "import pytest_llmops; print(pytest_llmops.__file__)"],
        cwd=folder,
        env=child_env(),
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if not where.startswith(str(site)):
        return None, f"the temporary venv imports pytest_llmops from {where or '?'}, not {site}"
    return str(python), "pip install --no-deps of a copy of the project into a temporary venv"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=21, help="measured runs per configuration (default 21)")
    parser.add_argument("--no-regular", action="store_true", help="skip the regular-install venv")
    parser.add_argument("--quick", action="store_true", help="9 runs each, no regular install")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    return parser


def measure(args: argparse.Namespace) -> dict[str, Any]:
    runs = min(args.runs, 9) if args.quick else args.runs
    repeat = 5 if args.quick else 9
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        suite = make_suite(Path(tmp) / "suite")
        editable = compare_pair(sys.executable, suite, runs)
        alone = import_times(sys.executable, "import pytest_llmops.plugin", repeat, suite)
        after = import_times(sys.executable, "import pytest; import pytest_llmops.plugin", repeat, suite)
        regular: dict[str, Any] | None = None
        how = "skipped (--no-regular or --quick)"
        if not (args.quick or args.no_regular):
            python, how = regular_install(Path(tmp) / "regular")
            if python is not None:
                regular = compare_pair(python, suite, runs)
    figures = [
        *_pair_figures(editable, "editable install"),
        figure(
            "import pytest_llmops.plugin, cumulative (-X importtime, includes pytest)",
            alone["pytest_llmops.plugin"],
            "ms",
            note="median of importtime runs",
        ),
        figure(
            "import pytest_llmops.plugin after pytest",
            after["pytest_llmops.plugin"],
            "ms",
            baseline="import pytest",
            baseline_value=after["pytest"],
        ),
    ]
    hook = {k: v for k, v in alone.items() if k.startswith("__editable__")}
    if hook:
        figures.append(
            figure(
                "editable install's import hook (.pth), imported at every interpreter start",
                sum(hook.values()),
                "ms",
                note=", ".join(hook),
            )
        )
    if regular is not None:
        figures[2:2] = _pair_figures(regular, "regular install")
        figures.append(
            figure(
                "pytest -q -p no:llmops, median CPU, editable-install venv",
                editable["no_plugin"]["cpu_median_ms"],
                "ms",
                baseline="regular-install venv",
                baseline_value=regular["no_plugin"]["cpu_median_ms"],
            )
        )
    return {
        "benchmark": "startup",
        "suite": "one trivial test, empty pytest.ini, `pytest -q`",
        "runs": runs,
        "editable": editable,
        "regular": regular,
        "regular_install": how,
        "importtime_ms": {"plugin_alone": alone, "after_pytest": after},
        "editable_hook_import_ms": hook,
        "figures": figures,
    }


def _pair_figures(pair: dict[str, Any], install: str) -> list[dict[str, Any]]:
    with_plugin, without = pair["plugin"], pair["no_plugin"]
    return [
        figure(
            f"pytest -q, one test, median wall ({install})",
            with_plugin["wall_median_ms"],
            "ms",
            baseline="-p no:llmops",
            baseline_value=without["wall_median_ms"],
            goal=GOAL,
        ),
        figure(
            f"pytest -q, one test, median CPU ({install})",
            with_plugin["cpu_median_ms"],
            "ms",
            baseline="-p no:llmops",
            baseline_value=without["cpu_median_ms"],
            goal=GOAL,
        ),
    ]


def report(results: dict[str, Any]) -> None:
    print(f"startup: {results['suite']}, {results['runs']} alternating runs each")
    for install in ("editable", "regular"):
        pair = results[install]
        if pair is None:
            print(f"  {install} install: {results['regular_install']}")
            continue
        for name, label in (("plugin", "with plugin"), ("no_plugin", "-p no:llmops")):
            row = pair[name]
            print(
                f"  {install:8s} {label:13s} wall median {row['wall_median_ms']:6.1f} ms "
                f"(min {row['wall_min_ms']:6.1f}), CPU median {row['cpu_median_ms']:6.1f} ms "
                f"(min {row['cpu_min_ms']:6.1f})"
            )
    after = results["importtime_ms"]["after_pytest"]
    print(
        f"  importtime: plugin alone {results['importtime_ms']['plugin_alone']['pytest_llmops.plugin']} ms "
        f"cumulative; after pytest {after['pytest_llmops.plugin']} ms (pytest itself {after['pytest']} ms)"
    )
    print_figures(results)


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(argv, build_parser, measure, report)


if __name__ == "__main__":
    raise SystemExit(main())
