"""Offline drift as a user meets it: cassettes written with an old recording date replay, and the session
reports their age, what the replayed calls cost then and today, and the models genai-prices cannot price
or flags as deprecated. No live call, no network: genai-prices' bundled data only."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import openai  # noqa: F401  imported once here: pytester's in-process runs would import it again each run
import pytest

import pytest_llmops.results.reporting
import pytest_llmops.session  # noqa: F401
from pytest_llmops.recording.formats import dump_interactions
from pytest_llmops.recording.interactions import (
    Interaction,
    InteractionMeta,
    RecordedRequest,
    RecordedResponse,
)
from pytest_llmops.results.report import html, json_report, markdown, terminal  # noqa: F401

MESSAGES = [{"role": "user", "content": "Say hello."}]
JSON = {"content-type": ["application/json"]}
OLD = "2025-05-01T10:00:00.000000Z"  # before o3's price cut of 2025-06-10 in genai-prices' data
QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:recording")

SUITE = textwrap.dedent(
    """
    import httpx
    import pytest
    from openai import OpenAI

    MESSAGES = [{"role": "user", "content": "Say hello."}]

    @pytest.mark.llm
    def test_old():
        OpenAI().chat.completions.create(model="o3", messages=MESSAGES)

    @pytest.mark.llm
    def test_fresh():
        OpenAI().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    @pytest.mark.llm
    def test_finetune():
        OpenAI().chat.completions.create(model="acme-support-1", messages=MESSAGES)

    @pytest.mark.llm
    def test_gemini():
        httpx.post(
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent",
            json={"contents": [{"role": "user", "parts": [{"text": "Say hello."}]}]},
        ).raise_for_status()
    """
)


def chat(model: str, answered_by: str, recorded_at: str | None) -> Interaction:
    """An OpenAI chat completion as our recorder stores it: 1,000 tokens in, 500 out."""
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": answered_by,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "Hello!"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500},
    }
    return Interaction(
        RecordedRequest(
            "POST",
            "https://api.openai.com/v1/chat/completions",
            dict(JSON),
            json.dumps({"messages": MESSAGES, "model": model}).encode(),
        ),
        RecordedResponse(200, "OK", dict(JSON), json.dumps(body).encode()),
        InteractionMeta(recorded_at=recorded_at, latency_ms=120.0),
    )


def gemini(recorded_at: str) -> Interaction:
    body = {
        "candidates": [{"content": {"role": "model", "parts": [{"text": "Hello!"}]}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 1000, "candidatesTokenCount": 500, "totalTokenCount": 1500},
        "modelVersion": "gemini-2.0-flash",
    }
    request = {"contents": [{"role": "user", "parts": [{"text": "Say hello."}]}]}
    return Interaction(
        RecordedRequest(
            "POST",
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent",
            dict(JSON),
            json.dumps(request).encode(),
        ),
        RecordedResponse(200, "OK", dict(JSON), json.dumps(body).encode()),
        InteractionMeta(recorded_at=recorded_at, latency_ms=90.0),
    )


def write(pytester: pytest.Pytester, test: str, *interactions: Interaction) -> Path:
    path = pytester.path / "cassettes" / "test_app" / f"{test}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_interactions(interactions), encoding="utf-8")
    return path


def now_stamp() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """The suite and its cassettes: test_old recorded before o3's price cut, the others today."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    pytester.makepyfile(test_app=SUITE)
    write(pytester, "test_old", chat("o3", "o3-2025-04-16", OLD))
    write(pytester, "test_fresh", chat("gpt-4o-mini", "gpt-4o-mini-2024-07-18", now_stamp()))
    write(pytester, "test_finetune", chat("acme-support-1", "acme-support-1", now_stamp()))
    write(pytester, "test_gemini", gemini(now_stamp()))
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    report = pytester.path / "report.json"
    result = pytester.runpytest("--llm-eval", *QUIET, f"--llm-report-json={report}", *args)
    return result, json.loads(report.read_text())["recordings"]


