"""Bad input ends in one clean error naming the file (and line) and the fix: never a traceback."""

from __future__ import annotations

import pytest

FORBIDDEN = ("Traceback", "INTERNALERROR", "KeyError", "UnicodeDecodeError")


def assert_clean(result: pytest.RunResult) -> str:
    out = result.stdout.str() + result.stderr.str()
    for word in FORBIDDEN:
        assert word not in out, f"{word!r} in the output:\n{out}"
    return out


LLM_TESTS = """
import pytest

@pytest.mark.llm
def test_a():
    pass

@pytest.mark.llm
def test_b():
    pass
"""


UNREADABLE = [
    ("test_a.yaml", b"interactions: [\n  - {bad", ":2:"),
    ("test_a.json", b'{"interactions": [ {"request": ', ":1"),
    ("test_a.yaml", b"interactions:\n- response: {status: 200}\n", None),
    ("test_a.yaml", b"\x00\x01\x02\xff\xfe binary", None),
]
UNREADABLE_IDS = ["invalid-yaml", "invalid-json", "missing-field", "binary"]

# test_a sends a request, and swallows every Exception as an app's retry loop would.
SENDING_TESTS = """
import pytest

@pytest.mark.llm
def test_a():
    import httpx

    try:
        httpx.post("http://127.0.0.1:9/v1/chat/completions", json={"model": "m", "messages": []})
    except Exception:
        pass

@pytest.mark.llm
def test_b():
    pass
"""


def _broken_cassette(pytester: pytest.Pytester, tests: str, name: str, content: bytes) -> None:
    pytester.makepyfile(
        test_c=tests.replace(
            "@pytest.mark.llm\ndef test_a", f'@pytest.mark.llm(cassette="test_c/{name}")\ndef test_a'
        )
    )
    folder = pytester.path / "cassettes" / "test_c"
    folder.mkdir(parents=True)
    (folder / name).write_bytes(content)


@pytest.mark.parametrize(("name", "content", "line"), UNREADABLE, ids=UNREADABLE_IDS)
def test_an_unreadable_cassette_fails_the_request_that_needs_it_once(
    pytester: pytest.Pytester, name: str, content: bytes, line: str | None
) -> None:
    """Replaying, a cassette is read on the test's first request: a broken one fails that test, with our
    message, even though the app swallows the exception; the other test is untouched."""
    _broken_cassette(pytester, SENDING_TESTS, name, content)
    result = pytester.runpytest("--llm-eval", "-p", "no:randomly", "-p", "no:xdist")
    result.assert_outcomes(failed=1, passed=1)
    out = assert_clean(result)
    failures = out.split("short test summary info")[0]  # the summary repeats it in full when CI is set
    assert failures.count("Fix the file, or record it again") == 1  # one failure: later uses raise it again
    assert "ERROR at" not in out
    assert "test_c.py::test_a (error)" in out  # not a failed check: no baseline from this run
    result.stdout.fnmatch_lines(
        [
            f"*cannot read cassette *{name}*",
            "*record it again: pytest --llm-eval --llm-record=rewrite*",
            "*FAILED test_c.py::test_a*",
        ]
    )
    if line:
        assert f"{name}{line}" in out


@pytest.mark.parametrize(("name", "content", "line"), UNREADABLE, ids=UNREADABLE_IDS)
def test_an_unreadable_cassette_is_one_error_for_its_test_only_when_recording(
    pytester: pytest.Pytester, name: str, content: bytes, line: str | None
) -> None:
    """Recording (`once`), whether the file exists decides what the test does: it is read when the test
    starts, and a broken one is one setup error, even for a test that sends nothing."""
    _broken_cassette(pytester, LLM_TESTS, name, content)
    result = pytester.runpytest("--llm-eval", "--llm-record=once", "-p", "no:randomly")
    result.assert_outcomes(errors=1, passed=1)
    out = assert_clean(result)
    assert out.count("ERROR at setup of test_a") == 1
    assert "ERROR at teardown" not in out
    result.stdout.fnmatch_lines(
        [f"*cannot read cassette *{name}*", "*record it again: pytest --llm-eval --llm-record=rewrite*"]
    )
    if line:
        assert f"{name}{line}" in out


