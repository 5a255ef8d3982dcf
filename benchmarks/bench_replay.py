"""Replay speed: OpenAI chat completions from cassettes, against the floor and pytest-recording.

    python benchmarks/bench_replay.py [--tests 200] [--calls 10] [--repeat 3] [--scale 5000]
                                      [--whole 500,2000] [--quick] [--keep DIR] [--json PATH]

Layout: TESTS plain test functions (10 modules) that each make CALLS chat
completions through the real openai SDK (sync client; model, two messages,
temperature, as a typical test), so 200 x 10 = 2,000 calls by default. The
cassettes are recorded once against the provider simulator with
`--llm-eval --llm-record=once` (fake key made at run time), then the same
test files run in separate pytest processes, alternating, REPEAT times:

  floor           the SDK with `http_client=httpx2.Client(transport=MockTransport(h))`, where `h`
                  pops the next recorded response of the test (bytes preloaded; no matching at all)
  pytest-recording  `@pytest.mark.vcr`, record_mode none, match_on method scheme host port path
                  query body (the same matching as ours), on the same cassette files
  pytest-llmops   `@pytest.mark.llm` with `--llm-eval` (replay is the default record mode)
  empty           the same tests making no calls (plugins off), subtracted from whole-run times

Per call, each test records wall (perf_counter) and CPU (process_time) time
around `create()`; the whole pytest process is timed too (wall, and CPU from
rusage of the child), and (run - empty) / calls gives a per-call cost that
includes cassette loading and the plugin's per-test and end-of-run work.

Whole runs (issue 17's rows): for each size in --whole, that many tests making one call each, run as
no calls / floor / pytest-recording / pytest-llmops (parse cache warm) / pytest-llmops (parse cache
cold) / pytest-llmops making no call, in rotating rounds; CPU and peak memory (ru_maxrss) of each child
from os.wait4. Figures: (run - empty) / calls against the floor (goal <= 1.3x) and pytest-recording,
the no-call llm tests over the empty run per test (goal <= 0.1 ms), peak memory against pytest-recording.

Scale: one test replays SCALE distinct interactions from one cassette; per-call
time over replays 1-500, 501-1000, 1001-2000, 2001-5000 should stay flat (the
cassette is indexed, not scanned). The cassette's load time is measured apart,
in this process, cold and with the parse cache warm, against vcrpy's deserializer.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from figures import figure, print_figures, run_benchmark

GOAL_VS_FLOOR = "ratio <= 1.5"
GOAL_VS_VCR = "ratio < 1"
GOAL_WHOLE_VS_FLOOR = "ratio <= 1.3"
GOAL_NO_CALL_MS = "value <= 0.1"
GOAL_LOAD_MS = "value <= 500"
WHOLE_SIZES = (500, 2000)
MODULES = 10
SCALE_MARKS = (500, 1000, 2000, 5000)
VCR_MATCH_ON = "method,scheme,host,port,path,query,body"
HOP_HEADERS = frozenset(
    {"content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive"}
)
LABELS = {
    "floor": "floor (MockTransport)",
    "vcr": "pytest-recording",
    "llmops": "pytest-llmops",
    "empty": "no calls",
    "llmops-empty": "pytest-llmops, no calls",
    "llmops-cold": "pytest-llmops, parse cache cold",
}

SUPPORT = '''
"""Shared by the generated tests and their conftest (one module, so both see the same TIMES)."""
import os

import pytest

MODE = os.environ["BENCH_MODE"]
CALLS = int(os.environ.get("BENCH_CALLS", "10"))
SCALE = int(os.environ.get("BENCH_SCALE", "0"))
MARKS = {"record": [pytest.mark.llm], "llmops": [pytest.mark.llm], "vcr": [pytest.mark.vcr]}.get(MODE, [])
SYSTEM = "You are the support assistant of an online bookshop. Answer in one or two sentences."
TIMES = []  # (wall seconds, CPU seconds) per call
'''

CONFTEST = '''
import collections
import json
import os
import pickle

import pytest

import bench_support

OUTCOMES = collections.Counter()


FLOOR = {}  # test name -> its recorded responses, in call order (floor mode only)
PENDING = collections.deque()  # the running test's responses not yet served


@pytest.fixture(scope="session")
def client():
    """One client for the session, as an app holds one; a client per test would add an SSL context each."""
    from openai import OpenAI

    kwargs = {}
    if bench_support.MODE == "floor":
        import httpx2

        with open(os.environ["BENCH_FLOOR"], "rb") as f:
            FLOOR.update(pickle.load(f))

        def answer(request):
            status, headers, body = PENDING.popleft()
            return httpx2.Response(status, headers=headers, content=body)

        kwargs["http_client"] = httpx2.Client(transport=httpx2.MockTransport(answer))
    sdk = OpenAI(base_url=os.environ["SIM_URL"] + "/v1", max_retries=0, **kwargs)
    yield sdk
    sdk.close()


@pytest.fixture(autouse=True)
def _floor_queue(request, client):
    if FLOOR:
        PENDING.clear()
        PENDING.extend(FLOOR[request.node.name])


@pytest.fixture(scope="session")
def vcr_config():
    return {"record_mode": "none", "match_on": os.environ["BENCH_VCR_MATCH"].split(",")}


def pytest_runtest_logreport(report):
    if report.when == "call" or report.outcome != "passed":
        OUTCOMES[report.outcome] += 1


def pytest_sessionfinish(session):
    with open(os.environ["BENCH_OUT"], "w") as f:
        json.dump({"times": bench_support.TIMES, "outcomes": dict(OUTCOMES)}, f)
'''

MODULE_HEAD = '''
"""Generated by benchmarks/bench_replay.py: typical llm tests, each making CALLS chat completions."""
from time import perf_counter, process_time

from bench_support import CALLS, MARKS, SYSTEM, TIMES

pytestmark = MARKS
'''

TEST = """

