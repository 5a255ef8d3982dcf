"""End of session on the controller: measure, compare with the baseline, write files, decide the exit status.

`finish` does all of it and never raises: what went wrong comes back in the
`Outcome` (an unusable baseline, a file the secret scan refused) with the
exit status to set. `print_summary` prints the "LLM evaluation" section and
never raises either. Imported lazily from the session's hooks, only in
`--llm-eval` runs.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import gc
import shlex
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

from pytest_llmops.recording.secrets import SecretLeakError, redact
from pytest_llmops.results import baseline as baseline_file
from pytest_llmops.results.records import TestRecord
from pytest_llmops.wording import plural

if TYPE_CHECKING:
    from pytest_llmops.recording.secrets import Scrubber
    from pytest_llmops.results.report.model import Table
    from pytest_llmops.spend.pricing import PriceTable

__all__ = ["Outcome", "collector_paused", "finish", "is_full_run", "print_summary"]

DEFAULT_BASELINE = ".llm-baseline.json"


class Settings(Protocol):
    """What the end of the session reads from the run's settings (`pytest_llmops.settings.Settings` has
    it); a protocol, so that this layer does not import the pytest wiring above it."""

    @property
    def scrubber(self) -> Scrubber: ...
    @property
    def report_json(self) -> Path | None: ...
    @property
    def report_md(self) -> Path | None: ...
    @property
    def report_html(self) -> Path | None: ...
    @property
    def baseline(self) -> Path: ...
    @property
    def update_baseline(self) -> bool: ...
    @property
    def baseline_include_errors(self) -> bool: ...
    @property
    def fail_on(self) -> str | None: ...
    @property
    def fail_on_new(self) -> bool: ...
    @property
    def alpha(self) -> float: ...
    @property
    def rootdir(self) -> Path: ...
    @property
    def invocation_paths(self) -> tuple[str, ...]: ...
    @property
    def max_recording_age_days(self) -> int | None: ...


@dataclass(slots=True)
class Outcome:
    """What `finish` produced: the report, the files written, the problems, and the exit status to set
    (None: leave pytest's status alone)."""

    report: Any = (
        None  # pytest_llmops.results.report.model.Report, typed loosely to keep this module's imports light
    )
    exit_status: pytest.ExitCode | None = None
    written: list[tuple[str, Path]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _display(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _update_command(settings: Settings) -> str:
    command = baseline_file.UPDATE_COMMAND
    if settings.invocation_paths:
        # Re-run what was run: from the repo root, `pytest example_project` is not plain `pytest`.
        command = command.replace(
            "pytest ", "pytest " + " ".join(map(shlex.quote, settings.invocation_paths)) + " ", 1
        )
    if settings.baseline.resolve() != (settings.rootdir / DEFAULT_BASELINE).resolve():
        command += f" --llm-baseline {shlex.quote(_display(settings.baseline, settings.rootdir))}"
    return command


def finish(
    records: Iterable[TestRecord],
    settings: Settings,
    *,
    full_run: bool,
    meta: Mapping[str, Any] | None = None,
    duration_s: float | None = None,
    comparisons: Sequence[Table] = (),
    prices: PriceTable | None = None,
    as_of: _dt.datetime | None = None,
) -> Outcome:
    """Build the report, compare with and maybe update the baseline, write the report files.

    `full_run`: every collected test was selected (see `is_full_run`); only then are baseline entries of
    tests that did not run reported as unused, and dropped by --llm-update-baseline. `meta` is recorded
    in the report as given (JSON-able values); `duration_s` goes under `timings`. `comparisons` (A/B
    tables from the variants) are printed in every format. `prices` is the user's price file, for the
    replayed calls' cost today; `as_of` the time recordings are aged and priced at (default: now).
    """
    try:
        with collector_paused():
            return _finish(
                list(records),
                settings,
                full_run=full_run,
                meta=meta or {},
                duration_s=duration_s,
                comparisons=comparisons,
                prices=prices,
                as_of=as_of or _dt.datetime.now(_dt.UTC),
            )
    except Exception as exc:  # a bug here must not hide the test results behind a traceback
        return Outcome(
            exit_status=pytest.ExitCode.INTERNAL_ERROR,
            errors=[f"pytest-llmops could not build the LLM report: {type(exc).__name__}: {exc}"],
        )


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while the report is built.

    Building it allocates about ten objects per test and metric, none in a reference cycle; with the
    collector on, its full passes over the session's heap (every record, call and score) cost more than
    the report itself at 10,000 tests.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _finish(
    records: list[TestRecord],
    settings: Settings,
    *,
    full_run: bool,
    meta: Mapping[str, Any],
    duration_s: float | None,
    comparisons: Sequence[Table],
    prices: PriceTable | None,
    as_of: _dt.datetime,
) -> Outcome:
    from pytest_llmops.recording.files import write_atomic
    from pytest_llmops.results.gates import parse_gates
    from pytest_llmops.results.report.build import build
    from pytest_llmops.results.report.model import BaselineInfo, ReportOptions

    outcome = Outcome()
    ordered = sorted(records, key=lambda r: r.nodeid)
    measured = {r.nodeid: baseline_file.measure(r) for r in ordered}
    gates = parse_gates(settings.fail_on)

    info = BaselineInfo(path=_display(settings.baseline, settings.rootdir), state="missing")
    previous: baseline_file.Baseline | None = None
    try:
        previous = baseline_file.load(settings.baseline)
    except baseline_file.BaselineError as exc:
        info.state, info.error = "error", str(exc)
    diff = None
    if previous is not None:
        info.state, info.tests, info.meta = "loaded", len(previous.tests), dict(previous.meta)
        diff = baseline_file.compare(
            ordered, measured, previous, gates, alpha=settings.alpha, full_run=full_run
        )

    run_meta = baseline_file.run_meta(ordered, baseline_file.git_commit(settings.rootdir))
    refused = None if settings.baseline_include_errors else refusal(ordered)
    if settings.update_baseline and refused:
        info.update_error = refused
    elif settings.update_baseline and any(measured.values()):  # a run with no llm test never empties it
        accepted = baseline_file.build(ordered, measured, previous=previous, full_run=full_run, meta=run_meta)
        try:
            baseline_file.write(settings.baseline, accepted, settings.scrubber)
        except (SecretLeakError, OSError) as exc:
            info.update_error = str(exc)
        else:
            info.updated, info.written_tests = True, len(accepted.tests)

    options = ReportOptions(
        alpha=settings.alpha,
        gates=gates.text,
        fail_on_new=settings.fail_on_new,
        update_baseline=settings.update_baseline,
        full_run=full_run,
        update_command=_update_command(settings),
        live_sample=getattr(settings, "live_sample", None),
        fail_on_drift=getattr(settings, "fail_on_drift", None),
    )
    timings = {
        "duration_s": duration_s,
        "generated_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    report = build(
        ordered,
        measured,
        baseline=info,
        diff=diff,
        options=options,
        meta={**run_meta, **meta},
        timings=timings,
        as_of=as_of,
        max_recording_age_days=settings.max_recording_age_days,
        prices=prices,
    )
    report.comparisons.extend(comparisons)
    report.records = ordered
    report.settings = {
        "fail_on": settings.fail_on,
        "fail_on_new": settings.fail_on_new,
        "alpha": settings.alpha,
        "primary_metric": getattr(settings, "primary_metric", "pass_rate"),
        "guard_metrics": list(getattr(settings, "guard_metrics", ())),
        "full_run": full_run,
        "max_recording_age_days": settings.max_recording_age_days,
        "live_sample": getattr(settings, "live_sample", None),
        "fail_on_drift": getattr(settings, "fail_on_drift", None),
    }
    outcome.report = report

    renderers: tuple[tuple[str, Path | None], ...] = (
        ("JSON", settings.report_json),
        ("Markdown", settings.report_md),
        ("HTML", settings.report_html),
    )
    for kind, path in renderers:
        if path is None:
            continue
        try:
            text = settings.scrubber.redact(_renderer(kind)(report))
            settings.scrubber.assert_text_clean(text, str(path))
            write_atomic(path, text)
        except (SecretLeakError, OSError) as exc:
            outcome.errors.append(f"LLM {kind} report not written: {exc}")
        else:
            outcome.written.append((kind, path))

    if report.verdict.usage_error:
        outcome.exit_status = pytest.ExitCode.USAGE_ERROR
    elif report.verdict.failed or outcome.errors:
        outcome.exit_status = pytest.ExitCode.TESTS_FAILED
    return outcome


def _renderer(kind: str) -> Callable[[Any], str]:
    """The printer of one report file, imported only when that file is asked for (the HTML one is our
    largest module)."""
    if kind == "JSON":
        from pytest_llmops.results.report import json_report

        return json_report.render
    if kind == "Markdown":
        from pytest_llmops.results.report import markdown

        return markdown.render
    from pytest_llmops.results.report import html

    return html.render


INCLUDE_ERRORS_FLAG = "--llm-baseline-include-errors"


def refusal(records: Sequence[TestRecord], shown: int = 5) -> str | None:
    """Why this run must not become the baseline, naming the tests (None: it may)."""
    bad = [(r.nodeid, why) for r in records if (why := r.failed_outside_checks)]
    if not bad:
        return None
    listed = ", ".join(f"{nodeid} ({why})" for nodeid, why in bad[:shown])
    if len(bad) > shown:
        listed += f" and {len(bad) - shown} more"
    return (
        f"{plural(len(bad), 'test')} failed for a reason other than its checks, so this run does not "
        f"measure {'its' if len(bad) == 1 else 'their'} answers: {listed}. Fix "
        f"{'it' if len(bad) == 1 else 'them'} and run again, or write the baseline anyway with "
        f"{INCLUDE_ERRORS_FLAG}"
    )


def print_summary(
    terminalreporter: Any, outcome: Outcome | None, verbose: bool | None = None, *, full: bool = False
) -> None:
    """The "LLM evaluation" section: the one-screen summary, or every table with `full` or -v (which also
    lifts the row limits). Never raises: a failure to print is itself printed, in one line."""
    try:
        if outcome is None:
            return
        if verbose is None:
            verbose = getattr(terminalreporter, "verbosity", 0) > 0
        from pytest_llmops.results.report import terminal, terminal_summary

        printer = terminal.lines if full or verbose else terminal_summary.lines

        terminalreporter.write_sep("=", "LLM evaluation")
        extra: list[tuple[str, dict[str, bool]]] = [
            (f"LLM {kind} report: {path}", {}) for kind, path in outcome.written
        ]
        extra += [(error, {"red": True, "bold": True}) for error in outcome.errors]
        if outcome.report is None:
            for text, markup in extra:
                terminalreporter.write_line(redact(text), **markup)
            return
        for text, markup in printer(outcome.report, bool(verbose), extra=extra):
            terminalreporter.write_line(redact(text), **markup)
    except Exception as exc:
        with contextlib.suppress(Exception):
            terminalreporter.write_line(f"pytest-llmops: could not print the LLM report: {exc!r}", red=True)


def is_full_run(session: pytest.Session) -> bool:
    """Did this run select every test? False with -k, -m, --deselect, --lf, --sw, a stop on failure (-x,
    --maxfail), an interrupt, node ids, or paths narrower than the rootdir and `testpaths`."""
    config = session.config
    option = config.option
    for name in ("keyword", "markexpr", "deselect", "lf", "stepwise"):
        if getattr(option, name, None):
            return False
    if session.shouldfail or session.shouldstop or session.exitstatus == pytest.ExitCode.INTERRUPTED:
        return False
    if config.args_source == pytest.Config.ArgsSource.TESTPATHS:
        return True
    root = Path(config.rootpath).resolve()
    base = Path(config.inipath).parent if config.inipath else root
    testpaths = {(base / p).resolve() for p in config.getini("testpaths")}
    invocation = Path(config.invocation_params.dir)
    for arg in config.args:
        if "::" in arg:
            return False
        path = (invocation / arg).resolve()
        if path.is_file():
            return False
        if path not in testpaths and not root.is_relative_to(path):
            return False
    return True
