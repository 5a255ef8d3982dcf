"""`pytest-llmops merge`: shard reports combined equal the whole run's report, with the same exit status."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_llmops.cli.app import main
from tests.test_report_plugin import QUIET, SUITE, TESTS, strip_timings


@pytest.fixture
def recorded(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    llm_pytester.makepyfile(test_app=SUITE)
    llm_pytester.runpytest("--llm-eval", "--llm-record=once", *QUIET).assert_outcomes(passed=TESTS)
    for name in with_keys:
        monkeypatch.delenv(name)
    llm_pytester.runpytest("--llm-eval", "--llm-update-baseline", *QUIET).assert_outcomes(passed=TESTS)
    return llm_pytester


SHARDS = (("-k", "capital"), ("-k", "summary"), ("-k", "no_calls"))


def whole_and_merged(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tag: str,
    shards: tuple[tuple[str, ...], ...] = SHARDS,
) -> tuple[int, dict[str, Any], int, dict[str, Any], str]:
    out = pytester.path / tag
    whole = pytester.runpytest("--llm-eval", *QUIET, f"--llm-report-json={out / 'whole.json'}")
    shard_files = []
    for i, selection in enumerate(shards):
        path = out / f"shard{i}.json"
        pytester.runpytest("--llm-eval", *QUIET, *selection, f"--llm-report-json={path}")
        shard_files.append(str(path))
    monkeypatch.chdir(pytester.path)
    capsys.readouterr()
    status = main(
        ["merge", *shard_files, "--report-json", str(out / "merged.json"), "--report-md", str(out / "m.md")]
    )
    printed = capsys.readouterr().out
    return (
        int(whole.ret),
        json.loads((out / "whole.json").read_text()),
        status,
        json.loads((out / "merged.json").read_text()),
        printed,
    )


def test_merged_shards_equal_the_whole_run_and_fail_as_it_does(
    recorded: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two shards, one of them with xdist workers, as a CI matrix of machines x workers runs them.
    two = (("-k", "capital or no_calls"), ("-k", "summary", "-n", "2"))
    whole_status, whole, status, merged, printed = whole_and_merged(recorded, monkeypatch, capsys, "ok", two)
    assert whole_status == status == 0
    assert strip_timings(merged) == strip_timings(whole)
    assert [r["nodeid"] for r in merged["records"]] == sorted(r["nodeid"] for r in whole["records"])
    assert merged["format"] == 2 and len(merged["records"]) == TESTS
    assert "LLM evaluation" in printed and f"{TESTS} llm tests: {TESTS} passed" in printed
    assert (recorded.path / "ok" / "m.md").read_text().startswith("## LLM evaluation")

    monkeypatch.setenv("RELEVANCE", "0.1")  # test_capital's score drops far past its gate
    whole_status, whole, status, merged, printed = whole_and_merged(recorded, monkeypatch, capsys, "drop")
    assert whole_status == status == int(pytest.ExitCode.TESTS_FAILED)
    assert [r["metric"] for r in merged["regressions"]] == [r["metric"] for r in whole["regressions"]]
    assert merged["regressions"] and strip_timings(merged) == strip_timings(whole)
    assert "Regressions" in printed


def test_bad_shard_reports_are_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = tmp_path / "old.json"
    old.write_text('{"format": 1, "tests": []}')
    assert main(["merge", str(old)]) == 2
    assert "report format 1 has no per-test records" in capsys.readouterr().err
    shard = {"format": 2, "settings": {}, "records": [{"nodeid": "t.py::a", "base_nodeid": "t.py::a"}]}
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text(json.dumps(shard))
    assert main(["merge", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 2
    assert "t.py::a ran in two shards" in capsys.readouterr().err
    assert main(["merge", str(tmp_path / "missing.json")]) == 2
    assert "cannot read the JSON report" in capsys.readouterr().err