def test_case_{k:03d}(client):
    for i in range(CALLS):
        messages = [
            {{"role": "system", "content": SYSTEM}},
            {{"role": "user", "content": f"Customer {k} asks ({{i}}): where is order {k}-{{i}}? "
                                         f"I placed it {{i + 1}} days ago and it has not arrived."}},
        ]
        wall, cpu = perf_counter(), process_time()
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=messages, temperature=0.2)
        TIMES.append((perf_counter() - wall, process_time() - cpu))
        assert reply.choices[0].message.content
"""

SCALE_TEST = '''
"""Generated by benchmarks/bench_replay.py: one test replaying SCALE distinct interactions."""
from time import perf_counter, process_time

from bench_support import MARKS, SCALE, SYSTEM, TIMES

pytestmark = MARKS


def test_scale(client):
    for i in range(SCALE):
        messages = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Question {i}: is book number {i} in stock?"},
        ]
        wall, cpu = perf_counter(), process_time()
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=messages, temperature=0.2)
        TIMES.append((perf_counter() - wall, process_time() - cpu))
        assert reply.choices[0].message.content
'''

MODE_ARGS = {
    "record": ["--llm-eval", "--llm-record=once", "-p", "no:recording"],
    "llmops": ["--llm-eval", "-p", "no:recording"],
    "vcr": ["-p", "no:llmops", "--record-mode=none"],
    "floor": ["-p", "no:llmops", "-p", "no:recording"],
    "empty": ["-p", "no:llmops", "-p", "no:recording"],
    "llmops-empty": ["--llm-eval", "-p", "no:recording"],
    "llmops-cold": ["--llm-eval", "-p", "no:recording"],
}


def fake_key() -> str:
    """Key-shaped, assembled at run time (nothing key-like is written in the source)."""
    return "sk-" + "proj-" + "bench" + "x" * 40


def make_project(root: Path, tests: int) -> Path:
    suite = root / "tests"
    suite.mkdir(parents=True, exist_ok=True)
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (suite / "bench_support.py").write_text(SUPPORT.lstrip(), encoding="utf-8")
    (suite / "conftest.py").write_text(CONFTEST.lstrip(), encoding="utf-8")
    if tests == 0:
        (suite / "test_scale.py").write_text(SCALE_TEST.lstrip(), encoding="utf-8")
        return root
    per_module = -(-tests // MODULES)
    for m in range(MODULES):
        ks = range(m * per_module, min(tests, (m + 1) * per_module))
        if ks:
            text = MODULE_HEAD.lstrip() + "".join(TEST.format(k=k) for k in ks)
            (suite / f"test_replay_{m:02d}.py").write_text(text, encoding="utf-8")
    return root


def run_pytest(
    project: Path,
    mode: str,
    env: dict[str, str],
    expect_calls: int,
    *,
    parse_cache: str = "off",
    wrapper: tuple[str, ...] = (),
) -> dict[str, Any]:
    """One pytest process: its wall time, CPU time and peak memory (the child's own rusage, from wait4),
    and the per-call times its tests recorded.

    `parse_cache`: "off" runs with `-p no:cacheprovider` (no `.pytest_cache`, so no parse cache either),
    "warm" with pytest's cache as a developer's repeated run has it, "cold" with the cache provider on
    but the plugin's parse cache emptied first (a fresh CI checkout).
    `wrapper` runs the process under another command (valgrind); its output is returned as "output".
    """
    out = project / f".bench-{mode}.json"
    run_env = {**env, "BENCH_MODE": mode.removesuffix("-empty").removesuffix("-cold"), "BENCH_OUT": str(out)}
    if mode.endswith("empty"):
        run_env["BENCH_CALLS"] = "0"
    command = [*wrapper, sys.executable, "-m", "pytest", "-q", "-p", "no:hypothesispytest"]
    if parse_cache == "off":
        command += ["-p", "no:cacheprovider"]
    elif parse_cache == "cold":
        shutil.rmtree(project / ".pytest_cache" / "d" / "llmops-cassettes", ignore_errors=True)
    command += MODE_ARGS[mode]
    with tempfile.TemporaryFile() as log:
        wall0 = time.perf_counter()
        proc = subprocess.Popen(command, cwd=project, env=run_env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - wall0
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        output = log.read().decode("utf-8", "replace")
    data = json.loads(out.read_text()) if out.is_file() else {"times": [], "outcomes": {}}
    calls = len(data["times"])
    if proc.returncode != 0 or calls != expect_calls or set(data["outcomes"]) - {"passed"}:
        tail = "\n".join(output.splitlines()[-30:])
        raise SystemExit(
            f"{mode} run in {project} failed (exit {proc.returncode}, {calls}/{expect_calls} calls, "
            f"outcomes {data['outcomes']}):\n{tail}"
        )
    walls = [t[0] for t in data["times"]]
    cpus = [t[1] for t in data["times"]]
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "maxrss_mb": usage.ru_maxrss / 1024,  # KiB on Linux
        "calls": calls,
        "call_wall_s": walls,
        "call_cpu_s": cpus,
        "output": output,
    }


def base_env(sim_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "BENCH_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # warm pyc caches, as on a developer's machine
    for name in ("OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        env.pop(name, None)
    env.update(SIM_URL=sim_url, OPENAI_API_KEY=fake_key(), BENCH_VCR_MATCH=VCR_MATCH_ON)
    return env


def write_floor(project: Path, target: Path) -> int:
    """The recorded responses per test, in call order, as the floor's MockTransport serves them."""
    from pytest_llmops.recording.formats import load_interactions

    table: dict[str, list[tuple[int, list[tuple[str, str]], bytes]]] = {}
    count = 0
    for path in sorted((project / "tests" / "cassettes").rglob("*.yaml")):
        rows = []
        for interaction in load_interactions(path):
            response = interaction.response
            headers = [
                (k, v)
                for k, values in response.headers.items()
                if k.lower() not in HOP_HEADERS
                for v in values
            ]
            rows.append((response.status, headers, response.body))
        table[path.stem] = rows
        count += len(rows)
    target.write_bytes(pickle.dumps(table))
    return count


def _per_call(run: dict[str, Any]) -> dict[str, float]:
    walls, cpus = run["call_wall_s"], run["call_cpu_s"]
    return {
        "cpu_mean_us": statistics.fmean(cpus) * 1e6,
        "cpu_median_us": statistics.median(cpus) * 1e6,
        "wall_median_us": statistics.median(walls) * 1e6,
        "wall_mean_us": statistics.fmean(walls) * 1e6,
        "run_wall_s": run["wall_s"],
        "run_cpu_s": run["cpu_s"],
    }


def _median_of(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def compare(project: Path, env: dict[str, str], tests: int, calls: int, repeat: int) -> dict[str, Any]:
    """Every mode `repeat` times, rotating the order each round so load drift falls on all of them.

    "llmops-empty" runs the same tests under the plugin without calls: cassettes loaded, records
    kept, report printed, so it separates the plugin's per-test and per-session work from its per-call work.
    """
    modes = ["empty", "floor", "vcr", "llmops", "llmops-empty"]
    total = tests * calls
    for mode in modes:  # warm-up (pyc and page caches), one call per test, which must replay
        expect = 0 if mode.endswith("empty") else tests
        run_pytest(project, mode, {**env, "BENCH_CALLS": "1"}, expect)
    runs: dict[str, list[dict[str, float]]] = {m: [] for m in modes}
    for rep in range(repeat):
        for mode in modes[rep % len(modes) :] + modes[: rep % len(modes)]:
            run = run_pytest(project, mode, env, 0 if mode.endswith("empty") else total)
            if mode.endswith("empty"):
                runs[mode].append({"run_wall_s": run["wall_s"], "run_cpu_s": run["cpu_s"]})
            else:
                runs[mode].append(_per_call(run))
    empty_wall = _median_of(runs["empty"], "run_wall_s")
    empty_cpu = _median_of(runs["empty"], "run_cpu_s")
    summary: dict[str, Any] = {
        "empty_run_wall_s": round(empty_wall, 3),
        "empty_run_cpu_s": round(empty_cpu, 3),
        "llmops_empty_run_wall_s": round(_median_of(runs["llmops-empty"], "run_wall_s"), 3),
        "llmops_empty_run_cpu_s": round(_median_of(runs["llmops-empty"], "run_cpu_s"), 3),
    }
    for mode in ("floor", "vcr", "llmops"):
        rs = runs[mode]
        summary[mode] = {
            "in_test_cpu_mean_us": round(_median_of(rs, "cpu_mean_us"), 1),
            "in_test_cpu_mean_range_us": [
                round(min(r["cpu_mean_us"] for r in rs)),
                round(max(r["cpu_mean_us"] for r in rs)),
            ],
            "in_test_cpu_median_us": round(_median_of(rs, "cpu_median_us"), 1),
            "in_test_wall_median_us": round(_median_of(rs, "wall_median_us"), 1),
            "in_test_wall_mean_us": round(_median_of(rs, "wall_mean_us"), 1),
            "run_wall_s": round(_median_of(rs, "run_wall_s"), 3),
            "run_cpu_s": round(_median_of(rs, "run_cpu_s"), 3),
            "whole_run_wall_per_call_us": round((_median_of(rs, "run_wall_s") - empty_wall) / total * 1e6, 1),
            "whole_run_cpu_per_call_us": round((_median_of(rs, "run_cpu_s") - empty_cpu) / total * 1e6, 1),
            "runs": [{k: round(v, 4) for k, v in r.items()} for r in rs],
        }
    return summary


WHOLE_MODES = ("empty", "floor", "vcr", "llmops", "llmops-cold", "llmops-empty")
WHOLE_CACHE = {"llmops-cold": "cold"}  # every other mode runs with pytest's cache as it is (warm)


def whole_runs(project: Path, env: dict[str, str], tests: int, repeat: int) -> dict[str, Any]:
    """`tests` tests making one call each, every mode `repeat` times in rotating order: whole-process CPU
    and peak memory (the rows of issue 17's table: what an llm test costs beyond its call).

    All modes keep pytest's cache provider on, as a developer's run has it; "llmops" finds the parse cache
    warm (filled by the warm-up run), "llmops-cold" empties it first, as a fresh CI checkout.
    """
    for mode in WHOLE_MODES:  # warm-up: pyc and page caches, and the parse cache
        run_pytest(project, mode, env, 0 if mode.endswith("empty") else tests, parse_cache="warm")
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in WHOLE_MODES}
    for rep in range(repeat):
        order = WHOLE_MODES[rep % len(WHOLE_MODES) :] + WHOLE_MODES[: rep % len(WHOLE_MODES)]
        for mode in order:
            expect = 0 if mode.endswith("empty") else tests
            runs[mode].append(
                run_pytest(project, mode, env, expect, parse_cache=WHOLE_CACHE.get(mode, "warm"))
            )
    out: dict[str, Any] = {"tests": tests, "calls": tests}
    for mode, rs in runs.items():
        out[mode] = {
            "run_cpu_s": round(statistics.median(r["cpu_s"] for r in rs), 3),
            "run_cpu_range_s": [round(min(r["cpu_s"] for r in rs), 3), round(max(r["cpu_s"] for r in rs), 3)],
            "run_wall_s": round(statistics.median(r["wall_s"] for r in rs), 3),
            "maxrss_mb": round(statistics.median(r["maxrss_mb"] for r in rs), 1),
        }
    empty = out["empty"]["run_cpu_s"]
    for mode in ("floor", "vcr", "llmops", "llmops-cold"):
        out[mode]["per_call_us"] = round((out[mode]["run_cpu_s"] - empty) / tests * 1e6, 1)
    out["llmops-empty"]["per_test_us"] = round((out["llmops-empty"]["run_cpu_s"] - empty) / tests * 1e6, 1)
    return out


INSTRUCTION_MODES = ("empty", "floor", "llmops", "llmops-empty")
_COLLECTED = re.compile(r"Collected : (\d+)")


def instruction_counts(project: Path, env: dict[str, str], tests: int) -> dict[str, Any]:
    """Instructions each whole run executes, counted by valgrind's callgrind (two runs at a time).

    CPU seconds of a whole run move by a quarter from one run to the next on a shared 2-core VM (the
    same code measured 1.12x and 1.54x the floor in two rounds), which hides any change of a few
    percent. An instruction count is the same within 0.1% from run to run, whatever else the machine
    does; it does not see cache misses or system calls, so it complements the CPU figures, it does not
    replace them. Runs after `whole_runs`, so the parse cache is warm; PYTHONHASHSEED is fixed.
    """
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (Debian: apt-get install valgrind)")
    wrapper = ("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null")
    run_env = {**env, "PYTHONHASHSEED": "0"}

    def count(mode: str) -> int:
        run = run_pytest(
            project,
            mode,
            run_env,
            0 if mode.endswith("empty") else tests,
            parse_cache="warm",
            wrapper=wrapper,
        )
        found = _COLLECTED.findall(run["output"])
        if not found:
            raise SystemExit(f"valgrind printed no instruction count for the {mode} run in {project}")
        return int(found[-1])

    with ThreadPoolExecutor(2) as pool:
        counts = dict(zip(INSTRUCTION_MODES, pool.map(count, INSTRUCTION_MODES), strict=True))
    empty = counts["empty"]
    return {
        "tests": tests,
        "instructions": counts,
        "floor_per_call": round((counts["floor"] - empty) / tests),
        "llmops_per_call": round((counts["llmops"] - empty) / tests),
        "llmops_no_call_per_test": round((counts["llmops-empty"] - empty) / tests),
    }


def instruction_figures(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    figures = []
    for row in rows:
        n = f"{row['tests']:,}"
        figures.append(
            figure(
                f"instructions, replay, whole run, (run - empty run) / calls, {n} tests x 1 call",
                row["llmops_per_call"] / 1e6,
                "M instructions",
                baseline=LABELS["floor"],
                baseline_value=row["floor_per_call"] / 1e6,
                goal=GOAL_WHOLE_VS_FLOOR,
                note="callgrind; repeatable within 0.1%, blind to cache misses and system calls",
            )
        )
        figures.append(
            figure(
                f"instructions, --llm-eval on {n} llm tests making no call, over the empty run, per test",
                row["llmops_no_call_per_test"] / 1e6,
                "M instructions",
                note="callgrind",
            )
        )
    return figures


def whole_figures(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    figures = []
    for row in rows:
        n = f"{row['tests']:,}"
        for base, goal in (("floor", GOAL_WHOLE_VS_FLOOR), ("vcr", GOAL_VS_VCR)):
            figures.append(
                figure(
                    f"replay, whole run, (run - empty run) CPU / calls, {n} tests x 1 call",
                    row["llmops"]["per_call_us"],
                    "us",
                    baseline=LABELS[base],
                    baseline_value=row[base]["per_call_us"],
                    goal=goal,
                )
            )
        figures.append(
            figure(
                f"replay, whole run, (run - empty run) CPU / calls, {n} tests, parse cache cold",
                row["llmops-cold"]["per_call_us"],
                "us",
                baseline=LABELS["floor"],
                baseline_value=row["floor"]["per_call_us"],
                note="a fresh checkout: every cassette read by the YAML reader and checked",
            )
        )
        figures.append(
            figure(
                f"--llm-eval on {n} llm tests making no call, over the empty run, CPU per test",
                row["llmops-empty"]["per_test_us"] / 1000,
                "ms",
                goal=GOAL_NO_CALL_MS,
                note="cassettes opened (parse cache warm), records kept, report printed",
            )
        )
    last = rows[-1]
    for base, goal in (("vcr", "ratio <= 1"), ("floor", None)):
        figures.append(
            figure(
                f"peak memory (child maxrss), {last['tests']:,} replayed tests",
                last["llmops"]["maxrss_mb"],
                "MB",
                baseline=LABELS[base],
                baseline_value=last[base]["maxrss_mb"],
                goal=goal,
            )
        )
    return figures


def scale(project: Path, env: dict[str, str], n: int, repeat: int) -> dict[str, Any]:
    """CPU per call by segment of one long test (floor and pytest-llmops, alternating runs).

    Medians per segment are the figure: a mean would carry the process's first call (lazy SDK
    set-up) into the first segment; means are kept beside them.
    """
    marks = [m for m in SCALE_MARKS if m < n] + [n]
    names = [f"{lo + 1}-{hi}" for lo, hi in zip([0, *marks], marks, strict=False)]
    rows: dict[str, dict[str, list[list[float]]]] = {
        m: {"median": [], "mean": []} for m in ("floor", "llmops")
    }
    for _ in range(repeat):
        for mode in ("floor", "llmops"):
            cpus = run_pytest(project, mode, env, n)["call_cpu_s"]
            bounds = list(zip([0, *marks], marks, strict=False))
            rows[mode]["median"].append([statistics.median(cpus[lo:hi]) * 1e6 for lo, hi in bounds])
            rows[mode]["mean"].append([statistics.fmean(cpus[lo:hi]) * 1e6 for lo, hi in bounds])
    out: dict[str, Any] = {"marks": marks}
    for mode, stats in rows.items():
        out[mode] = {
            f"cpu_{stat}_us": {
                name: round(statistics.median(run[i] for run in runs), 1) for i, name in enumerate(names)
            }
            for stat, runs in stats.items()
        }
    return out


def cassette_load(path: Path, repeat: int) -> dict[str, Any]:
    """load_interactions of the big cassette, cold (no parse cache: the YAML reader, the layout checks)
    and warm (the parse cache holds it: a hash and `marshal.loads`), best of `repeat`, against vcrpy's
    deserializer (one run: it is several times slower); CPU time."""
    from vcr.serialize import deserialize
    from vcr.serializers import yamlserializer

    from pytest_llmops.recording import formats

    text = path.read_text(encoding="utf-8")
    formats.use_parse_cache(None)
    cold = _best(lambda: formats.load_interactions(path), repeat)
    with tempfile.TemporaryDirectory(prefix="bench-parse-cache-") as folder:
        formats.use_parse_cache(Path(folder))
        formats.load_interactions(path)  # fills it
        warm = _best(lambda: formats.load_interactions(path), repeat)
        formats.use_parse_cache(None)
    theirs = _best(lambda: deserialize(text, yamlserializer), 1)
    return {
        "interactions": len(formats.load_interactions(path)),
        "megabytes": round(len(text.encode()) / 1e6, 2),
        "load_interactions_ms": round(cold * 1000, 1),
        "load_interactions_warm_ms": round(warm * 1000, 1),
        "vcrpy_deserialize_ms": round(theirs * 1000, 1),
    }


def _best(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tests", type=int, default=200, help="test functions (default 200)")
    parser.add_argument("--calls", type=int, default=10, help="calls per test (default 10)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="measured runs per mode, median kept (default 3)"
    )
    parser.add_argument("--scale", type=int, default=5000, help="interactions in the one-cassette test")
    parser.add_argument(
        "--whole",
        default=",".join(map(str, WHOLE_SIZES)),
        help="sizes of the whole-run suites, tests x 1 call each (default 500,2000; empty to skip)",
    )
    parser.add_argument(
        "--instructions",
        default="",
        metavar="SIZES",
        help="also count the instructions of the whole runs of these sizes (each one of --whole) under "
        "valgrind's callgrind: repeatable where CPU seconds are not (~3 min a run at 500 tests)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller: 100 x 10 calls, whole runs of 100 and 400, 1 run, scale 2000",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="build the projects here and keep them; reuses their recordings",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    return parser


def measure(args: argparse.Namespace) -> dict[str, Any]:
    whole = [int(x) for x in str(args.whole).split(",") if x.strip()]
    counted = [int(x) for x in str(args.instructions).split(",") if x.strip()]
    if set(counted) - set(whole):
        raise SystemExit(
            f"--instructions {args.instructions}: each size must be one of --whole ({args.whole})"
        )
    if args.quick:
        args.tests, args.repeat, args.scale = min(args.tests, 100), 1, min(args.scale, 2000)
        whole = [min(n, q) for n, q in zip(whole, (100, 400), strict=False)]
    tmp = None
    if args.keep is None:
        tmp = tempfile.mkdtemp(prefix="bench-replay-")
        work = Path(tmp)
    else:
        work = args.keep
        work.mkdir(parents=True, exist_ok=True)
    try:
        return _measure(work, args.tests, args.calls, args.repeat, args.scale, whole, counted)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def record(
    suite: Path, big: Path, tests: int, calls: int, n_scale: int, whole: dict[int, Path]
) -> tuple[str, float]:
    """Record the projects against the simulator (two at once: each spends half its time waiting).

    Returns the simulator's URL, which the replays keep (vcrpy matches host and port), and the seconds.
    """
    from pytest_llmops.simulator import ProviderSimulator

    started = time.perf_counter()
    with ProviderSimulator(idle_timeout_s=600) as sim, ThreadPoolExecutor(2) as pool:
        env = base_env(sim.url)
        if os.access("/dev/shm", os.W_OK):
            # The plugin's spend ledger (a temp file) is fsynced after every live call; on tmpfs
            # that costs nothing, on a disk ~3 ms a call. Only the recording runs have a ledger.
            env["TMPDIR"] = "/dev/shm"
        jobs = [
            pool.submit(run_pytest, suite, "record", {**env, "BENCH_CALLS": str(calls)}, tests * calls),
            pool.submit(run_pytest, big, "record", {**env, "BENCH_SCALE": str(n_scale)}, n_scale),
            *(pool.submit(run_pytest, p, "record", {**env, "BENCH_CALLS": "1"}, n) for n, p in whole.items()),
        ]
        for job in jobs:
            job.result()
        url = sim.url
    return url, time.perf_counter() - started


def _recorded(project: Path) -> int:
    return sum(1 for _ in (project / "tests" / "cassettes").rglob("*.yaml"))


def _measure(
    work: Path,
    tests: int,
    calls: int,
    repeat: int,
    n_scale: int,
    whole_sizes: list[int],
    counted: list[int] | None = None,
) -> dict[str, Any]:
    suite, big, stamp = work / "suite", work / "scale", work / "recorded.json"
    whole = {n: work / f"whole-{n}" for n in whole_sizes}
    shape = {"tests": tests, "calls": calls, "scale": n_scale, "whole": whole_sizes}
    previous = json.loads(stamp.read_text()) if stamp.is_file() else {}
    make_project(suite, tests)
    make_project(big, 0)
    for n, project in whole.items():
        make_project(project, n)
    recorded = _recorded(suite) == tests and _recorded(big) == 1
    recorded = recorded and all(_recorded(p) == n for n, p in whole.items())
    if previous.get("shape") == shape and recorded:
        sim_url, record_s = previous["sim_url"], 0.0  # --keep DIR from an earlier run: reuse the recordings
    else:
        for project in (suite, big, *whole.values()):
            shutil.rmtree(project / "tests" / "cassettes", ignore_errors=True)
        sim_url, record_s = record(suite, big, tests, calls, n_scale, whole)
        stamp.write_text(json.dumps({"shape": shape, "sim_url": sim_url}))
    env = {**base_env(sim_url), "BENCH_CALLS": str(calls), "BENCH_SCALE": str(n_scale)}
    floor_count = write_floor(suite, work / "floor-suite.pickle")
    write_floor(big, work / "floor-scale.pickle")
    if floor_count != tests * calls:
        raise SystemExit(f"recorded {floor_count} interactions in {suite}, expected {tests * calls}")
    whole_rows = []
    instruction_rows: list[dict[str, Any]] = []
    for n, project in whole.items():
        write_floor(project, work / f"floor-whole-{n}.pickle")
        whole_env = {**env, "BENCH_CALLS": "1", "BENCH_FLOOR": str(work / f"floor-whole-{n}.pickle")}
        whole_rows.append(whole_runs(project, whole_env, n, repeat))
        if n in (counted or ()):
            instruction_rows.append(instruction_counts(project, whole_env, n))

    main = compare(suite, {**env, "BENCH_FLOOR": str(work / "floor-suite.pickle")}, tests, calls, repeat)
    big_env = {**env, "BENCH_FLOOR": str(work / "floor-scale.pickle")}
    growth = scale(big, big_env, n_scale, max(1, repeat - 1))
    load = cassette_load(big / "tests" / "cassettes" / "test_scale" / "test_scale.yaml", 3)

    total = tests * calls
    ours = main["llmops"]
    segments = list(growth["llmops"]["cpu_median_us"].items())
    first = segments[0]

    def vs(name: str, key: str, mode: str, goal: str) -> dict[str, Any]:
        return figure(name, ours[key], "us", baseline=LABELS[mode], baseline_value=main[mode][key], goal=goal)

    figures = [
        vs(f"replay per call, CPU in test ({total:,} calls)", "in_test_cpu_mean_us", "floor", GOAL_VS_FLOOR),
        vs(f"replay per call, CPU in test ({total:,} calls)", "in_test_cpu_mean_us", "vcr", GOAL_VS_VCR),
        vs("replay per call, wall median in test", "in_test_wall_median_us", "floor", GOAL_VS_FLOOR),
        vs("replay per call, wall median in test", "in_test_wall_median_us", "vcr", GOAL_VS_VCR),
        vs(
            "replay per call, (run - empty run) CPU / calls",
            "whole_run_cpu_per_call_us",
            "floor",
            GOAL_VS_FLOOR,
        ),
        vs("replay per call, (run - empty run) CPU / calls", "whole_run_cpu_per_call_us", "vcr", GOAL_VS_VCR),
        figure(
            f"pytest-llmops run of the {tests} tests making no calls, CPU",
            main["llmops_empty_run_cpu_s"],
            "s",
            baseline=LABELS["empty"] + ", plugins off",
            baseline_value=main["empty_run_cpu_s"],
            note="cassettes loaded, records kept, report printed: the plugin's work outside the calls",
        ),
        *(
            figure(
                f"one cassette, median CPU per call over replays {name}",
                value,
                "us",
                baseline=f"replays {first[0]}",
                baseline_value=first[1],
                goal="ratio <= 1.25",
            )
            for name, value in segments[1:]
        ),
        figure(
            f"load a {load['interactions']:,}-interaction cassette ({load['megabytes']} MB), CPU, parse cache warm",
            load["load_interactions_warm_ms"],
            "ms",
            baseline="vcrpy deserialize",
            baseline_value=load["vcrpy_deserialize_ms"],
            goal=GOAL_LOAD_MS,
        ),
        figure(
            f"load a {load['interactions']:,}-interaction cassette ({load['megabytes']} MB), CPU, cold",
            load["load_interactions_ms"],
            "ms",
            baseline="vcrpy deserialize",
            baseline_value=load["vcrpy_deserialize_ms"],
            goal=GOAL_LOAD_MS,
        ),
        *(whole_figures(whole_rows) if whole_rows else []),
        *instruction_figures(instruction_rows),
    ]
    return {
        "benchmark": "replay",
        "layout": f"{tests} tests x {calls} calls (openai sync client, chat.completions.create)",
        "repeat": repeat,
        "record_s": round(record_s, 1),
        "vcr_match_on": VCR_MATCH_ON,
        "figures": figures,
        "suite": main,
        "scale": growth,
        "cassette_load": load,
        "whole": whole_rows,
        "instructions": instruction_rows,
    }


def report(results: dict[str, Any]) -> None:
    suite = results["suite"]
    print(
        f"replay: {results['layout']}; median of {results['repeat']} runs per mode "
        f"(recording took {results['record_s']} s)"
    )
    print(
        f"  {'us per call':22s} {'CPU mean (range)':>20s} {'CPU median':>11s} {'wall median':>12s} "
        f"{'run-empty CPU':>14s} {'run-empty wall':>15s}"
    )
    for mode in ("floor", "vcr", "llmops"):
        m = suite[mode]
        low, high = m["in_test_cpu_mean_range_us"]
        print(
            f"  {LABELS[mode]:22s} {m['in_test_cpu_mean_us']:7.0f} ({low:5d}-{high:5d}) "
            f"{m['in_test_cpu_median_us']:11.0f} {m['in_test_wall_median_us']:12.0f} "
            f"{m['whole_run_cpu_per_call_us']:14.0f} {m['whole_run_wall_per_call_us']:15.0f}"
        )
    print(
        f"  whole runs (s, wall/CPU): empty {suite['empty_run_wall_s']}/{suite['empty_run_cpu_s']}, "
        f"{LABELS['llmops-empty']} {suite['llmops_empty_run_wall_s']}/{suite['llmops_empty_run_cpu_s']}, "
        + ", ".join(
            f"{LABELS[m]} {suite[m]['run_wall_s']}/{suite[m]['run_cpu_s']}"
            for m in ("floor", "vcr", "llmops")
        )
    )
    growth = results["scale"]
    for mode in ("floor", "llmops"):
        for stat in ("median", "mean"):
            cells = ", ".join(f"{k}: {v:.0f}" for k, v in growth[mode][f"cpu_{stat}_us"].items())
            print(f"  one cassette, {stat} CPU us per call by replays, {LABELS[mode]}: {cells}")
    load = results["cassette_load"]
    print(
        f"  cassette load ({load['interactions']:,} interactions, {load['megabytes']} MB, CPU): "
        f"cold {load['load_interactions_ms']} ms, parse cache warm {load['load_interactions_warm_ms']} ms; "
        f"vcrpy deserialize {load['vcrpy_deserialize_ms']} ms"
    )
    for row in results.get("whole", []):
        print(
            f"  whole runs, {row['tests']:,} tests x 1 call (median CPU s [range], peak MB, per call or test):"
        )
        for mode in WHOLE_MODES:
            m = row[mode]
            low, high = m["run_cpu_range_s"]
            per = m.get("per_call_us", m.get("per_test_us"))
            print(
                f"    {LABELS[mode]:34s} {m['run_cpu_s']:8.3f} [{low:.3f}-{high:.3f}] {m['maxrss_mb']:7.1f} MB"
                + ("" if per is None else f" {per:9.0f} us")
            )
    print_figures(results)


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(argv, build_parser, measure, report)


if __name__ == "__main__":
    raise SystemExit(main())
