"""Run every benchmark, print each figure beside its baseline and ratio, save it all with the machine.

    python benchmarks/run.py [--quick] [--only startup,replay,...] [--out PATH] [--readme]

Each benchmark runs in its own process (`bench_<name>.py [--quick] --json FILE`),
so none inherits another's imports, caches or heap. The results, with a
description of the machine (CPU, cores, load, memory, Python, OS, package
versions, date, git commit), go to benchmarks/results/latest.json; `--readme`
also rewrites the "Last run" section of benchmarks/README.md from them.
Speed goals are measured and reported here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from figures import format_figure, goal_met  # noqa: E402

BENCHMARKS = (
    "startup",
    "replay",
    "recording",
    "cassette_io",
    "yaml",
    "inspect",
    "report",
    "safety",
    "injection",
    "transports",
    "example",
)
PACKAGES = (
    "pytest-llmops",
    "pytest",
    "pluggy",
    "pytest-xdist",
    "openai",
    "anthropic",
    "httpx2",
    "httpcore2",
    "vcrpy",
    "pytest-recording",
    "PyYAML",
    "genai-prices",
    "rapidfuzz",
    "pydantic",
)
README = HERE / "README.md"
START, END = "<!-- last-run:start -->", "<!-- last-run:end -->"


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""


def _cpu_model() -> str:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 2**20, 1)
    return None


def _os_name() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip('"')
    return platform.system()


def _git(*args: str) -> str | None:
    try:
        proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    except OSError:
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def machine_info() -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    try:
        import yaml

        libyaml: bool | None = bool(yaml.__with_libyaml__)
    except ImportError:
        libyaml = None
    status = _git("status", "--porcelain")
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gb": _memory_gb(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "python_executable": sys.executable,
        "os": f"{_os_name()} ({platform.platform()})",
        "packages": versions,
        "libyaml": libyaml,
        "git_commit": _git("rev-parse", "HEAD"),
        "git_uncommitted_files": None if status is None else len(status.splitlines()),
    }


def run_one(name: str, quick: bool) -> tuple[dict[str, Any] | None, float, str | None]:
    """(results, seconds, error) of `bench_<name>.py`, its own output streamed to ours."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        out = Path(tmp) / "results.json"
        command = [sys.executable, str(HERE / f"bench_{name}.py"), "--json", str(out)]
        if quick:
            command.append("--quick")
        started = time.perf_counter()
        proc = subprocess.run(command, cwd=ROOT, check=False)
        seconds = time.perf_counter() - started
        if proc.returncode != 0 or not out.is_file():
            return None, seconds, f"exit status {proc.returncode}"
        return json.loads(out.read_text(encoding="utf-8")), seconds, None


# -- the table of issue 17: every row it asks for, from the benchmarks that measure it ------------------


@dataclass(frozen=True)
class Pick:
    """The figure of benchmark `bench` whose name matches `name` (and baseline `baseline`), a regex each;
    the first match, or the last with `last`."""

    bench: str
    name: str
    baseline: str | None = None
    last: bool = False

    def find(self, results: dict[str, Any]) -> dict[str, Any] | None:
        bench = results["benchmarks"].get(self.bench) or {}
        found: list[dict[str, Any]] = [
            fig
            for fig in ((bench.get("results") or {}).get("figures") or [])
            if re.search(self.name, fig["name"])
            and (self.baseline is None or re.search(self.baseline, fig.get("baseline") or ""))
        ]
        if not found:
            return None
        return found[-1] if self.last else found[0]


@dataclass(frozen=True)
class Row:
    """One line of issue 17's table: what, the figure that measures it (and pytest-recording's), the
    issue's goal (`text`) and how it is checked on the figure (`check`, as in figures.py: `ratio <= 1.3`)."""

    what: str
    pick: Pick
    text: str
    check: str
    peer: Pick | None = None
    """pytest-recording's figure: ours against it (its value is the baseline), or its own (`peer_own`)."""
    peer_own: bool = False
    tests: str = ""
    """The issue's size, for `{tests}` in `what` when no figure names one."""


