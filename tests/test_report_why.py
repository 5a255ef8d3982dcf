"""The report shows why a score moved: the answers kept per test and in the baseline, the regression view
(terminal, Markdown, HTML word diffs), the per-test HTML view and its filters in a real headless Chromium,
and the one-screen terminal summary."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path
from typing import Any

import pytest

from pytest_llmops import checks, context
from pytest_llmops.markers import LLMMarker
from pytest_llmops.results import baseline as bl
from pytest_llmops.results.gates import parse_gates
from pytest_llmops.results.records import OUTPUT_LIMIT, AnswerRecord, RunRecord, TestRecord
from pytest_llmops.results.report import html, html_tests, markdown, markdown_why, terminal, terminal_summary
from pytest_llmops.results.report.build import build
from pytest_llmops.results.report.model import BaselineInfo, Report, ReportOptions, Table
from pytest_llmops.results.report.worddiff import word_diff
from pytest_llmops.results.scores import Score
from pytest_llmops.spend.calls import LLMCall

BEFORE = "Refunds go back to the original card within 5 business days. [Source: refunds]"
AFTER = "Refunds go back to the original card within 10 business days."


def ctx_for(nodeid: str = "t.py::test_a") -> context.TestContext:
    record = TestRecord(nodeid=nodeid, base_nodeid=nodeid)

    def make_call(*_: Any) -> LLMCall:
        raise AssertionError("no calls here")

    return context.TestContext(nodeid, LLMMarker(), record, make_call)


@pytest.fixture
def ctx() -> Any:
    test = ctx_for()
    context.set_current(test)
    yield test
    context.set_current(None)


# -- what is kept ------------------------------------------------------------------------------------


def test_checks_keep_the_answer_they_scored_with_its_inputs_and_expected_output(
    ctx: context.TestContext,
) -> None:
    question = "How long does a refund take?"
    checks.safety(question, kinds=["prompt_injection"], fail=False, name="input_safety")  # a scan of an input
    checks.relevance(question, AFTER)
    checks.correctness(AFTER, BEFORE)
    checks.grounding(AFTER, {"refunds": "Refunds take 10 business days."})
    checks.safety(AFTER)
    answer = ctx.record.answer
    assert answer is not None
    assert answer.output == AFTER  # an answer check wins over the scan that came first
    assert answer.inputs == {"question": question, "context": "[refunds] Refunds take 10 business days."}
    assert answer.expected == BEFORE
    assert answer.chars == len(AFTER) and not answer.truncated

    checks.record_output("What the app showed", inputs={"question": "ignored: the first value stays"})
    assert ctx.record.answer is not None and ctx.record.answer.output == "What the app showed"
    assert ctx.record.answer.inputs["question"] == question and ctx.record.answer.expected == BEFORE

    ctx.begin_run(1)  # a repeat does not overwrite the first run's answer
    checks.record_output("second run")
    assert ctx.record.answer.output == "What the app showed"


def test_long_answers_are_cut_but_hashed_whole_and_ride_the_record(ctx: context.TestContext) -> None:
    text = "word " * 1000
    checks.record_output(text, inputs={"context": ["chunk one", "chunk two"]})
    answer = ctx.record.answer
    assert answer is not None and len(answer.output) == OUTPUT_LIMIT and answer.chars == len(text)
    assert answer.truncated and answer.inputs == {"context": "chunk one\n\nchunk two"}
    again = TestRecord.from_dict(json.loads(json.dumps(ctx.record.to_dict())))
    assert again.answer == answer
    with pytest.raises(TypeError, match="output must be a string"):
        checks.record_output(42)  # type: ignore[arg-type]


def test_outside_an_llm_test_nothing_is_kept() -> None:
    checks.record_output("no test is running")  # no error, nothing to keep it in


# -- the baseline ------------------------------------------------------------------------------------


def rec(nodeid: str, value: float, answer: str | None, outcome: str = "passed", **kw: Any) -> TestRecord:
    record = TestRecord(nodeid=nodeid, base_nodeid=nodeid, outcome=outcome, runs=[RunRecord(0, outcome)])
    record.scores = [
        Score("relevance", value, threshold=3.0, passed=value >= 3, scorer="lexical",
              details={"reason": "the answer takes up the question's terms"}),
        Score("correctness", value / 5, scorer="judge:openai:gpt-4o-mini",
              details={"judge": "openai:gpt-4o-mini", "reason": "It gives 10 days where the reference says 5."}),
    ]  # fmt: skip
    record.calls = [
        LLMCall("openai", "/v1/chat/completions", model="gpt-4o-mini", input_tokens=120, output_tokens=30,
                cost_usd=0.0001, latency_ms=350.0, prompt="qa@1.0.0", cassette="cassettes/t.yaml", index=0,
                extra={"run": 0})
    ]  # fmt: skip
    record.prompts = {"qa@1.0.0": "a" * 64}
    if answer is not None:
        record.answer = AnswerRecord(answer, bl_sha(answer), len(answer), {"question": "How long?"}, BEFORE)
    for key, value in kw.items():
        setattr(record, key, value)
    return record


def bl_sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


def test_the_baseline_keeps_each_answer_compactly_and_old_files_still_load(tmp_path: Path) -> None:
    records = [rec("t.py::test_a", 5.0, BEFORE), rec("t.py::test_b", 5.0, None)]
    accepted = bl.build(
        records, {r.nodeid: bl.measure(r) for r in records}, previous=None, full_run=True, meta={}
    )
    data = json.loads(accepted.to_json())
    assert data["format"] == 1
    assert data["tests"]["t.py::test_a"]["answer"] == {
        "output": BEFORE,
        "sha256": bl_sha(BEFORE),
        "chars": len(BEFORE),
        "call": "cassettes/t.yaml#0",
    }
    assert "answer" not in data["tests"]["t.py::test_b"]  # nothing scored a text: nothing kept
    path = tmp_path / "b.json"
    path.write_text(accepted.to_json())
    loaded = bl.load(path)
    assert loaded is not None and loaded.tests["t.py::test_a"].answer == bl.BaselineAnswer(
        BEFORE, bl_sha(BEFORE), len(BEFORE), "cassettes/t.yaml#0"
    )

    del data["tests"]["t.py::test_a"]["answer"]  # a baseline written before answers were kept
    path.write_text(json.dumps(data))
    old = bl.load(path)
    assert old is not None and old.tests["t.py::test_a"].answer is None

    data["tests"]["t.py::test_a"]["answer"] = {"output": "x", "sha256": "y", "chars": "many"}
    path.write_text(json.dumps(data))
    with pytest.raises(bl.BaselineError, match=r"tests\['t.py::test_a'\].answer.chars is 'many'"):
        bl.load(path)


# -- the regression view -----------------------------------------------------------------------------


def regressed_report(extra_tests: int = 0) -> Report:
    base = [
        rec("t.py::test_a", 5.0, BEFORE),
        rec("t.py::test_same", 5.0, "Same words."),
        rec("t.py::test_ok", 5.0, "Fine."),
    ]
    now = [
        rec("t.py::test_a", 2.0, AFTER, outcome="failed", message="relevance 2 < threshold 3"),
        rec("t.py::test_same", 2.0, "Same words."),
        rec("t.py::test_ok", 5.0, "Fine."),
    ]  # fmt: skip
    now += [rec(f"t.py::test_new[{i}]", 4.0, f"answer {i}") for i in range(extra_tests)]
    old = bl.build(base, {r.nodeid: bl.measure(r) for r in base}, previous=None, full_run=True, meta={})
    measured = {r.nodeid: bl.measure(r) for r in now}
    diff = bl.compare(now, measured, old, parse_gates(""), alpha=0.05, full_run=True)
    info = BaselineInfo(".llm-baseline.json", "loaded", tests=len(old.tests))
    report = build(now, measured, baseline=info, diff=diff, options=ReportOptions())
    report.comparisons.append(
        Table("A/B t.py::test_ab: b vs a — SHIP", ["metric"], [["relevance"]],
              notes=["SHIP: b raises relevance 3 -> 4 (p=0.01)", "Paired by case: 9 case(s)."],
              data={"kind": "ab_comparison"})
    )  # fmt: skip
    return report


def test_word_diff_rebuilds_both_answers() -> None:
    pieces = word_diff(BEFORE, AFTER)
    assert "".join(p.old for p in pieces if p.op != "+") == BEFORE
    assert "".join(p.text for p in pieces if p.op != "-") == AFTER
    assert [(p.op, p.text.strip()) for p in pieces if p.op != "="] == [
        ("-", "5"),
        ("+", "10"),
        ("-", "[Source: refunds]"),
    ]
    assert word_diff("a  b", "a b") == [word_diff("a  b", "a b")[0]] and word_diff("a  b", "a b")[0].op == "="


def test_each_regressed_test_carries_both_answers_and_every_score_with_its_reason() -> None:
    report = regressed_report()
    views = {v.nodeid: v for v in report.regressed_tests}
    assert set(views) == {"t.py::test_a", "t.py::test_same"}
    view = views["t.py::test_a"]
    assert view.before is not None and view.before.output == BEFORE
    assert view.now is not None and view.now.output == AFTER and view.answer_changed is True
    assert [c.metric for c in view.regressed] == ["correctness", "relevance", "pass_rate"]
    by_name = {s.name: s for s in view.scores}
    assert by_name["correctness"].judged and "10 days" in (by_name["correctness"].reason or "")
    assert (by_name["relevance"].baseline, by_name["relevance"].value, by_name["relevance"].status) == (
        5.0,
        2.0,
        "regressed",
    )
    assert views["t.py::test_same"].answer_changed is False
    row = json.loads(json.dumps(report.to_dict()))
    assert row["regressed_tests"][0]["before"]["output"] == BEFORE
    assert row["tests"][0]["answer"]["output"] == AFTER and row["tests"][0]["baseline_answer"][
        "chars"
    ] == len(BEFORE)


def test_the_terminal_summary_fits_one_screen_and_shows_the_answers() -> None:
    report = regressed_report(extra_tests=200)
    text = [line for line, _ in terminal_summary.lines(report)]
    assert len(text) <= 40, "\n".join(text)
    joined = "\n".join(text)
    assert "Regressions: 5 metrics in 2 tests" in joined
    assert "  t.py::test_a: correctness 1 -> 0.4, relevance 5 -> 2, pass_rate 100% -> 0%" in text
    assert "    before: …back to the original card within 5 business days. [Source: refunds]" in text
    assert "    now:    …back to the original card within 10 business days." in text
    assert "    judge on correctness: It gives 10 days where the reference says 5." in text
    assert "    same answer as the baseline: Same words." in text
    assert "A/B t.py::test_ab: b vs a — SHIP" in text and "  SHIP: b raises relevance 3 -> 4 (p=0.01)" in text
    assert "Also: 200 new tests (-v or --llm-report-terminal=full lists them)" in text
    assert "Quality" not in text and "By model" not in text  # the tables are in the full view
    assert text[-1].startswith("Next: Investigate the regressions above.")
    full = [line for line, _ in terminal.lines(report)]
    assert "Quality" in full and len(full) > len(text)


def test_answer_lines_cut_long_and_many_lines() -> None:
    assert terminal_summary.answer_lines("one\n\ntwo\nthree") == ["one", "two …"]
    assert terminal_summary.answer_lines("x" * 500, width=20) == ["x" * 19 + "…"]
    assert terminal_summary.answer_lines(None) == ["(not kept)"] and terminal_summary.answer_lines(" ") == [
        "(empty)"
    ]


def test_markdown_shows_a_word_diff_side_by_side_with_scores() -> None:
    md = markdown.render(regressed_report())
    assert "#### The answers behind the regressions" in md
    assert "<details><summary><code>t.py::test_a</code>: correctness 1 → 0.4" in md
    assert "| baseline answer | this run |" in md
    assert "within ~~5~~ business days. ~~\\[Source: refunds\\]~~ |" in md
    assert "| Refunds go back to the original card within **10** business days. |" in md
    assert "| correctness | 1 | 0.4 | regressed | `judge:openai:gpt-4o-mini` (judge) | It gives 10 days" in md
    assert "_(same answer as the baseline)_" in md
    assert markdown_why.marked("  a|b ", "**") == "  **a\\|b** "


def test_html_regression_view_and_per_test_view_are_escaped_and_self_contained() -> None:
    report = regressed_report()
    report.tests[0].answer = AnswerRecord("<b>bold</b> & co", "x", 16)
    page = html.render(report)
    assert "<del>5 </del>" in page and "<ins>10 </ins>" in page
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in page and "<b>bold" not in page
    assert 'class="why regression" data-nodeid="t.py::test_a"' in page
    assert page.count('<details id="test-') == len(report.tests)
    assert 'data-prompt="qa@1.0.0"' in page and 'data-model="gpt-4o-mini"' in page
    assert "It gives 10 days where the reference says 5." in page and "cassettes/t.yaml#0" in page
    assert page.count("<script") == 1 and "src=" not in page


# -- in a real browser -------------------------------------------------------------------------------

CHROMIUM = next(
    (shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome") if shutil.which(name)),
    None,
)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt-get install chromium)")


def chromium(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    profile = tempfile.mkdtemp(prefix="chromium-")
    try:
        return subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--enable-logging=stderr",
             "--v=0", f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]


def png_pixels(path: Path) -> tuple[int, int, bytes]:
    """Width, height and the decompressed scanlines of a PNG (enough to tell a blank page from a report)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind = data[at + 4 : at + 8]
        if kind == b"IDAT":
            chunks.append(data[at + 8 : at + 8 + length])
        at += 12 + length
    return width, height, zlib.decompress(b"".join(chunks))


