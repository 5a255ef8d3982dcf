"""Inside a pytest session the judge is asked only from llm tests, whose cassettes keep its calls."""

from __future__ import annotations

import pytest


def test_judge_outside_an_llm_test_is_a_clear_error(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makeini("[pytest]\nllm_judge = openai:gpt-4o-mini\n")
    llm_pytester.makepyfile(
        test_j="""
        from pytest_llmops import checks

        def test_unmarked():
            checks.relevance("What is the capital of France?", "Paris is the capital of France.")
        """
    )
    result = llm_pytester.runpytest("--llm-eval")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*the LLM judge (openai:gpt-4o-mini) is asked only from llm tests*@pytest.mark.llm*"]
    )


def test_bad_judge_band_names_the_ini_key(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nllm_judge_band = 0.8,0.2\n")
    result = pytester.runpytest("--llm-eval")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*llm_judge_band = 0.8,0.2 in *: '0.8,0.2' must satisfy 0 <= low <= high <= 1*"]
    )


def test_the_judge_marker_overrides_the_ini_judge_for_one_test(
    pytester: pytest.Pytester, with_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_llmops.simulator import ProviderSimulator
    from pytest_llmops.simulator.judge_responder import with_judge

    with ProviderSimulator(responder=with_judge()) as sim:
        monkeypatch.setenv("OPENAI_BASE_URL", sim.openai_base_url)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", sim.anthropic_base_url)
        pytester.makeini("[pytest]\nllm_judge = openai:gpt-4o-mini\n")
        pytester.makepyfile(
            test_j="""
            import pytest
            from pytest_llmops import checks

            Q, A = "What is the capital of France?", "Paris is the capital of France."

            @pytest.mark.llm(judge="anthropic:claude-haiku-4-5")
            def test_anthropic_judge():
                score = checks.relevance(Q, A)
                assert score.scorer == "judge:anthropic:claude-haiku-4-5"

            @pytest.mark.llm
            def test_ini_judge():
                assert checks.relevance(Q, A).scorer == "judge:openai:gpt-4o-mini"
            """
        )
        pytester.runpytest("--llm-eval", "--llm-record=once", "-p", "no:randomly").assert_outcomes(passed=2)
        assert [r.path for r in sim.requests] == ["/v1/messages", "/v1/chat/completions"]


def test_a_budget_cannot_be_held_for_an_unpriced_model(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str]
) -> None:
    llm_pytester.makepyfile(
        test_u="""
        import pytest

        @pytest.mark.llm(budget_usd=1.0)
        def test_private(openai_client):
            openai_client.chat.completions.create(model="acme-private-7b", messages=[{"role": "user", "content": "hi"}])
        """
    )
    result = llm_pytester.runpytest("--llm-eval", "--llm-record=once")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*budget_usd: cost unknown, no price for acme-private-7b*add the model to the llm_prices file*"]
    )
