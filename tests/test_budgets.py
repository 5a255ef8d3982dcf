"""Per-test budgets from the marker, the llm_usage fixture, and the session budget for live spend."""

from __future__ import annotations

import json

import pytest

from pytest_llmops.simulator import ProviderSimulator

ASK = """
def ask(client, text="What is the capital of France?"):
    return client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}], max_tokens=40, temperature=0
    )
"""


def test_per_test_budgets_fail_with_the_calls_listed(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_pytester.makepyfile(
        test_b=ASK
        + """
import pytest

@pytest.mark.llm(budget_usd=0.0000001)
def test_cost(openai_client):
    ask(openai_client)

@pytest.mark.llm(budget_tokens=5)
def test_tokens(openai_client):
    ask(openai_client)

@pytest.mark.llm(max_tokens=5)  # the old name of budget_tokens: still held, with a deprecation warning
def test_tokens_old_name(openai_client):
    ask(openai_client)

@pytest.mark.llm(max_latency_ms=0.001)
def test_latency(openai_client):
    ask(openai_client)

@pytest.mark.llm(budget_usd=1.0, budget_tokens=100000, max_latency_ms=60000)
def test_within(openai_client, llm_usage, request):
    ask(openai_client)
    ask(openai_client, "And of Spain?")
    assert len(llm_usage) == 2
    assert llm_usage.input_tokens > 0 and llm_usage.output_tokens > 0
    assert llm_usage.total_tokens == llm_usage.input_tokens + llm_usage.output_tokens
    assert 0 < llm_usage.cost_usd < 0.01
    live = request.config.getoption("llm_record") not in (None, "none")
    assert llm_usage.calls[0].model.startswith("gpt-4o-mini")
    assert llm_usage.calls[0].source == ("live" if live else "replayed")
"""
    )
    llm_pytester.runpytest("--llm-eval", "--llm-record=once")
    for name in with_keys:
        monkeypatch.delenv(name)
    result = llm_pytester.runpytest("--llm-eval")
    result.assert_outcomes(passed=1, failed=4)  # pytest may add warnings of its own, depending on the order
    assert result.stdout.str().count("PytestDeprecationWarning: test_b.py::test_tokens_old_name") == 1
    result.stdout.fnmatch_lines(
        [
            "*PytestDeprecationWarning: test_b.py::test_tokens_old_name: @pytest.mark.llm(max_tokens=...) is "
            "deprecated, use budget_tokens=...*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*LLM budget exceeded: budget_usd: $* > allowed $1e-07*",
            "*#0 openai gpt-4o-mini* /v1/chat/completions: * in / * out, * ms, $0.0000*",
        ]
    )
    for name in ("test_tokens", "test_tokens_old_name"):  # both names hold the limit
        result.stdout.fnmatch_lines(
            [f"*_ {name} _*", "LLM budget exceeded: budget_tokens: * tokens > allowed 5 tokens"]
        )
    result.stdout.fnmatch_lines(["*LLM budget exceeded: max_latency_ms: * ms > allowed 0.001 ms*"])


def test_llm_usage_needs_an_llm_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain(llm_usage):\n    pass\n")
    result = pytester.runpytest("--llm-eval")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*llm_usage needs an llm test: mark it @pytest.mark.llm*"])


SESSION_SUITE = (
    ASK
    + """
import pytest

@pytest.mark.llm
@pytest.mark.parametrize("n", range(12))
def test_spend(openai_client, n):
    ask(openai_client, f"Question number {n}: what is the capital of France?")
"""
)


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_session_budget_refuses_live_calls_once_spent(
    llm_pytester: pytest.Pytester, sim: ProviderSimulator, with_keys: dict[str, str], workers: list[str]
) -> None:
    llm_pytester.makepyfile(test_s=SESSION_SUITE)
    report = llm_pytester.path / "r.json"
    # Price of one call, measured: record one test without a budget.
    llm_pytester.runpytest(
        "--llm-eval", "--llm-record=all", "-k", "test_spend[0]", f"--llm-report-json={report}"
    )
    one_call = json.loads(report.read_text())["headline"]["app"]["live_cost_usd"]
    assert one_call > 0
    sim.reset()
    budget = one_call * 4.5
    result = llm_pytester.runpytest_subprocess(
        "--llm-eval",
        "--llm-record=rewrite",
        f"--llm-budget-usd={budget}",
        f"--llm-report-json={report}",
        *workers,
    )
    outcomes = result.parseoutcomes()
    sent = len(sim.requests)
    assert outcomes.get("passed", 0) == sent
    assert outcomes.get("failed", 0) == 12 - sent
    # Each call reserves its worst case (max_tokens=40) first, so fewer than 4.5 calls fit: never more.
    assert 1 <= sent <= 4
    result.stdout.fnmatch_lines(
        [
            "*budget exhausted: live spend $* + up to $* for this call would pass --llm-budget-usd=*; "
            "POST /v1/chat/completions (model gpt-4o-mini) was not sent*"
        ]
    )
    spent = json.loads(report.read_text())["headline"]["app"]["live_cost_usd"]
    assert spent <= budget
    assert sent * one_call <= budget


def test_replayed_calls_never_count_as_live_spend(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_pytester.makepyfile(test_s=SESSION_SUITE)
    llm_pytester.runpytest("--llm-eval", "--llm-record=once").assert_outcomes(passed=12)
    for name in with_keys:
        monkeypatch.delenv(name)
    report = llm_pytester.path / "r.json"
    llm_pytester.runpytest(
        "--llm-eval", "--llm-budget-usd=0.0000001", f"--llm-report-json={report}"
    ).assert_outcomes(passed=12)
    app = json.loads(report.read_text())["headline"]["app"]
    assert app["live_cost_usd"] == 0 and app["replayed_cost_usd"] > 0


def test_a_model_without_price_is_refused_under_a_budget(
    llm_pytester: pytest.Pytester, sim: ProviderSimulator, with_keys: dict[str, str]
) -> None:
    llm_pytester.makepyfile(
        test_u="""
        import pytest

        @pytest.mark.llm
        def test_private(openai_client):
            openai_client.chat.completions.create(model="acme-private-7b", messages=[{"role": "user", "content": "hi"}])
        """
    )
    result = llm_pytester.runpytest("--llm-eval", "--llm-record=once", "--llm-budget-usd=1")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*no price is known for model 'acme-private-7b'*Add it to the llm_prices file*"]
    )
    assert sim.requests == []
    (llm_pytester.path / "prices.yaml").write_text(
        "models:\n  acme-private-7b:\n    input: 0.1\n    output: 0.2\n"
    )
    llm_pytester.makeini("[pytest]\nllm_prices = prices.yaml\n")
    # Priced now, but with no max_tokens and no known output limit its cost has no bound: still refused.
    result = llm_pytester.runpytest("--llm-eval", "--llm-record=once", "--llm-budget-usd=1")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*no output limit is known for model 'acme-private-7b'*Set max_tokens*"])
    assert sim.requests == []
    test_file = llm_pytester.path / "test_u.py"
    test_file.write_text(test_file.read_text().replace('"hi"}]', '"hi"}], max_tokens=30'))
    llm_pytester.runpytest("--llm-eval", "--llm-record=once", "--llm-budget-usd=1").assert_outcomes(passed=1)


def test_bad_prices_file_is_a_usage_error(llm_pytester: pytest.Pytester, with_keys: dict[str, str]) -> None:
    (llm_pytester.path / "prices.yaml").write_text("models:\n  m:\n    input: cheap\n")
    llm_pytester.makeini("[pytest]\nllm_prices = prices.yaml\n")
    llm_pytester.makepyfile(
        test_u="""
        import pytest

        @pytest.mark.llm
        def test_x(openai_client):
            openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        """
    )
    result = llm_pytester.runpytest("--llm-eval", "--llm-record=once")
    assert result.ret != 0
    assert "prices.yaml" in result.stdout.str() + result.stderr.str()


def test_an_unpriced_model_is_warned_about_once(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str]
) -> None:
    llm_pytester.makepyfile(
        test_u="""
        import pytest

        @pytest.mark.llm
        @pytest.mark.parametrize("n", range(3))
        def test_private(openai_client, n):
            openai_client.chat.completions.create(model="acme-private-7b", messages=[{"role": "user", "content": "hi"}])
        """
    )
    result = llm_pytester.runpytest("--llm-eval", "--llm-record=once", "-p", "no:randomly")
    result.assert_outcomes(passed=3)
    assert result.stdout.str().count("UnpricedModelWarning") == 1
    result.stdout.fnmatch_lines(
        [
            "*UnpricedModelWarning: no price is known for model 'acme-private-7b' (openai)*",
            "*unpriced: 3 calls*",
        ]
    )