def test_an_old_cassette_is_listed_with_its_age_and_the_price_change_shows_offline(
    project: pytest.Pytester,
) -> None:
    md, page = project.path / "r.md", project.path / "r.html"
    result, section = run(
        project, "--llm-max-recording-age=90d", f"--llm-report-md={md}", f"--llm-report-html={page}"
    )
    result.assert_outcomes(passed=4)
    age = (datetime.now(UTC).date() - date(2025, 5, 1)).days
    result.stdout.fnmatch_lines(
        [
            "Recordings (as of *)",
            "  older than 90 days: 1 cassette; re-record their tests*",
            f"    cassettes/test_app/test_old.yaml: {age} days old (recorded 2025-05-01; 1 of 1 recording over *"
            "test_app.py::test_old",
            "  prices changed since recording: o3-2025-04-16 $0.0300 -> $0.00600 (-80%, 1 call)",
            "  replayed calls at today's prices: * when recorded -> * today (*)",
            "  deprecated by the provider (genai-prices): gemini-2.0-flash (1 call)*",
            "  no price today: acme-support-1 (1 call)*",
        ]
    )
    [old] = section["too_old"]
    assert old["path"] == "cassettes/test_app/test_old.yaml" and old["age_days"] == age
    assert old["oldest"] == OLD and old["tests"] == ["test_app.py::test_old"]
    models = {m["model"]: m for m in section["models"]}
    assert models["o3-2025-04-16"]["cost_then_usd"] == pytest.approx(0.03)
    assert models["o3-2025-04-16"]["cost_now_usd"] == pytest.approx(0.006)
    mini = models["gpt-4o-mini-2024-07-18"]
    assert mini["cost_then_usd"] == mini["cost_now_usd"] and not mini["changed"]
    assert models["acme-support-1"]["cost_now_usd"] is None
    assert models["gemini-2.0-flash"]["deprecated"] is True
    assert section["changed_models"] == ["o3-2025-04-16"] and section["replayed"] == 4
    assert (
        "### Recordings (as of" in md.read_text() and "`cassettes/test_app/test_old.yaml`" in md.read_text()
    )
    assert "<h2>Recordings (as of" in page.read_text() and "gemini-2.0-flash" in page.read_text()


def test_a_fresh_replay_prints_no_recordings_block(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    pytester.makepyfile(test_app=SUITE)
    write(pytester, "test_fresh", chat("gpt-4o-mini", "gpt-4o-mini-2024-07-18", now_stamp()))
    result, section = run(pytester, "--llm-max-recording-age=1d", "-k", "fresh")
    result.assert_outcomes(passed=1)
    assert "Recordings" not in result.stdout.str()
    assert section["findings"] is False and section["too_old"] == [] and section["replayed"] == 1


def test_the_ini_sets_the_limit_and_the_command_line_turns_it_off(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\nllm_max_recording_age = 12w\n")
    result, section = run(project, "-k", "old")
    assert section["max_age_days"] == 84 and len(section["too_old"]) == 1
    result, section = run(project, "-k", "old", "--llm-max-recording-age=off")
    assert section["max_age_days"] is None and section["too_old"] == []
    result.stdout.fnmatch_lines(["Recordings (as of *)", "  prices changed since recording: o3-2025-04-16 *"])
    assert "older than" not in result.stdout.str()


def test_an_undated_recording_is_reported_as_such(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    pytester.makepyfile(test_app=SUITE)
    write(pytester, "test_fresh", chat("gpt-4o-mini", "gpt-4o-mini-2024-07-18", None))
    result, section = run(pytester, "--llm-max-recording-age=90d", "-k", "fresh")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["  no recording date: 1 recording in 1 cassette (no metadata.recorded_at*"])
    assert section["undated"] == 1 and section["too_old"] == []


@pytest.mark.parametrize("value", ["6m", "90", "soon"])
def test_a_bad_age_in_the_ini_is_a_usage_error_naming_the_option(
    pytester: pytest.Pytester, value: str
) -> None:
    pytester.makeini(f"[pytest]\nllm_max_recording_age = {value}\n")
    pytester.makepyfile(test_app="def test_nothing():\n    pass\n")
    result = pytester.runpytest("--llm-eval", *QUIET)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"*llm_max_recording_age = {value} in *: '{value}' is not a recording age*90d or 12w*"]
    )


def test_a_bad_age_on_the_command_line_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app="def test_nothing():\n    pass\n")
    result = pytester.runpytest("--llm-eval", *QUIET, "--llm-max-recording-age=3mo")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--llm-max-recording-age: '3mo' is not a recording age*write 180d or 26w*"])


def test_under_xdist_only_the_controller_prints_the_same_section(project: pytest.Pytester) -> None:
    report = project.path / "report.json"
    result = project.runpytest_subprocess(
        "--llm-eval", *QUIET, "-n", "2", "--llm-max-recording-age=90d", f"--llm-report-json={report}"
    )
    result.assert_outcomes(passed=4)
    out = result.stdout.str()
    assert out.count("Recordings (as of") == 1 and out.count("test_old.yaml:") == 1
    assert "[gw" not in "".join(line for line in out.splitlines() if "Recordings" in line)
    with_workers = json.loads(report.read_text())["recordings"]
    result, alone = run(project, "-p", "no:xdist", "--llm-max-recording-age=90d")
    assert with_workers == alone and alone["too_old"]