WHOLE_RUN = r"^replay, whole run, \(run - empty run\) CPU / calls, [\d,]+ tests x"
ISSUE_17 = (
    Row(
        "start-up, one trivial test, plugin vs -p no:llmops (CPU)",
        Pick("startup", r"^pytest -q, one test, median CPU \(editable install\)"),
        "hold (<= 1.10x)",
        "ratio <= 1.10",
    ),
    Row(
        "replay, inside the test (per create(), CPU)",
        Pick("replay", r"^replay per call, CPU in test", "floor"),
        "hold (<= 1.5x the floor)",
        "ratio <= 1.5",
        peer=Pick("replay", r"^replay per call, CPU in test", "pytest-recording"),
    ),
    Row(
        "replay, whole run, (run - empty run) CPU / calls, {tests} tests",
        Pick("replay", WHOLE_RUN, "floor"),
        "<= 1.3x the floor",
        "ratio <= 1.3",
        peer=Pick("replay", WHOLE_RUN, "pytest-recording"),
        tests="500",
    ),
    Row(
        "same, {tests} tests",
        Pick("replay", WHOLE_RUN, "floor", last=True),
        "<= 1.3x the floor",
        "ratio <= 1.3",
        peer=Pick("replay", WHOLE_RUN, "pytest-recording", last=True),
        tests="2,000",
    ),
    Row(
        "--llm-eval on {tests} tests that make no call, over the empty run, per test",
        Pick("replay", r"^--llm-eval on .* making no call.*per test", last=True),
        "<= 0.1 ms per test",
        "value <= 0.1",
        tests="2,000",
    ),
    Row(
        "peak memory, {tests} replayed tests",
        Pick("replay", r"^peak memory", "pytest-recording", last=True),
        "<= pytest-recording",
        "ratio <= 1",
        tests="2,000",
    ),
    Row(
        "recording, (run - empty run) CPU / calls",
        Pick("recording", r"^pytest-llmops recording, \(run - empty run\) CPU / calls"),
        "<= 1.3x live",
        "ratio <= 1.3",
        peer=Pick("recording", r"^pytest-recording recording, \(run - empty run\) CPU / calls"),
        peer_own=True,
    ),
    Row(
        "one cassette of 5,000 interactions: per call, last segment / first",
        Pick("replay", r"^one cassette, median CPU per call", last=True),
        "hold (flat: <= 1.25x)",
        "ratio <= 1.25",
    ),
    Row(
        "one cassette of 5,000 interactions: load, CPU, no parse cache",
        Pick("replay", r"^load a [\d,]+-interaction cassette.*CPU(, cold)?$"),
        "<= 0.5 s",
        "value <= 500",
    ),
    Row(
        "time to first chunk while recording a slow stream",
        Pick("recording", r"^time to first chunk of a slow stream, pytest-llmops"),
        "hold (<= 1.05x live)",
        "ratio <= 1.05",
        peer=Pick("recording", r"^time to first chunk of a slow stream, pytest-recording"),
        peer_own=True,
    ),
    Row(
        "cassette size, a typical chat call",
        Pick("recording", r"^cassette size"),
        "<= 1.6 KB",
        "value <= 1638",
    ),
    Row(
        "pytest example_project --llm-eval, median wall",
        Pick("example", r"median wall, \.pytest_cache warm"),
        "<= 4 s wall",
        "value <= 4",
    ),
)