def test_a_call_that_failed_inside_its_stream_is_not_an_unpriced_model() -> None:
    """An error inside a 200 stream (`error_type` set, no usage) is a failed call like a 5xx: not billed,
    so budget_usd holds; a successful call with no price still fails the budget, naming the model."""
    from pytest_llmops.spend import budgets, pricing
    from pytest_llmops.spend.calls import LLMCall

    failed = LLMCall(provider="openai", endpoint="/v1/chat/completions", model="gpt-4o-mini", status=200)
    failed.error_type = "server_error"
    assert failed.failed and failed.ok and pricing.price_call(failed, None) == 0.0
    assert budgets.check({"budget_usd": 0.01}, [failed], 1) == []
    unpriced = LLMCall(provider="openai", endpoint="/v1/chat/completions", model="my-own-model", status=200)
    unpriced.input_tokens, unpriced.output_tokens = 10, 5
    assert not unpriced.failed
    (breach,) = budgets.check({"budget_usd": 0.01}, [failed, unpriced], 1)
    assert breach.unpriced == ["my-own-model"]


@pytest.mark.parametrize(
    ("method", "body", "headers", "free"),
    [
        ("GET", None, {}, True),  # a model listing
        ("DELETE", None, {}, True),
        ("POST", b"grant_type=client_credentials&client_id=app&client_secret=x", {}, True),
        ("POST", b'{"grant_type": "refresh_token", "refresh_token": "x"}', {}, True),
        ("POST", b'{"model": "gpt-4o-mini", "messages": []}', {}, False),
        ("POST", b"grant_type is mentioned in a text body", {}, False),
        ("GET", None, {"Upgrade": ["websocket"]}, False),  # a realtime session is billed
    ],
)
def test_which_requests_no_provider_bills(method: str, body: bytes | None, headers: dict, free: bool) -> None:  # type: ignore[type-arg]
    from pytest_llmops.spend.worst_case import unbilled

    assert unbilled(method, body, headers) is free
