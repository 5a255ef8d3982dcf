"""The plugin as a user meets it: skipping, the marker, options, start-up."""

from __future__ import annotations

import pytest

from tests.conftest import python_output


def test_llm_tests_skip_without_llm_eval_saying_how_to_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.llm
        def test_llm():
            pass

        def test_plain():
            pass
        """
    )
    result = pytester.runpytest("-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*LLM test: run with `pytest --llm-eval`*llm_eval_default*"])


def test_ini_default_runs_llm_tests(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nllm_eval_default = true\n")
    pytester.makepyfile("import pytest\n@pytest.mark.llm\ndef test_llm():\n    pass\n")
    pytester.runpytest().assert_outcomes(passed=1)


def test_marker_is_registered_for_strict_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("import pytest\n@pytest.mark.llm\ndef test_llm():\n    pass\n")
    pytester.runpytest("--strict-markers").assert_outcomes(skipped=1)
    pytester.runpytest("--markers").stdout.fnmatch_lines(
        ["@pytest.mark.llm(**kwargs): an LLM evaluation test*"]
    )


@pytest.mark.parametrize("eval_flag", [[], ["--llm-eval"]])
def test_unknown_marker_keyword_is_a_collection_error(
    pytester: pytest.Pytester, eval_flag: list[str]
) -> None:
    pytester.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.llm(budget=1)
        def test_typo():
            pass

        def test_fine():
            pass
        """
    )
    result = pytester.runpytest(*eval_flag)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "*ERROR collecting test_bad.py*",
            "*test_bad.py::test_typo: unknown keyword 'budget'*Known keywords: cassette*budget_usd*",
        ]
    )


def test_marker_values_are_checked(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.llm(repeat=0)
        def test_zero():
            pass
        """
    )
    result = pytester.runpytest("--llm-eval")
    result.stdout.fnmatch_lines(
        ["*test_bad.py::test_zero: @pytest.mark.llm(repeat=0) must be a whole number >= 1*"]
    )


def test_bad_option_values_name_the_option(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--llm-record=sometimes")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--llm-record*invalid choice*'sometimes'*"])
    pytester.makeini("[pytest]\nllm_record_mode = sometimes\n")
    result = pytester.runpytest("--llm-eval")
    result.stderr.fnmatch_lines(
        ["*llm_record_mode = sometimes in *tox.ini is not valid; choose one of: none, once*"]
    )
    pytester.makeini("[pytest]\nllm_match_on = method verb\n")
    result = pytester.runpytest("--llm-eval")
    result.stderr.fnmatch_lines(["*llm_match_on in *: unknown match field(s) [[]'verb'[]]*"])


def test_importing_the_plugin_loads_no_sdk_or_http_library() -> None:
    code = (
        "import sys, pytest_llmops.plugin\n"
        "heavy = [m for m in ('openai', 'anthropic', 'vcr', 'httpx', 'httpx2', 'genai_prices', 'yaml', 'rapidfuzz',"
        " 'wordllama', 'numpy', 'scipy', 'aiohttp', 'requests', 'urllib3', 'botocore', 'litellm', 'ollama')"
        " if m in sys.modules]\n"
        "print(heavy)\n"
    )
    assert python_output(code) == "[]"


def test_a_plain_pytest_run_does_not_create_the_session(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import sys

        def test_plain(request):
            from pytest_llmops.plugin import SESSION
            assert SESSION not in request.config.stash
            assert "pytest_llmops.session" not in sys.modules
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


def test_an_llm_run_leaves_its_heap_to_the_os_at_exit(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an --llm-eval run the collector skips what is alive at exit (CPython's final collections
    over the SDKs' module graphs took 1.2-1.7 s); every other exit handler still runs. A run that never
    starts the plugin's session exits as plain pytest does."""
    pytester.makeconftest(
        """
        import atexit, gc, os

        # Registered before the plugin's handler, so it runs after it, as every earlier handler does.
        atexit.register(lambda: open(os.environ["EXIT_REPORT"], "w").write(str(gc.get_freeze_count())))
        """
    )
    pytester.makepyfile(test_llm="import pytest\n@pytest.mark.llm\ndef test_llm():\n    pass\n")
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    frozen = {}
    for args in (["test_plain.py"], ["test_llm.py", "--llm-eval"]):
        report = pytester.path / f"exit-{args[0]}.txt"
        monkeypatch.setenv("EXIT_REPORT", str(report))
        pytester.runpytest_subprocess(*args).assert_outcomes(passed=1)
        frozen[args[0]] = int(report.read_text())
    assert frozen["test_plain.py"] == 0
    assert frozen["test_llm.py"] > 1000
