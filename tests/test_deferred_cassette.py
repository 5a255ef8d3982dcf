"""Replaying, a cassette is read on its test's first request (`recording/deferred.py`): a test that sends
nothing reads nothing, and everything else stays as it was: replays, misses reported, the report's cassette
counts, the fail-closed guard, recovered journals."""

from __future__ import annotations

import json

import pytest

from pytest_llmops.simulator import ProviderSimulator

SUITE = """
import os, socket, pytest

def ask(client, text):
    return client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": text}])

@pytest.mark.llm
def test_replays(openai_client):
    ask(openai_client, "one")
    ask(openai_client, "two")

@pytest.mark.llm
def test_sends_nothing(openai_client):
    if os.environ.get("RECORDING"):
        ask(openai_client, "recorded, never replayed")

@pytest.mark.llm
def test_misses(openai_client):
    ask(openai_client, os.environ.get("QUESTION", "three"))
"""


@pytest.fixture
def recorded(
    llm_pytester: pytest.Pytester,
    sim: ProviderSimulator,
    with_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> pytest.Pytester:
    llm_pytester.makepyfile(test_suite=SUITE)
    monkeypatch.setenv("RECORDING", "1")
    llm_pytester.runpytest("--llm-eval", "--llm-record=once", "-p", "no:xdist").assert_outcomes(passed=3)
    monkeypatch.delenv("RECORDING")
    for name in with_keys:
        monkeypatch.delenv(name)
    sim.reset()
    return llm_pytester


@pytest.mark.parametrize("xdist", [["-p", "no:xdist"], ["-n", "2"]], ids=["no-xdist", "n2"])
def test_a_test_that_sends_nothing_does_not_read_its_cassette_and_the_counts_stay_right(
    recorded: pytest.Pytester, sim: ProviderSimulator, monkeypatch: pytest.MonkeyPatch, xdist: list[str]
) -> None:
    folder = recorded.path / "cassettes" / "test_suite"
    # Not a cassette any more: reading it would fail its test ("cannot read cassette").
    (folder / "test_sends_nothing.yaml").write_bytes(b"interactions: [\n  - {bad")
    monkeypatch.setenv("QUESTION", "not what was recorded")
    result = recorded.runpytest("--llm-eval", "--llm-report-json=report.json", "-rf", *xdist)
    result.assert_outcomes(passed=2, failed=1)
    out = result.stdout.str()
    assert "cannot read cassette" not in out
    result.stdout.fnmatch_lines(
        [
            "*No recorded response for POST /v1/chat/completions*cassettes/test_suite/test_misses.yaml*",
            "*cassettes: 2 played · 0 new recordings · 1 miss*",
        ]
    )
    assert sim.requests == []
    report = json.loads((recorded.path / "report.json").read_text())
    cassettes = {r["nodeid"].split("::")[1]: r["cassette"] for r in report["records"]}
    assert {name: (c["played"], c["misses"], c["mode"]) for name, c in cassettes.items()} == {
        "test_replays": (2, 0, "none"),
        "test_sends_nothing": (0, 0, "none"),
        "test_misses": (0, 1, "none"),
    }
    assert cassettes["test_sends_nothing"]["path"] == "cassettes/test_suite/test_sends_nothing.yaml"
    records = {r["nodeid"].split("::")[1]: r for r in report["records"]}
    assert records["test_misses"]["failure"] == "cassette miss"
    assert len(records["test_replays"]["calls"]) == 2


def test_a_journal_left_beside_a_cassette_is_recovered_when_its_test_first_sends(
    recorded: pytest.Pytester, sim: ProviderSimulator
) -> None:
    """A dead recording run's journal is merged when the cassette is read: on the first request of a test
    that sends, and not for a test that sends nothing (its journal waits for a run that needs it)."""
    folder = recorded.path / "cassettes" / "test_suite"
    for name in ("test_replays", "test_sends_nothing"):
        (folder / f"{name}.yaml.4242-abcdef.journal").write_text(
            json.dumps({"llmops_journal": 1, "cassette": f"{name}.yaml", "pid": 4242}) + "\n"
        )
    result = recorded.runpytest("--llm-eval", "-p", "no:xdist", "-k", "not misses")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["*RecoveredRecordingsWarning: recovered 0 recording(s) from *test_replays.yaml.*"]
    )
    assert not (folder / "test_replays.yaml.4242-abcdef.journal").exists()
    assert (folder / "test_sends_nothing.yaml.4242-abcdef.journal").exists()


def test_the_guard_reads_the_cassette_for_a_raw_connection_to_a_recorded_loopback_port(
    llm_pytester: pytest.Pytester,
    sim: ProviderSimulator,
    with_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cassette's recorded endpoints are known to the guard without a request through a client: a
    test whose first network use is a raw socket to the port its cassette recorded is refused."""
    llm_pytester.makepyfile(
        test_raw="""
        import os, socket, pytest

        @pytest.mark.llm
        def test_side(openai_client):
            if os.environ.get("RECORDING"):
                openai_client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
            else:
                host, port = os.environ["SIM_URL"].split("//")[1].split(":")
                socket.create_connection((host, int(port)), timeout=5).close()
        """
    )
    monkeypatch.setenv("RECORDING", "1")
    llm_pytester.runpytest("--llm-eval", "--llm-record=once", "-p", "no:xdist").assert_outcomes(passed=1)
    monkeypatch.delenv("RECORDING")
    for name in with_keys:
        monkeypatch.delenv(name)
    sim.reset()
    result = llm_pytester.runpytest("--llm-eval", "-p", "no:xdist")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*a connection to 127.0.0.1:* was refused: test_raw.py::test_side replays from its cassette*",
            "*pytest --llm-eval --llm-record=new_episodes test_raw.py::test_side*",
        ]
    )
    assert sim.requests == []
