"""The session budget is a cap under concurrency: threads and asyncio.gather inside tests, with and without xdist."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_llmops.simulator import ProviderSimulator

CONCURRENT_SUITE = """
import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

def ask(client, i):
    return client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        max_tokens=40,
        temperature=0,
    )

@pytest.mark.llm
@pytest.mark.parametrize("t", range(4))
def test_threads(openai_client, t):
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: ask(openai_client, i), range(8)))

@pytest.mark.llm
@pytest.mark.parametrize("t", range(4))
def test_gather(async_openai_client, t):
    async def main():
        async def one(i):
            return await async_openai_client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "What is the capital of France?"}],
                max_tokens=40,
                temperature=0,
            )
        results = await asyncio.gather(*(one(i) for i in range(8)), return_exceptions=True)
        await async_openai_client.close()
        for result in results:
            if isinstance(result, BaseException):
                raise result
    asyncio.run(main())
"""


def _one_call_cost(llm_pytester: pytest.Pytester, sim: ProviderSimulator, kind: str) -> float:
    report = llm_pytester.path / "one.json"
    llm_pytester.runpytest(
        "--llm-eval", "--llm-record=all", "-k", f"{kind}[0]", f"--llm-report-json={report}"
    ).assert_outcomes(passed=1)
    app = json.loads(report.read_text())["headline"]["app"]
    assert app["live_calls"] == 8 == len(sim.requests)  # every live call is counted once
    sim.reset()
    return float(app["live_cost_usd"]) / 8


@pytest.mark.parametrize("kind", ["threads", "gather"])
@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_concurrent_calls_never_pass_the_session_budget(
    llm_pytester: pytest.Pytester,
    sim: ProviderSimulator,
    with_keys: dict[str, str],
    kind: str,
    workers: list[str],
) -> None:
    llm_pytester.makepyfile(test_c=CONCURRENT_SUITE)
    one_call = _one_call_cost(llm_pytester, sim, kind)
    assert one_call > 0
    budget = 0.0001  # the cap: ~6 calls' real cost, ~2 calls' worst case at max_tokens=40
    report = llm_pytester.path / "r.json"
    run = llm_pytester.runpytest_subprocess if workers else llm_pytester.runpytest
    result = run(
        "--llm-eval",
        "--llm-record=rewrite",
        f"--llm-budget-usd={budget}",
        f"--llm-report-json={report}",
        "-k",
        kind,
        *workers,
    )
    answered = len(sim.requests)
    app = json.loads(report.read_text())["headline"]["app"]
    print(
        f"{kind} {workers}: answered {answered}, report live {app['live_calls']} ${app['live_cost_usd']:.6f}"
    )
    assert answered >= 1
    assert answered * one_call <= budget
    assert app["live_cost_usd"] <= budget
    assert app["live_calls"] == answered  # each call the server answered is counted exactly once
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*budget exhausted: live spend $*would pass --llm-budget-usd=0.0001*"])


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1"])
def test_budgets_that_cannot_cap_are_usage_errors(pytester: pytest.Pytester, value: str) -> None:
    result = pytester.runpytest("--llm-eval", f"--llm-budget-usd={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--llm-budget-usd" in result.stderr.str()
    pytester.makeini(f"[pytest]\nllm_budget_usd = {value}\n")
    result = pytester.runpytest("--llm-eval")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "llm_budget_usd" in result.stderr.str() + result.stdout.str()


def test_ledger_rewritten_in_place_stays_whole_when_it_shrinks(tmp_path: Path) -> None:
    """The ledger is overwritten in place and cut to its new length: a shorter text leaves no tail."""
    from pytest_llmops.spend.ledger import Ledger

    ledger = Ledger(tmp_path / "ledger.json", 1.0)
    tickets = [ledger.reserve(f"call {i}", 0.01) for i in range(20)]
    for ticket in tickets:
        ledger.release(ticket)
    ledger.add(0.002, "gpt-4o-mini")
    assert json.loads((tmp_path / "ledger.json").read_text()) == ledger.totals()
    assert ledger.totals()["reserved"] == {}
    assert ledger.spent_usd == pytest.approx(0.002)
    assert ledger.totals()["peak_committed_usd"] == pytest.approx(0.2)


REJECTED_SUITE = """
import openai
import pytest

@pytest.mark.llm
def test_rejected_then_answered(openai_client, llm_usage):
    with pytest.raises(openai.BadRequestError):
        openai_client.chat.completions.create(
            model="gpt-4o-mini", max_tokens=2000, messages=[{"role": "user", "content": "first"}]
        )
    openai_client.chat.completions.create(
        model="gpt-4o-mini", max_tokens=2000, messages=[{"role": "user", "content": "second"}]
    )
    assert [(c.status, c.cost_usd) for c in llm_usage.calls][0] == (400, 0.0)
"""


def test_a_rejected_call_gives_its_reservation_back_to_the_session_budget(
    llm_pytester: pytest.Pytester, sim: ProviderSimulator, with_keys: dict[str, str]
) -> None:
    """A 400 is not billed: it costs $0 in the session's ledger, not its worst case. Before, the budget held
    the rejected call's worst case ($0.0012 for 2,000 output tokens of gpt-4o-mini) as spent and refused
    the next call of a $0.002 budget, while the report said $0 was spent."""
    llm_pytester.makepyfile(test_rejected=REJECTED_SUITE)
    sim.fail_next(400)
    result = llm_pytester.runpytest("--llm-eval", "--llm-record=once", "--llm-budget-usd=0.002")
    result.assert_outcomes(passed=1)
    assert len(sim.requests) == 2
    assert "budget exhausted" not in result.stdout.str()


CUT_SUITE = """
import pytest

