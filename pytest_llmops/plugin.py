"""pytest entry point (`pytest11: llmops`). Wiring only: options, marker, fixtures, hooks.

Loaded in every pytest run of the environment, so it imports almost nothing:
the session (and with it cassettes, YAML, the SDKs, pricing, scorers) is
created only when `--llm-eval` is on or a collected test carries the `llm`
marker.
"""

from __future__ import annotations

import atexit
import gc
from typing import TYPE_CHECKING, Any

import pytest

from pytest_llmops import hookspecs, options

if TYPE_CHECKING:
    from pytest_llmops.session import LLMOpsSession

SESSION = pytest.StashKey["LLMOpsSession"]()
MARKER_LINE = (
    "llm(**kwargs): an LLM evaluation test (pytest-llmops), run with --llm-eval; see docs/configuration.md"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    options.register(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


_configured = 0
"""pytest runs configured in this process and not yet unconfigured: more than one under pytester's in-process
runs, whose sessions end while the outer one goes on."""


def pytest_configure(config: pytest.Config) -> None:
    global _configured
    _configured += 1
    config.addinivalue_line("markers", MARKER_LINE)
    if options.eval_requested(config):
        session_of(config)


def session_of(config: pytest.Config) -> LLMOpsSession:
    """The run's session object, created (and registered as a plugin) on first need."""
    session = config.stash.get(SESSION, None)
    if session is None:
        from pytest_llmops.session import LLMOpsSession
        from pytest_llmops.settings import Settings

        session = LLMOpsSession(config, Settings.from_config(config))
        config.stash[SESSION] = session
        config.pluginmanager.register(session, "llmops-session")
        session.start()
    return session


def pytest_unconfigure(config: pytest.Config) -> None:
    global _configured
    _configured = max(0, _configured - 1)
    session = config.stash.get(SESSION, None)
    if session is not None:
        session.stop(last_in_process=_configured == 0)
        config.pluginmanager.unregister(session)
        del config.stash[SESSION]
        _freeze_heap_at_exit()


_freeze_registered = False


def _freeze_heap_at_exit() -> None:
    """At interpreter exit, move what is still alive out of the cyclic garbage collector's sight.

    An llm run holds the SDKs' module graphs (the anthropic SDK alone is about 3,400 modules and
    170,000 objects), and CPython's finalization walks everything alive with three full collections:
    1.2-1.7 s of exit on 2 cores, the reference counting aside. Frozen objects are left to the OS, as
    they would be by `os._exit`, but nothing else changes: every other exit handler still runs (this
    one, registered at the end of the session, runs before those registered earlier), streams are
    flushed, the exit status is kept, objects freed by reference counting still run their finalizers,
    and pytest's own end-of-run collections (unraisable exceptions) have already run. Only reference
    cycles still alive at exit go unfinalized, which Python does not promise to finalize either.
    Registered once per process, so an in-process run (pytester) changes nothing until the process exits.
    """
    global _freeze_registered
    if not _freeze_registered:
        _freeze_registered = True
        atexit.register(gc.freeze)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("llm") is None:
        return
    from pytest_llmops.parametrize import generate

    generate(session_of(metafunc.config), metafunc)


@pytest.fixture
def llm_usage(request: pytest.FixtureRequest) -> Any:
    """The running llm test's calls and totals (tokens, cost, latency) for custom assertions."""
    from pytest_llmops import context
    from pytest_llmops.spend.usage import Usage

    ctx = context.current()
    if ctx is None or ctx.nodeid != request.node.nodeid:
        pytest.fail(
            f"{request.node.nodeid}: llm_usage needs an llm test: mark it @pytest.mark.llm and run with --llm-eval",
            pytrace=False,
        )
    return Usage(lambda: ctx.calls)


@pytest.fixture(scope="session")
def llm_prompts(request: pytest.FixtureRequest) -> Any:
    """The registry of versioned prompt files (ini llm_prompts_dir)."""
    return session_of(request.config).prompt_registry()


@pytest.fixture
def llm_prompt(request: pytest.FixtureRequest) -> Any:
    """The prompt version named by the test's marker (`prompt="name@version"`), one per parametrized case."""
    from pytest_llmops.parametrize import resolve_prompt

    return resolve_prompt(session_of(request.config), request)


@pytest.fixture
def llm_case(request: pytest.FixtureRequest) -> Any:
    """The dataset row of this test case (`dataset=` on the marker)."""
    from pytest_llmops.parametrize import resolve_case

    return resolve_case(request)


@pytest.fixture
def llm_conversation(request: pytest.FixtureRequest) -> Any:
    """Plays the dataset row's `conversation` turn by turn: `llm_conversation(reply)` -> Conversation,
    where `reply(history)` is your app's answer to the messages so far."""
    from pytest_llmops.parametrize import resolve_conversation

    return resolve_conversation(request)


@pytest.fixture
def llm_variant(request: pytest.FixtureRequest) -> Any:
    """The variant config of this test case (`variants=` on the marker)."""
    from pytest_llmops.parametrize import resolve_variant

    return resolve_variant(session_of(request.config), request)
