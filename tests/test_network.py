"""--llm-block-network: nothing leaves the machine during llm tests."""

from __future__ import annotations

import pytest


def test_non_loopback_connections_fail_at_once_during_llm_tests(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str]
) -> None:
    llm_pytester.makepyfile(
        test_net="""
        import socket, pytest

        @pytest.mark.llm
        def test_outbound():
            socket.create_connection(("192.0.2.1", 443), timeout=5)

        @pytest.mark.llm
        def test_loopback_is_fine(openai_client):
            openai_client.models.list()

        def test_not_an_llm_test():
            s = socket.socket()
            try:
                s.settimeout(0.01)
                s.connect_ex(("192.0.2.1", 9))  # not blocked: only llm tests are
            finally:
                s.close()
        """
    )
    result = llm_pytester.runpytest(
        "--llm-eval", "--llm-block-network", "--llm-record=all", "-p", "no:randomly"
    )
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*network access to 192.0.2.1:443 blocked by --llm-block-network*"])


def test_allowed_hosts_pass(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_net="""
        import socket, pytest

        @pytest.mark.llm
        def test_outbound():
            s = socket.socket()
            s.settimeout(0.01)
            try:
                s.connect_ex(("192.0.2.1", 9))
            finally:
                s.close()
        """
    )
    llm_pytester.runpytest(
        "--llm-eval", "--llm-block-network", "--llm-allowed-hosts=192.0.2.1"
    ).assert_outcomes(passed=1)


def test_replay_runs_send_nothing_to_providers_from_unmarked_tests(
    llm_pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "https://gateway.example.invalid/v1")
    llm_pytester.makepyfile(
        test_stray="""
        import pytest
        from openai import OpenAI

        def test_unmarked():
            OpenAI(max_retries=3).chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        """
    )
    result = llm_pytester.runpytest("--llm-eval")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*POST /v1/chat/completions to gateway.example.invalid was not sent: it comes from a test without*"]
    )
