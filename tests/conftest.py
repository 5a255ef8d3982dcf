from __future__ import annotations

# Import what inner pytester runs use before any of them starts: an in-process run restores sys.modules
# afterwards, so a module first imported inside one would be imported afresh by the next run, leaving
# the plugin session holding classes from the old copy (httpx2 streams, the current-test slot).
import contextlib
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import anthropic  # noqa: F401
import httpcore2  # noqa: F401
import httpx2  # noqa: F401
import openai  # noqa: F401
import pytest

import pytest_llmops.checks
import pytest_llmops.context
import pytest_llmops.recording.formats
import pytest_llmops.recording.transport
import pytest_llmops.session
import pytest_llmops.spend.pricing
import pytest_llmops.spend.providers
from pytest_llmops.simulator import ProviderSimulator

# The checks package loads its modules on first access; load them all now, for the reason above.
for _name in pytest_llmops.checks.__all__:
    getattr(pytest_llmops.checks, _name)

# C extensions cannot be imported twice in one process: load them here if an inner run might.
for _name in ("numpy", "scipy.stats", "jsonschema", "grpc", "grpc.aio", "pycurl"):
    with contextlib.suppress(ImportError):
        __import__(_name)


# Client fixtures for the inner test suites that pytester runs. Keys come from the environment, so a
# test decides whether a key exists (recording) or not (replay, where the plugin sets a placeholder).
INNER_CONFTEST = textwrap.dedent(
    """
    import os
    import pytest

    @pytest.fixture
    def openai_client():
        from openai import OpenAI
        return OpenAI(base_url=os.environ["SIM_URL"] + "/v1", max_retries=0)

    @pytest.fixture
    def async_openai_client():
        from openai import AsyncOpenAI
        return AsyncOpenAI(base_url=os.environ["SIM_URL"] + "/v1", max_retries=0)

    @pytest.fixture
    def anthropic_client():
        from anthropic import Anthropic
        return Anthropic(base_url=os.environ["SIM_URL"], max_retries=0)

    @pytest.fixture
    def async_anthropic_client():
        from anthropic import AsyncAnthropic
        return AsyncAnthropic(base_url=os.environ["SIM_URL"], max_retries=0)
    """
)


def python_output(code: str) -> str:
    """What `python -c code` prints, stripped, in a fresh interpreter (start-up imports, process-wide state);
    a failure raises CalledProcessError."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def fake_key(prefix: str = "sk-proj-") -> str:
    """A key-shaped string assembled at run time, so no key-like literal is committed."""
    return prefix + "".join(chr(ord("a") + (i * 7) % 26) for i in range(40))


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """pytester without plugins the inner runs don't need (hypothesis alone adds a second per run; langsmith
    comes with langchain and imports pydantic and orjson)."""
    monkeypatch.setenv(
        "PYTEST_ADDOPTS", "-p no:hypothesispytest -p no:cacheprovider -p no:recording -p no:langsmith_plugin"
    )
    return pytester


@pytest.fixture(scope="session")
def simulator() -> Iterator[ProviderSimulator]:
    with ProviderSimulator(idle_timeout_s=120) as sim:
        yield sim


@pytest.fixture
def sim(simulator: ProviderSimulator) -> ProviderSimulator:
    # A worker can go longer than the idle timeout between two simulator tests on a loaded machine;
    # the watchdog then stopped it, so start it again (on a new port: tests read sim.url).
    if not simulator.running:
        simulator.start()
    simulator.reset()
    return simulator


@pytest.fixture
def llm_pytester(
    pytester: pytest.Pytester, sim: ProviderSimulator, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    """A pytester whose inner suite has SDK client fixtures pointed at the simulator, and no API keys."""
    monkeypatch.setenv("SIM_URL", sim.url)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    pytester.makeconftest(INNER_CONFTEST)
    return pytester


@pytest.fixture
def with_keys(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Fake provider keys in the environment, as when recording for real."""
    keys = {"OPENAI_API_KEY": fake_key(), "ANTHROPIC_API_KEY": fake_key("sk-ant-api03-")}
    for name, value in keys.items():
        monkeypatch.setenv(name, value)
    return keys


def printed_results(result: pytest.RunResult) -> dict[str, dict[str, object]]:
    """What an inner suite printed as `RESULT <name> <json>` lines, by name."""
    found: dict[str, dict[str, object]] = {}
    for line in result.outlines:
        if "RESULT " in line:
            name, data = line.split("RESULT ", 1)[1].split(" ", 1)
            found[name] = json.loads(data)
    return found