def issue_17(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of issue 17's table from `results`; a figure no benchmark produced is "not measured"."""
    rows = []
    for row in ISSUE_17:
        fig = row.pick.find(results)
        peer = row.peer.find(results) if row.peer else None
        tests = re.search(r"([\d,]+) (?:llm |replayed )?tests", fig["name"]) if fig else None
        what = row.what.replace("{tests}", tests.group(1) if tests else row.tests)
        out: dict[str, Any] = {"what": what, "goal": row.text, "figure": None, "met": None}
        if fig is not None:
            out.update(
                figure=fig["name"],
                value=fig["value"],
                unit=fig["unit"],
                baseline=fig.get("baseline"),
                baseline_value=fig.get("baseline_value"),
                ratio=fig.get("ratio"),
                met=goal_met(row.check, fig["value"], fig.get("ratio")),
            )
        if peer is not None:
            peer_value = peer["value"] if row.peer_own else peer.get("baseline_value")
            out.update(
                peer_value=peer_value,
                peer_vs_baseline=peer.get("ratio") if row.peer_own else None,
                peer_ratio=fig["value"] / peer_value if fig is not None and peer_value else None,
            )
        rows.append(out)
    return rows


def _amount(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    text = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return f"{text} {unit}".strip()


def issue_17_cells(row: dict[str, Any]) -> list[str]:
    """what, value, baseline, ratio, peer, peer ratio, goal, met: as text."""
    if row["figure"] is None:
        return [row["what"], "not measured", "", "", "", "", row["goal"], "-"]
    baseline = (
        f"{row['baseline']}: {_amount(row['baseline_value'], row['unit'])}" if row.get("baseline") else ""
    )
    ratio = "" if row.get("ratio") is None else f"{row['ratio']:.3g}x"
    peer = ""
    if row.get("peer_value") is not None:
        peer = f"pytest-recording: {_amount(row['peer_value'], row['unit'])}"
        if row.get("peer_vs_baseline") is not None:
            peer += f" ({row['peer_vs_baseline']:.3g}x)"
    peer_ratio = "" if row.get("peer_ratio") is None else f"{row['peer_ratio']:.3g}x"
    met = {True: "yes", False: "no", None: "-"}[row["met"]]
    return [
        row["what"],
        _amount(row["value"], row["unit"]),
        baseline,
        ratio,
        peer,
        peer_ratio,
        row["goal"],
        met,
    ]


ISSUE_17_HEADER = ["what", "value", "baseline / floor", "ratio", "peer", "ratio to peer", "goal", "met"]


def issue_17_text(results: dict[str, Any]) -> list[str]:
    rows = [ISSUE_17_HEADER] + [issue_17_cells(row) for row in issue_17(results)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(ISSUE_17_HEADER))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def issue_17_markdown(results: dict[str, Any]) -> list[str]:
    lines = ["| " + " | ".join(ISSUE_17_HEADER) + " |", "|---|---:|---|---:|---|---:|---|---|"]
    for row in issue_17(results):
        cells = issue_17_cells(row)
        if row["met"] is False:
            cells[-1] = "**no**"
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def summary_lines(results: dict[str, Any]) -> list[str]:
    lines = []
    for name, bench in results["benchmarks"].items():
        if bench.get("error"):
            lines.append(f"{name}: FAILED ({bench['error']})")
            continue
        lines.append(f"{name} ({bench['seconds']:.0f} s):")
        lines.extend("  " + format_figure(fig) for fig in bench["results"].get("figures", []))
    return lines


def _cell(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def markdown(results: dict[str, Any]) -> str:
    """The "Last run" section of the README: the machine, then one table row per figure."""
    m = results["machine"]
    commit = (m["git_commit"] or "?")[:12]
    dirty = m["git_uncommitted_files"]
    pkgs = ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
    lines = [
        f"Run {m['date']} ({'--quick' if results['quick'] else 'full run'}), "
        f"commit `{commit}`" + (f" with {dirty} uncommitted files" if dirty else "") + ".",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} cores ({m['cores_usable']} usable), {m['memory_gb']} GB",
        f"- Load average at start: {', '.join(map(str, m['load_average']))}"
        f" (end: {', '.join(map(str, results['load_average_end']))}); the machine is shared",
        f"- {m['python']} on {m['os']}; libyaml: {m['libyaml']}",
        f"- Packages: {pkgs}",
        "",
        "| benchmark | figure | value | baseline | baseline value | ratio | goal | met |",
        "|---|---|---:|---|---:|---:|---|---|",
    ]
    for name, bench in results["benchmarks"].items():
        if bench.get("error"):
            lines.append(f"| {name} | failed: {bench['error']} | | | | | | |")
            continue
        for fig in bench["results"].get("figures", []):
            met = {True: "yes", False: "**no**", None: ""}[fig.get("met")]
            ratio = "" if fig.get("ratio") is None else f"{fig['ratio']:.3g}x"
            lines.append(
                f"| {name} | {fig['name']} | {_cell(fig['value'])} {fig['unit']} | {fig.get('baseline') or ''} | "
                f"{_cell(fig.get('baseline_value'))} | {ratio} | {fig.get('goal') or ''} | {met} |"
            )
    lines += ["", "Issue 17's table (rows no benchmark of this run measured: not measured):", ""]
    lines += issue_17_markdown(results)
    return "\n".join(lines)


def update_readme(results: dict[str, Any]) -> None:
    text = README.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"{README}: markers {START} / {END} not found; add them where the last run goes")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\n{markdown(results)}\n{END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer runs (about a minute)")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(BENCHMARKS)}")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "latest.json", help="results file")
    parser.add_argument("--readme", action="store_true", help="rewrite the Last run section of README.md")
    parser.add_argument(
        "--table", type=Path, metavar="RESULTS", help="only print issue 17's table from a saved results file"
    )
    args = parser.parse_args(argv)
    if args.table is not None:
        print("\n".join(issue_17_text(json.loads(args.table.read_text(encoding="utf-8")))))
        return 0

    names = BENCHMARKS
    if args.only:
        names = tuple(n.strip() for n in args.only.split(",") if n.strip())
        unknown = set(names) - set(BENCHMARKS)
        if unknown:
            parser.error(f"--only: unknown {', '.join(sorted(unknown))}; choose from {', '.join(BENCHMARKS)}")

    results: dict[str, Any] = {"machine": machine_info(), "quick": args.quick, "benchmarks": {}}
    started = time.perf_counter()
    for name in names:
        if not (HERE / f"bench_{name}.py").is_file():  # another branch's benchmark, not merged here yet
            print(f"\n=== {name}: bench_{name}.py is not in this checkout, skipped", flush=True)
            continue
        print(f"\n=== {name} " + "=" * (60 - len(name)), flush=True)
        bench, seconds, error = run_one(name, args.quick)
        results["benchmarks"][name] = {"seconds": round(seconds, 1), "error": error, "results": bench}
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    results["load_average_end"] = [round(x, 2) for x in os.getloadavg()]

    print("\n=== summary " + "=" * 53)
    m = results["machine"]
    print(f"{m['cpu']}, {m['cores']} cores, {m['python']}, {m['os']}")
    print(f"load average at start {m['load_average']}, at end {results['load_average_end']}")
    for line in summary_lines(results):
        print(line)
    print(f"total {results['total_seconds']:.0f} s")
    results["issue_17"] = issue_17(results)
    print("\n=== issue 17: replay at unit-test speed, recording at live speed " + "=" * 10)
    for line in issue_17_text(results):
        print(line)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {args.out}")
    if args.readme:
        update_readme(results)
        print(f"last run written to {README}")
    return 1 if any(b["error"] for b in results["benchmarks"].values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
