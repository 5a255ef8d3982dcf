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


def test_name_lookups_and_datagrams_are_blocked_too(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_net="""
        import asyncio, socket, pytest

        @pytest.mark.llm
        @pytest.mark.parametrize("lookup", [
            lambda: socket.getaddrinfo("api.example.com", 443),
            lambda: socket.gethostbyname("api.example.com"),
            lambda: socket.gethostbyname_ex("api.example.com"),
            lambda: socket.getnameinfo(("192.0.2.1", 443), 0),
            lambda: socket.gethostbyaddr("192.0.2.1"),
            lambda: asyncio.run(_resolve()),
        ], ids=["getaddrinfo", "gethostbyname", "gethostbyname_ex", "getnameinfo", "gethostbyaddr", "asyncio"])
        def test_lookup(lookup):
            lookup()

        async def _resolve():
            return await asyncio.get_running_loop().getaddrinfo("api.example.com", 443)

        @pytest.mark.llm
        @pytest.mark.parametrize("send", ["sendto", "sendto_flags", "sendmsg", "connect"])
        def test_udp(send):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                if send == "sendto":
                    s.sendto(b"x", ("192.0.2.1", 53))
                elif send == "sendto_flags":
                    s.sendto(b"x", 0, ("192.0.2.1", 53))
                elif send == "sendmsg":
                    s.sendmsg([b"x"], [], 0, ("192.0.2.1", 53))
                else:
                    s.connect(("192.0.2.1", 53))
            finally:
                s.close()

        @pytest.mark.llm
        def test_loopback_stays_reachable():
            assert socket.getaddrinfo("localhost", 80)
            assert socket.gethostbyname("127.0.0.1") == "127.0.0.1"
            socket.getnameinfo(("127.0.0.1", 80), 0)
            receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            receiver.bind(("127.0.0.1", 0))
            sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                sender.sendto(b"ping", receiver.getsockname())
                assert receiver.recv(4) == b"ping"
            finally:
                sender.close()
                receiver.close()

        def test_not_an_llm_test():
            # --llm-block-network's patch is gone after llm tests; the replay guard stays for unmarked tests
            assert socket.getaddrinfo.__module__ in ("socket", "pytest_llmops.recording.guard")
        """
    )
    result = llm_pytester.runpytest("--llm-eval", "--llm-block-network", "-p", "no:randomly", "-rf")
    result.assert_outcomes(passed=2, failed=10)
    out = result.stdout.str()
    # Refused by --llm-block-network, or first by the replay guard when its patch sits on top (both fail closed).
    assert (
        out.count("api.example.com (name lookup) blocked by --llm-block-network")
        + out.count("a name lookup of api.example.com")
        >= 4
    )
    assert out.count("192.0.2.1 (reverse name lookup) blocked") >= 2
    assert out.count("192.0.2.1:53 (datagram) blocked") >= 3
    assert "network access to 192.0.2.1:53 blocked" in out or "a connection to 192.0.2.1:53" in out
    assert "Traceback" not in out