def test_an_unreadable_cassette_of_a_test_that_sends_nothing_is_not_read(pytester: pytest.Pytester) -> None:
    """Replaying, a test that makes no request does not need its cassette: it is not read."""
    _broken_cassette(pytester, LLM_TESTS, "test_a.yaml", b"interactions: [\n  - {bad")
    result = pytester.runpytest("--llm-eval", "-p", "no:randomly")
    result.assert_outcomes(passed=2)
    assert "cannot read cassette" not in assert_clean(result)


def test_a_corrupt_prompts_lock_is_a_usage_error_naming_it(pytester: pytest.Pytester) -> None:
    pytester.mkdir("prompts")
    (pytester.path / "prompts" / "qa.yaml").write_text(
        'name: qa\nversion: 1.0.0\ntemplate: "Answer {question}"\n'
    )
    (pytester.path / "prompts.lock").write_text('{"lockfile_version": 1,\n "prompts": {')
    pytester.makepyfile(test_p=LLM_TESTS)
    result = pytester.runpytest("--llm-eval")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    out = assert_clean(result)
    assert "prompts.lock:2: invalid JSON" in out and "--llm-lock-prompts" in out


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_non_utf8_csv_dataset_names_the_file_line_and_byte(
    pytester: pytest.Pytester, xdist: list[str]
) -> None:
    pytester.mkdir("data")
    (pytester.path / "data" / "cases.csv").write_bytes(
        b"id,q\nparis,capital of France\ncafe,caf\xe9 au lait\n"
    )
    pytester.makepyfile(
        test_d="""
        import pytest

        @pytest.mark.llm(dataset="data/cases.csv")
        def test_case(llm_case):
            pass
        """
    )
    result = pytester.runpytest("--llm-eval", *xdist)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    out = assert_clean(result)
    assert "cases.csv, line 3: not UTF-8 text (byte 37" in out and "Save the file as UTF-8" in out


def test_a_bad_price_file_stops_the_session_before_any_test(pytester: pytest.Pytester) -> None:
    (pytester.path / "prices.yaml").write_text("models:\n  m:\n    input: cheap\n    output: 1\n")
    pytester.makeini("[pytest]\nllm_prices = prices.yaml\n")
    pytester.makepyfile(test_x=LLM_TESTS)
    result = pytester.runpytest("--llm-eval")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    out = assert_clean(result)
    assert "prices.yaml:3: models.m.input" in out and "Fix:" in out
    assert "passed" not in out


def test_a_bad_variants_file_is_only_the_clear_message(pytester: pytest.Pytester) -> None:
    (pytester.path / "variants.yaml").write_text("variants:\n  a:\n    model: [\n")
    pytester.makeini("[pytest]\nllm_variants = variants.yaml\n")
    pytester.makepyfile(
        test_v="""
        import pytest

        @pytest.mark.llm(variants=["a"])
        def test_v(llm_variant):
            pass
        """
    )
    result = pytester.runpytest("--llm-eval")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    out = assert_clean(result)
    assert "variants.yaml, line 4: malformed YAML" in out and "Fix the file" in out


PROMPT_TEST = """
import pytest

@pytest.mark.llm(prompt="qa@1.0.0")
def test_p(llm_prompt):
    pass

def test_plain():
    pass
"""


def test_a_typo_in_a_prompt_file_does_not_break_a_plain_run(pytester: pytest.Pytester) -> None:
    pytester.mkdir("prompts")
    (pytester.path / "prompts" / "qa.yaml").write_text(
        'name: qa\nversion: 1.0.0\ntemplate: "Answer {question}\n'
    )
    pytester.makepyfile(test_p=PROMPT_TEST)
    plain = pytester.runpytest()
    plain.assert_outcomes(passed=1, skipped=1)  # without --llm-eval prompts are not even read
    assert_clean(plain)
    result = pytester.runpytest("--llm-eval")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    out = assert_clean(result)
    assert "prompts/qa.yaml:4: invalid YAML" in out and "Fix the file" in out


def test_a_missing_prompts_folder_suggests_the_ini_option(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nllm_prompts_dir = promts\n")
    pytester.makepyfile(test_p=PROMPT_TEST)
    result = pytester.runpytest("--llm-eval")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    out = assert_clean(result)
    assert "promts does not exist. Set llm_prompts_dir in " in out
    assert "--dir" not in out
