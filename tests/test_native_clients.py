"""grpc and pycurl open connections of their own (C code, past Python's sockets): a replay refuses them
before any connection is attempted, unless they go to loopback or an allowed host; recording notes them."""

from __future__ import annotations

import pytest

from pytest_llmops.recording.transports.native import grpc_hosts

GRPC_SUITE = """
import os, pytest, grpc

FAR = "192.0.2.1:443"  # TEST-NET-1: never answers, so a connection attempt would hang the test, not pass it


def echo_server():
    server = grpc.server(__import__("concurrent.futures").futures.ThreadPoolExecutor(2))
    handler = grpc.unary_unary_rpc_method_handler(lambda request, context: request[::-1])
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("echo.Echo", {"Say": handler})])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


@pytest.mark.llm
def test_loopback_channel_works():
    server, port = echo_server()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            assert channel.unary_unary("/echo.Echo/Say")(b"olleh", timeout=5) == b"hello"
    finally:
        server.stop(None)


@pytest.mark.llm
def test_far_secure_channel():
    grpc.secure_channel("dns:///us-central1-aiplatform.googleapis.com:443", grpc.ssl_channel_credentials())


@pytest.mark.llm
def test_far_insecure_channel():
    grpc.insecure_channel(FAR)


@pytest.mark.llm
def test_far_aio_channel():
    import asyncio
    async def go():
        grpc.aio.insecure_channel(FAR)
    asyncio.run(go())
"""


@pytest.fixture
def grpc_pytester(pytester: pytest.Pytester) -> pytest.Pytester:
    pytest.importorskip("grpc")
    return pytester


def test_replay_refuses_grpc_channels_that_leave_the_machine(grpc_pytester: pytest.Pytester) -> None:
    grpc_pytester.makepyfile(test_grpc=GRPC_SUITE)
    result = grpc_pytester.runpytest("--llm-eval", "-p", "no:randomly", "--llm-block-network")
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines_random(
        [
            "*a gRPC channel to dns:///us-central1-aiplatform.googleapis.com:443 from grpc was refused: "
            "test_grpc.py::test_far_secure_channel replays from its cassette, and grpc opens its own connections*"
            "Use the library's REST transport*api_transport=?rest?*",
            "*a gRPC channel to 192.0.2.1:443 from grpc was refused: test_grpc.py::test_far_insecure_channel*",
            "*a gRPC channel to 192.0.2.1:443 from grpc was refused: test_grpc.py::test_far_aio_channel*",
        ]
    )
    assert "--llm-allowed-hosts=192.0.2.1" in result.stdout.str()


def test_an_allowed_host_may_be_reached(grpc_pytester: pytest.Pytester) -> None:
    grpc_pytester.makepyfile(test_grpc=GRPC_SUITE)
    result = grpc_pytester.runpytest(
        "--llm-eval", "-p", "no:randomly", "--llm-allowed-hosts=192.0.2.1", "-k", "far_in"
    )
    result.assert_outcomes(passed=1)


def test_recording_warns_and_block_network_refuses_at_once(grpc_pytester: pytest.Pytester) -> None:
    grpc_pytester.makepyfile(test_grpc=GRPC_SUITE)
    warned = grpc_pytester.runpytest(
        "--llm-eval", "--llm-record=all", "-p", "no:randomly", "-k", "far_insecure"
    )
    warned.assert_outcomes(passed=1)
    warned.stdout.fnmatch_lines(
        ["*UnrecordedTrafficWarning: test_grpc.py::test_far_insecure_channel sent traffic the plugin did not "
         "record: 192.0.2.1:443 (from grpc)*"]
    )  # fmt: skip
    blocked = grpc_pytester.runpytest(
        "--llm-eval", "--llm-record=all", "--llm-block-network", "-p", "no:randomly", "-k", "far_insecure"
    )
    blocked.assert_outcomes(failed=1)
    blocked.stdout.fnmatch_lines(
        [
            "*network access to 192.0.2.1 (a gRPC channel to 192.0.2.1:443 from grpc) blocked by --llm-block-network*"
        ]
    )