@needs_chromium
def test_the_filters_work_in_headless_chromium(tmp_path: Path) -> None:
    report = regressed_report(extra_tests=3)
    page = tmp_path / "report.html"
    page.write_text(html.render(report))
    url = page.as_uri()

    everything = chromium("--dump-dom", url)
    assert everything.returncode == 0, everything.stderr[-2000:]
    assert 'data-ready="yes"' in everything.stdout and console_errors(everything.stderr) == []
    assert f'id="test-count">{len(report.tests)} of {len(report.tests)} tests' in everything.stdout

    assert (
        "<del>5 </del>" in everything.stdout and "<ins>10 </ins>" in everything.stdout
    )  # the regression diff

    # Filters from the address; a value no test has (this model) is ignored rather than hiding everything.
    failed = chromium("--dump-dom", url + "#outcome=failed&prompt=qa%401.0.0&model=no-such-model")
    assert 'id="test-count">1 of 6 tests' in failed.stdout, failed.stderr[-2000:]
    assert console_errors(failed.stderr) == []
    shown = [line for line in failed.stdout.split("<details ") if 'class="test"' in line]
    visible = [
        d
        for d in shown
        if not d.split(">", 1)[0].rstrip().endswith('hidden=""') and " hidden" not in d.split(">", 1)[0]
    ]
    assert len(shown) == 6 and len(visible) == 1 and 'data-nodeid="t.py::test_a"' in visible[0]

    anchor = html_tests.anchor_of("t.py::test_a")
    opened = chromium("--dump-dom", f"{url}#{anchor}")  # a link to one test opens it
    assert (
        f'<details id="{anchor}"' in opened.stdout
        and "open=" in opened.stdout.split(f'id="{anchor}"', 1)[1].split(">", 1)[0]
    )


@needs_chromium
def test_the_regression_view_renders_in_headless_chromium(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(html.render(regressed_report()))
    shot = tmp_path / "shot.png"
    result = chromium(f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri())
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    assert console_errors(result.stderr) == []
    width, height, pixels = png_pixels(shot)
    assert (width, height) == (1200, 1600)
    assert len(set(pixels)) > 50  # text, pills and the red and green of the diff: not a blank page
