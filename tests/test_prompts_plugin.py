"""Versioned prompts inside pytest: fixtures, parametrization by version, call tagging, the lock gate."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data" / "prompts"


def prompt_file(name: str, version: str, template: str, **extra: str) -> str:
    body = textwrap.indent(template, "  ")
    lines = [f"name: {name}", f"version: {version}", "template: |", body]
    lines += [f"{k}: {v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def prompts_project(llm_pytester: pytest.Pytester) -> pytest.Pytester:
    folder = llm_pytester.mkdir("prompts")
    (folder / "rag_qa_v2.yaml").write_text((DATA / "rag_qa_v2.yaml").read_text())  # the file, as is
    (folder / "qa_1.0.0.yaml").write_text(prompt_file("qa", "1.0.0", "Answer briefly: {question}"))
    (folder / "qa_1.1.0.yaml").write_text(
        prompt_file("qa", "1.1.0", "Answer briefly and politely: {question}", metadata="{avg_accuracy: 0.9}")
    )
    (folder / "qa_2.0.0-rc.1.yaml").write_text(prompt_file("qa", "2.0.0-rc.1", "Draft: {question}"))
    return llm_pytester


def test_llm_prompt_fixture_and_version_parametrization(prompts_project: pytest.Pytester) -> None:
    prompts_project.makepyfile(
        test_p="""
        import pytest

        @pytest.mark.llm(prompt="rag_qa_v2@1.3.2")
        def test_exact(llm_prompt, llm_prompts):
            assert llm_prompt.ref == "rag_qa_v2@1.3.2"
            assert llm_prompt.metadata["avg_accuracy"] == 0.87
            text = llm_prompt.format(context="[Source: a] Paris is in France.", query="Where is Paris?")
            assert "Question: Where is Paris?" in text and "[Source: X]" in text
            assert llm_prompts.get("qa").version == "1.1.0"

        @pytest.mark.llm(prompt="qa@*")
        def test_every_version(llm_prompt):
            assert llm_prompt.name == "qa"

        @pytest.mark.llm(prompt="qa@^1.0")
        def test_range(llm_prompt):
            pass
        """
    )
    result = prompts_project.runpytest("--llm-eval", "-v")
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines_random(
        [
            "*test_p.py::test_exact PASSED*",
            "*test_p.py::test_every_version[[]qa@1.0.0[]] PASSED*",
            "*test_p.py::test_every_version[[]qa@1.1.0[]] PASSED*",
            "*test_p.py::test_range[[]qa@1.0.0[]] PASSED*",
            "*test_p.py::test_range[[]qa@1.1.0[]] PASSED*",
        ]
    )


def test_unknown_prompt_is_a_collection_error_listing_what_exists(prompts_project: pytest.Pytester) -> None:
    prompts_project.makepyfile(
        test_p="""
        import pytest

        @pytest.mark.llm(prompt="qa@3.0.0")
        def test_missing_version(llm_prompt):
            pass
        """
    )
    result = prompts_project.runpytest("--llm-eval")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "*test_p.py::test_missing_version: prompt 'qa' has no version matching '3.0.0'; versions: 1.0.0, 1.1.0*"
        ]
    )
    prompts_project.makepyfile(
        test_p="""
        import pytest

        @pytest.mark.llm(prompt="nope@1.0.0")
        def test_missing_name(llm_prompt):
            pass
        """
    )
    result = prompts_project.runpytest("--llm-eval")
    result.stdout.fnmatch_lines(["*test_p.py::test_missing_name*nope*qa*rag_qa_v2*"])


def test_calls_are_tagged_with_the_prompt_version(
    prompts_project: pytest.Pytester, with_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts_project.makepyfile(
        test_p="""
        import pytest

        @pytest.mark.llm(prompt="qa@*")
        def test_ask(llm_prompt, openai_client):
            openai_client.chat.completions.create(
                model="gpt-4o-mini", messages=llm_prompt.messages(question="What is 2+2?"))
        """
    )
    prompts_project.runpytest("--llm-eval", "--llm-record=once").assert_outcomes(passed=2)
    for name in with_keys:
        monkeypatch.delenv(name)
    report = prompts_project.path / "report.json"
    prompts_project.runpytest("--llm-eval", f"--llm-report-json={report}").assert_outcomes(passed=2)
    data = json.loads(report.read_text())
    text = json.dumps(data)
    assert "qa@1.0.0" in text and "qa@1.1.0" in text
    # The report groups by prompt version, with the declared metadata beside the measured figures.
    assert "avg_accuracy" in text


def test_changing_a_locked_version_fails_the_session_before_tests_run(
    prompts_project: pytest.Pytester,
) -> None:
    prompts_project.makepyfile(test_p="def test_x():\n    pass\n")
    result = prompts_project.runpytest("--llm-eval", "--llm-lock-prompts")
    result.assert_outcomes(passed=1)
    lock = prompts_project.path / "prompts.lock"
    assert lock.is_file() and "qa" in lock.read_text()
    edited = prompts_project.path / "prompts" / "qa_1.0.0.yaml"
    edited.write_text(prompt_file("qa", "1.0.0", "Answer at length: {question}"))
    result = prompts_project.runpytest("--llm-eval")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*qa_1.0.0.yaml:1: qa@1.0.0 changed after it was locked*locked sha256 *, now *bump*"]
    )
    assert "passed" not in result.stdout.str()
    # Metadata is not part of the hash: editing it is fine.
    edited.write_text(prompt_file("qa", "1.0.0", "Answer briefly: {question}", metadata="{note: reviewed}"))
    prompts_project.runpytest("--llm-eval").assert_outcomes(passed=1)


def test_a_broken_prompt_file_is_a_usage_error_naming_file_and_line(prompts_project: pytest.Pytester) -> None:
    (prompts_project.path / "prompts" / "bad.yaml").write_text(
        "name: bad\nversion: 1.0\ntemplate: [unclosed\n"
    )
    prompts_project.makepyfile(
        test_p="""
        import pytest

        @pytest.mark.llm(prompt="qa@1.0.0")
        def test_x(llm_prompt):
            pass
        """
    )
    result = prompts_project.runpytest("--llm-eval")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*1 problem(s) in prompt files under*", "*bad.yaml:*: invalid YAML*line*"])