def test_outside_llm_tests_a_replay_run_refuses_provider_channels(grpc_pytester: pytest.Pytester) -> None:
    grpc_pytester.makepyfile(
        test_unmarked="""
        import grpc

        def test_vertex():
            grpc.secure_channel("us-central1-aiplatform.googleapis.com:443", grpc.ssl_channel_credentials())

        def test_other_service():
            grpc.insecure_channel("192.0.2.1:443").close()
        """
    )
    result = grpc_pytester.runpytest("--llm-eval", "-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*from grpc was refused: it comes from a test without @pytest.mark.llm*"])


CURL_SUITE = """
import io, os, pytest, pycurl

@pytest.mark.llm
def test_loopback(llm_usage):
    curl, out = pycurl.Curl(), io.BytesIO()
    curl.setopt(pycurl.URL, os.environ["SIM_URL"] + "/health")
    curl.setopt(pycurl.WRITEDATA, out)
    curl.perform()
    assert curl.getinfo(pycurl.RESPONSE_CODE) in (200, 401, 404)

@pytest.mark.llm
def test_far():
    curl = pycurl.Curl()
    curl.setopt(pycurl.URL, "https://api.openai.com/v1/chat/completions")
    curl.setopt(pycurl.CONNECTTIMEOUT, 1)
    curl.perform()

@pytest.mark.llm
def test_far_multi():
    curl, multi = pycurl.Curl(), pycurl.CurlMulti()
    curl.setopt(pycurl.URL, "http://192.0.2.1/")
    multi.add_handle(curl)
"""


def test_replay_refuses_curl_transfers_that_leave_the_machine(llm_pytester: pytest.Pytester) -> None:
    pytest.importorskip("pycurl")
    llm_pytester.makepyfile(test_curl=CURL_SUITE)
    # In a process of its own: pytest-recording, loaded in this one, puts a stand-in for pycurl in sys.modules.
    result = llm_pytester.runpytest_subprocess("--llm-eval", "-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines_random(
        [
            "*a curl transfer to https://api.openai.com/v1/chat/completions from pycurl was refused*"
            "Send the call with an HTTP library the plugin records*",
            "*a curl transfer to http://192.0.2.1/ from pycurl was refused*",
        ]
    )


@pytest.mark.parametrize(
    ("target", "hosts"),
    [
        ("localhost:50051", ["localhost"]),
        ("[::1]:50051", ["::1"]),
        ("dns:///us-central1-aiplatform.googleapis.com:443", ["us-central1-aiplatform.googleapis.com"]),
        ("dns://8.8.8.8/localhost:1", ["localhost", "8.8.8.8"]),
        ("ipv4:127.0.0.1:5,10.0.0.1:6", ["127.0.0.1", "10.0.0.1"]),
        ("ipv6:[::1]:5", ["::1"]),
        ("unix:/tmp/grpc.sock", ["localhost"]),
        ("xds:///service", ["xds:///service"]),
    ],
)
def test_grpc_targets(target: str, hosts: list[str]) -> None:
    assert grpc_hosts(target) == hosts


def test_the_legacy_gemini_sdk_over_grpc_is_refused_with_the_fix(pytester: pytest.Pytester) -> None:
    """google-generativeai's default transport is gRPC: in a replay its first call fails with our message."""
    pytest.importorskip("google.generativeai")
    pytester.makepyfile(
        test_gemini="""
        import pytest
        import google.generativeai as genai

        @pytest.mark.llm
        def test_ask():
            genai.configure(api_key="AIza-replay-placeholder", transport="grpc")
            genai.GenerativeModel("gemini-2.0-flash").generate_content("Where is my order?")
        """
    )
    # A process of its own: protobuf's C extension cannot be imported twice in one.
    result = pytester.runpytest_subprocess("--llm-eval", "-p", "no:randomly")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*a gRPC channel to generativelanguage.googleapis.com* from grpc was refused: test_gemini.py::test_ask*"
        ]
    )
    assert 'transport="rest"' in result.stdout.str()