@pytest.mark.llm
def test_cut_short_then_more(openai_client, llm_usage):
    stream = openai_client.chat.completions.create(
        model="gpt-4o-mini", max_tokens=2000, stream=True, messages=[{"role": "user", "content": "a long story"}]
    )
    for i, _ in enumerate(stream):
        if i == 2:
            break  # the app stops reading: what the provider generated after that is not known
    stream.close()
    assert llm_usage.calls[0].estimated
    openai_client.chat.completions.create(
        model="gpt-4o-mini", max_tokens=2000, messages=[{"role": "user", "content": "and then?"}]
    )
"""


def test_a_stream_cut_short_keeps_its_worst_case_under_the_session_budget(
    llm_pytester: pytest.Pytester, sim: ProviderSimulator, with_keys: dict[str, str]
) -> None:
    """The cost of a stream the app stopped reading is estimated from what arrived; the provider may have
    billed more, so the session budget keeps the reservation (docs/budgets-and-pricing.md), and the refusal
    says how much of "spend" is such worst cases. Before, it settled at the estimate and sent the next call."""
    llm_pytester.makepyfile(test_cut=CUT_SUITE)
    result = llm_pytester.runpytest("--llm-eval", "--llm-record=once", "--llm-budget-usd=0.002")
    result.assert_outcomes(failed=1)
    assert len(sim.requests) == 1, "the second call was sent"
    result.stdout.fnmatch_lines(
        ["*budget exhausted: live spend $0.0012* of it the worst case of calls whose cost is unknown*"]
    )


SIGN_IN_SUITE = """
import os
import httpx2
import pytest

@pytest.mark.llm
def test_signs_in_lists_then_asks(openai_client, llm_usage):
    url = os.environ["SIM_URL"]
    token = httpx2.post(url + "/tenant/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": "app", "client_secret": "vault-secret-123456",
    }).json()["access_token"]
    assert token
    assert openai_client.models.list().data
    openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], max_tokens=20
    )
    assert [c.provider for c in llm_usage.calls] == ["unknown", "unknown", "openai"]  # one LLM call


@pytest.mark.llm
def test_an_upload_it_cannot_bound(openai_client):
    openai_client.audio.transcriptions.create(model="whisper-1", file=("said.txt", b"Hello there"))
"""


def test_a_sign_in_and_a_listing_are_not_refused_by_the_session_budget(
    llm_pytester: pytest.Pytester, sim: ProviderSimulator, with_keys: dict[str, str]
) -> None:
    """Under a budget, requests no provider bills (a GET, an OAuth token request) are sent without a
    reservation. Before, the token request was refused: "its body is not a JSON object, so its cost cannot
    be bounded". A call the plugin cannot bound (an audio upload, billed by its length) is still refused."""
    llm_pytester.makepyfile(test_sign_in=SIGN_IN_SUITE)
    result = llm_pytester.runpytest("--llm-eval", "--llm-record=once", "--llm-budget-usd=0.01")
    result.assert_outcomes(passed=1, failed=1)
    assert [r.path for r in sim.requests] == [
        "/tenant/oauth2/v2.0/token",
        "/v1/models",
        "/v1/chat/completions",
    ]
    assert "no usage" not in result.stdout.str()  # the sign-in and the listing cost nothing, not "unknown"
    result.stdout.fnmatch_lines(
        [
            "*POST /v1/audio/transcriptions was not sent: --llm-budget-usd is set but its body is not a JSON object*"
        ]
    )


PAST_THE_RECORDER = """
import os, socket
import pytest

@pytest.mark.llm
def test_raw_socket_to_the_llm_port(openai_client):
    openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], max_tokens=20
    )
    host, port = os.environ["SIM_URL"].split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:  # a client the plugin cannot see
        raw.sendall(b"GET /v1/models HTTP/1.0\\r\\n\\r\\n")
"""


def test_traffic_past_the_recorder_is_refused_under_a_session_budget(
    llm_pytester: pytest.Pytester, sim: ProviderSimulator, with_keys: dict[str, str]
) -> None:
    """While recording, traffic no interception accounts for (a raw socket, a WebSocket client, grpc) was
    let through with a warning, and so its spend was never held to --llm-budget-usd: a way past the cap.
    Under a budget it is now refused as in a replay; without one it is let through as before."""
    llm_pytester.makepyfile(test_past=PAST_THE_RECORDER)
    capped = llm_pytester.runpytest("--llm-eval", "--llm-record=all", "--llm-budget-usd=0.01")
    capped.assert_outcomes(failed=1)
    capped.stdout.fnmatch_lines(
        ["*a connection to 127.0.0.1:* was refused: --llm-budget-usd caps this session's live spend*"]
    )
    assert [r.path for r in sim.requests] == ["/v1/chat/completions"]  # the raw request never left
    sim.reset()
    uncapped = llm_pytester.runpytest("--llm-eval", "--llm-record=all")
    uncapped.assert_outcomes(passed=1)
    assert "UnrecordedTrafficWarning" in uncapped.stdout.str()
    allowed = llm_pytester.runpytest(
        "--llm-eval", "--llm-record=all", "--llm-budget-usd=0.01", "--llm-allowed-hosts=127.0.0.1"
    )
    allowed.assert_outcomes(passed=1)
