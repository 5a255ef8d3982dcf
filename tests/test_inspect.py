"""`pytest-llmops inspect`, end to end through the console entry point."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from pytest_llmops.cli import main
from pytest_llmops.cli.inspect import JSON_KEYS
from pytest_llmops.recording.formats import dump_interactions, load_interactions
from pytest_llmops.recording.interactions import (
    Interaction,
    InteractionMeta,
    RecordedRequest,
    RecordedResponse,
)
from pytest_llmops.spend.pricing import price_call
from pytest_llmops.spend.providers import builtin_parse_call
from tests.real_cassettes import REAL_CASSETTES

REAL = REAL_CASSETTES


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    status = main(["inspect", *map(str, args)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def chat(model: str, prompt_tokens: int, completion_tokens: int, *, status: int = 200) -> Interaction:
    body: dict[str, Any]
    if status >= 400:
        body = {"error": {"type": "invalid_request_error", "code": "invalid_api_key", "message": "no"}}
    else:
        body = {
            "object": "chat.completion",
            "model": model,
            "choices": [],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens},
        }
    return Interaction(
        RecordedRequest(
            "POST",
            "https://api.openai.com/v1/chat/completions?x=1",
            {"content-type": ["application/json"]},
            json.dumps({"model": model, "messages": []}).encode(),
        ),
        RecordedResponse(status, "", {"content-type": ["application/json"]}, json.dumps(body).encode()),
        InteractionMeta(recorded_at="2025-06-01T00:00:00Z"),
    )


def cassette(path: Path, *interactions: Interaction) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_interactions(list(interactions)), encoding="utf-8")
    return path


def test_json_lists_every_real_interaction_with_exactly_the_documented_keys(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run(capsys, REAL, "--json")
    assert (status, err) == (0, "")
    rows = json.loads(out)
    with (REAL / "INDEX.tsv").open(newline="", encoding="utf-8") as f:
        index = list(csv.DictReader(f, delimiter="\t"))
    assert len(rows) == sum(int(r["n_interactions"]) for r in index)
    assert {row["file"] for row in rows} == {str(REAL / r["saved_file"]) for r in index}
    for row in rows:
        assert list(row) == list(JSON_KEYS)
    for entry in index:
        file = REAL / entry["saved_file"]
        mine = [row for row in rows if row["file"] == str(file)]
        assert [row["index"] for row in mine] == list(range(int(entry["n_interactions"])))
        for row, interaction in zip(mine, load_interactions(file), strict=True):
            call = builtin_parse_call(interaction)
            assert call is not None
            assert row["endpoint"] == call.endpoint and "?" not in row["endpoint"]
            assert (row["provider"], row["model"], row["stream"], row["status"]) == (
                call.provider,
                call.model,
                call.stream,
                interaction.response.status,
            )
            tokens = [
                row[k] for k in ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens")
            ]
            if call.estimated:  # the recording has no usage: inspect reports none
                assert tokens == [None, None, None, None]
                assert row["cost_usd"] is None
            else:
                assert tokens == [
                    call.input_tokens,
                    call.cached_input_tokens,
                    call.cache_write_tokens,
                    call.output_tokens,
                ]
                assert row["cost_usd"] == price_call(call)


def test_a_broken_file_is_reported_and_the_others_still_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = cassette(tmp_path / "a_good.yaml", chat("gpt-4o-mini", 10, 5), chat("gpt-4o-mini", 20, 7))
    broken = tmp_path / "b_broken.yaml"
    broken.write_text("interactions:\n- request: [unclosed\n", encoding="utf-8")
    also_good = cassette(tmp_path / "c_good.yml", chat("gpt-4o", 3, 4))
    status, out, err = run(capsys, tmp_path, "--json")
    assert status == 2
    assert str(broken) in err and "invalid YAML" in err
    assert str(good) not in err
    rows = json.loads(out)
    assert [(r["file"], r["index"]) for r in rows] == [(str(good), 0), (str(good), 1), (str(also_good), 0)]
    assert [r["input_tokens"] for r in rows] == [10, 20, 3]


def test_folders_are_searched_recursively_for_cassette_suffixes_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cassette(tmp_path / "top.yaml", chat("gpt-4o", 1, 1))
    cassette(tmp_path / "deep" / "er" / "nested.yml", chat("gpt-4o", 2, 2))
    cassette(tmp_path / "deep" / "UPPER.YAML", chat("gpt-4o", 3, 3))
    cassette(tmp_path / ".hidden" / "skipped.yaml", chat("gpt-4o", 9, 9))
    (tmp_path / "notes.txt").write_text("not a cassette", encoding="utf-8")
    explicit = cassette(tmp_path / "named.cassette", chat("gpt-4o", 4, 4))
    if (REAL / "INDEX.tsv").exists():
        har = next(REAL.rglob("*.har"))
        shutil.copy(har, tmp_path / "deep" / har.name)
        single = next(REAL.rglob("*28bbec95.json"))
        shutil.copy(single, tmp_path / "deep" / "er" / single.name)
    status, out, err = run(capsys, tmp_path, explicit, "--json")
    assert (status, err) == (0, "")
    files = {Path(r["file"]).relative_to(tmp_path).as_posix() for r in json.loads(out)}
    expected = {"top.yaml", "deep/er/nested.yml", "deep/UPPER.YAML", "named.cassette"}
    if (REAL / "INDEX.tsv").exists():
        expected |= {f"deep/{har.name}", f"deep/er/{single.name}"}
    assert files == expected


def test_human_table_and_totals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cassette(
        tmp_path / "c.yaml",
        chat("gpt-4o-mini-2024-07-18", 1000, 200),
        chat("moonshotai/kimi-k2", 57, 17),
        chat("gpt-4o", 0, 0, status=401),
    )
    status, out, _ = run(capsys, tmp_path)
    assert status == 0
    lines = out.splitlines()
    header = next(line for line in lines if "PROVIDER" in line)
    rows = [line for line in lines if "/v1/chat/completions" in line]
    assert len(rows) == 3
    # aligned: every row's cost column ends where the header's COST does
    cost_end = header.index("COST") + len("COST")
    for row in rows:
        assert row[cost_end - 1] != " "
    priced = price_call(builtin_parse_call(chat("gpt-4o-mini-2024-07-18", 1000, 200)))  # type: ignore[arg-type]
    assert priced is not None
    assert "3 interactions in 1 files" in out
    assert "tokens: 1,057 input (0 cached, 0 cache writes), 217 output" in out
    assert f"cost: ${priced:.6f} for 2 priced calls; 1 unpriced" in out
    assert "no price known for: moonshotai/kimi-k2" in out
    assert "invalid_request_error" in rows[2]


def test_prices_file_is_used_and_a_bad_one_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = cassette(tmp_path / "c.yaml", chat("moonshotai/kimi-k2", 1_000_000, 1_000_000))
    prices = tmp_path / "prices.yaml"
    prices.write_text("models:\n  moonshotai/kimi-k2:\n    input: 0.6\n    output: 2.5\n", encoding="utf-8")
    status, out, _ = run(capsys, file, "--json", "--prices", prices)
    assert status == 0
    assert json.loads(out)[0]["cost_usd"] == pytest.approx(0.6 + 2.5)
    prices.write_text("models:\n  moonshotai/kimi-k2:\n    input: lots\n", encoding="utf-8")
    status, out, err = run(capsys, file, "--prices", prices)
    assert status == 2
    assert f"{prices}:3" in err and "models.moonshotai/kimi-k2.input" in err


def test_missing_path_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = cassette(tmp_path / "c.yaml", chat("gpt-4o", 1, 1))
    status, out, err = run(capsys, tmp_path / "nope", good, "--json")
    assert status == 2
    assert "nope: no such file or folder" in err
    assert len(json.loads(out)) == 1


def test_non_llm_interactions_are_listed_with_nulls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    health = Interaction(
        RecordedRequest("GET", "http://127.0.0.1:9/health?verbose=1"),
        RecordedResponse(200, "OK", {"content-type": ["application/json"]}, b'{"ok": true}'),
    )
    cassette(tmp_path / "c.yaml", health)
    status, out, _ = run(capsys, tmp_path, "--json")
    assert status == 0
    (row,) = json.loads(out)
    assert row["endpoint"] == "/health"
    assert row["provider"] is None and row["model"] is None and row["cost_usd"] is None
    assert row["status"] == 200


def test_console_script_runs(tmp_path: Path) -> None:
    cassette(tmp_path / "c.yaml", chat("gpt-4o", 5, 6))
    result = subprocess.run(
        [sys.executable, "-m", "pytest_llmops.cli", "inspect", str(tmp_path), "--json"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["output_tokens"] == 6


def test_each_interaction_has_its_recording_time_and_age_and_the_totals_name_the_oldest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = chat("gpt-4o-mini", 10, 2)
    undated = chat("gpt-4o-mini", 10, 2)
    undated.meta = InteractionMeta()
    dated_by_header = chat("gpt-4o-mini", 10, 2)
    dated_by_header.meta = InteractionMeta()
    dated_by_header.response.headers["date"] = ["Tue, 01 Jul 2025 08:00:00 GMT"]
    cassette(tmp_path / "a.yaml", old, undated)
    cassette(tmp_path / "b.yaml", dated_by_header)
    status, out, _ = run(capsys, tmp_path, "--json")
    rows = json.loads(out)
    today = datetime.now(UTC).date()
    assert status == 0
    assert [(r["recorded_at"], r["age_days"]) for r in rows] == [
        ("2025-06-01T00:00:00Z", (today - date(2025, 6, 1)).days),
        (None, None),
        ("2025-07-01T08:00:00Z", (today - date(2025, 7, 1)).days),
    ]
    status, out, _ = run(capsys, tmp_path)
    assert (
        f"recorded: oldest 2025-06-01 ({(today - date(2025, 6, 1)).days} days ago, {tmp_path / 'a.yaml'}), "
        f"newest 2025-07-01 ({(today - date(2025, 7, 1)).days} days ago)"
    ) in out
    assert "1 interactions carry no recording time (no metadata.recorded_at, no Date header)" in out
