"""Datasets parametrize tests, repeats run a body N times and replay each run's recordings in order."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from pytest_llmops.experiments.datasets import DatasetError, load


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_yaml_jsonl_and_csv_datasets_load_with_ids(tmp_path: Path) -> None:
    yaml_cases = load(
        write(
            tmp_path,
            "a.yaml",
            """
        - id: q1
          question: one?
        - question: two?
        """,
        )
    )
    assert [c.id for c in yaml_cases] == ["q1", "row2"] and yaml_cases[1]["question"] == "two?"
    wrapped = load(write(tmp_path, "w.yaml", "cases:\n  - {id: x, q: 1}\n"))
    assert wrapped[0].data == {"id": "x", "q": 1}
    jsonl = load(write(tmp_path, "b.jsonl", '{"id": "a b", "q": 1}\n\n{"q": 2}\n'))
    assert [c.id for c in jsonl] == ["a_b", "row2"]
    csv_cases = load(write(tmp_path, "c.csv", "id,question\nc1,hello\nc2,world\n"))
    assert [(c.id, c["question"]) for c in csv_cases] == [("c1", "hello"), ("c2", "world")]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad.yaml", "- id: a\n- [1, 2]\n", r"bad.yaml, row 2 \(line 2\): a case must be a mapping"),
        ("bad.yaml", "- id: a\n  q: [unclosed\n", r"bad.yaml, line 3: malformed YAML"),
        ("bad.jsonl", '{"id": 1}\n{"id": 2,\n', r"bad.jsonl, line 2: malformed JSON"),
        ("bad.csv", "id,q\na,1\nb,2,3\n", r"bad.csv, line 3: more values than the header"),
        (
            "dup.yaml",
            "- id: a\n- id: a\n",
            r"dup.yaml, row 2 \(line 2\): duplicate id 'a' \(first at row 1\)",
        ),
        ("empty.yaml", "[]\n", r"empty.yaml: the dataset has no rows"),
        ("x.txt", "a\n", r"unsupported dataset format '.txt'"),
    ],
)
def test_malformed_rows_name_the_file_and_row(tmp_path: Path, name: str, text: str, message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        load(write(tmp_path, name, text))


def test_dataset_parametrizes_and_a_bad_file_is_a_collection_error(pytester: pytest.Pytester) -> None:
    pytester.mkdir("data")
    (pytester.path / "data" / "golden.yaml").write_text("- id: paris\n  q: capital of France\n- q: 2+2\n")
    pytester.makepyfile(
        test_ds="""
        import pytest

        @pytest.mark.llm(dataset="data/golden.yaml")
        def test_case(llm_case):
            assert llm_case["q"]

        @pytest.mark.llm(dataset="data/missing.yaml")
        def test_missing(llm_case):
            pass
        """
    )
    result = pytester.runpytest("--llm-eval", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["*test_ds.py::test_missing: dataset file *missing.yaml does not exist*"])
    (pytester.path / "test_ds.py").write_text(
        (pytester.path / "test_ds.py").read_text().split('@pytest.mark.llm(dataset="data/missing')[0]
    )
    result = pytester.runpytest("--llm-eval", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines_random(["*test_case[[]paris[]] PASSED*", "*test_case[[]row2[]] PASSED*"])


REPEAT_SUITE = """
import os, pytest

@pytest.mark.llm(repeat=4, min_pass_rate=float(os.environ.get("MIN_RATE", "1.0")))
def test_joke(openai_client):
    r = openai_client.chat.completions.create(
        model="gpt-4o-mini", temperature=1.0, messages=[{"role": "user", "content": "Tell me a joke"}])
    text = r.choices[0].message.content
    print("RUN", text)
    assert not text.startswith(os.environ.get("FAIL_PREFIX", "\\0"))
"""


def test_repeats_record_then_replay_each_runs_own_response(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_pytester.makepyfile(test_rep=REPEAT_SUITE)
    first = llm_pytester.runpytest("--llm-eval", "--llm-record=once", "-s")
    first.assert_outcomes(passed=1)
    runs = [line.split("RUN", 1)[1] for line in first.outlines if "RUN " in line and "print(" not in line]
    assert len(runs) == 4 and len(set(runs)) > 1  # temperature 1: the runs differ
    for name in with_keys:
        monkeypatch.delenv(name)
    report = llm_pytester.path / "r.json"
    again = llm_pytester.runpytest("--llm-eval", "-s", f"--llm-report-json={report}")
    again.assert_outcomes(passed=1)
    assert [
        line.split("RUN", 1)[1] for line in again.outlines if "RUN " in line and "print(" not in line
    ] == runs
    [test] = json.loads(report.read_text())["tests"]
    assert test["runs"] == 4 and test["passed"] == 4


def test_min_pass_rate_decides_and_flaky_runs_are_reported(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_pytester.makepyfile(test_rep=REPEAT_SUITE)
    first = llm_pytester.runpytest("--llm-eval", "--llm-record=once", "-s")
    runs = [
        line.split("RUN", 1)[1].strip() for line in first.outlines if "RUN " in line and "print(" not in line
    ]
    for name in with_keys:
        monkeypatch.delenv(name)
    # Fail exactly the runs whose answer starts like the first run's answer.
    prefix = runs[0][:12]
    failing = sum(1 for r in runs if r.startswith(prefix))
    assert 0 < failing < 4
    monkeypatch.setenv("FAIL_PREFIX", prefix)
    strict = llm_pytester.runpytest("--llm-eval")
    strict.assert_outcomes(failed=1)
    strict.stdout.fnmatch_lines([f"*LLM repeat: {4 - failing}/4 runs passed, below min_pass_rate=1*"])
    monkeypatch.setenv("MIN_RATE", str((4 - failing) / 4))
    report = llm_pytester.path / "r.json"
    lenient = llm_pytester.runpytest("--llm-eval", f"--llm-report-json={report}")
    lenient.assert_outcomes(passed=1)
    data = json.loads(report.read_text())
    assert data["flaky"] == ["test_rep.py::test_joke"]


def test_llm_repeat_option_applies_to_every_llm_test(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_r="""
        import pytest
        COUNT = []

        @pytest.mark.llm
        def test_a():
            COUNT.append(1)

        @pytest.mark.llm(repeat=2)
        def test_b():
            COUNT.append(2)

        def test_after():
            assert COUNT.count(1) == 3 and COUNT.count(2) == 2
        """
    )
    llm_pytester.runpytest("--llm-eval", "--llm-repeat=3", "-p", "no:randomly").assert_outcomes(passed=3)


def test_variants_parametrize_every_row_under_every_variant(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.mkdir("prompts")
    (llm_pytester.path / "prompts" / "p1.yaml").write_text("name: qa\nversion: 1.0.0\ntemplate: 'Q: {q}'\n")
    (llm_pytester.path / "prompts" / "p2.yaml").write_text(
        "name: qa\nversion: 1.1.0\ntemplate: 'Question: {q}'\n"
    )
    (llm_pytester.path / "cases.jsonl").write_text('{"id": "a", "q": "x"}\n{"id": "b", "q": "y"}\n')
    llm_pytester.makepyfile(
        test_v="""
        import pytest

        @pytest.mark.llm(dataset="cases.jsonl", variants={
            "control": {"prompt": "qa@1.0.0", "model": "gpt-4o-mini"},
            "treatment": {"prompt": "qa@1.1.0", "model": "gpt-4o-mini", "temperature": 0.2}})
        def test_ab(llm_variant, llm_case):
            assert llm_variant.prompt.ref == llm_variant.config["prompt"]
            assert llm_variant.model == "gpt-4o-mini"
            if llm_variant.name == "treatment":
                assert llm_variant.params == {"temperature": 0.2}
            assert llm_variant.prompt.format(q=llm_case["q"])
        """
    )
    result = llm_pytester.runpytest("--llm-eval", "-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines_random(
        ["*test_ab[[]control-a[]] PASSED*", "*test_ab[[]treatment-b[]] PASSED*"]
    )


def test_named_variants_come_from_the_variants_file(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makeini("[pytest]\nllm_variants = variants.yaml\n")
    (llm_pytester.path / "variants.yaml").write_text(
        "variants:\n  small: {model: gpt-4o-mini}\n  big: {model: gpt-4o, max_tokens: 50}\n"
    )
    llm_pytester.makepyfile(
        test_v="""
        import pytest

        @pytest.mark.llm(variants=["small", "big"])
        def test_models(llm_variant):
            assert llm_variant.model.startswith("gpt-4o")

        @pytest.mark.llm(variants=["small", "huge"])
        def test_unknown(llm_variant):
            pass
        """
    )
    result = llm_pytester.runpytest("--llm-eval")
    result.stdout.fnmatch_lines(
        ["*test_v.py::test_unknown: unknown variant(s) [[]'huge'[]]; defined: small, big*"]
    )


PASS_MODE_SUITE = """
import os, pytest

RUNS = []

@pytest.mark.llm(repeat=3, pass_mode=os.environ["PASS_MODE"])
def test_sometimes():
    RUNS.append(1)
    assert len(RUNS) == int(os.environ["PASSING_RUN"]), "not this run"
"""


@pytest.mark.parametrize(
    ("mode", "passing_run", "outcome", "message"),
    [
        ("any", "2", "passed", None),
        ("any", "9", "failed", "*1/3*0/3 runs passed, pass_mode='any' (pass@k) needs at least one*"),
        ("all", "2", "failed", "*LLM repeat: 1/3 runs passed, pass^k needs every run to pass*"),
    ],
)
def test_pass_mode_any_is_pass_at_k_and_all_is_pass_hat_k(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    passing_run: str,
    outcome: str,
    message: str | None,
) -> None:
    monkeypatch.setenv("PASS_MODE", mode)
    monkeypatch.setenv("PASSING_RUN", passing_run)
    pytester.makepyfile(test_pm=PASS_MODE_SUITE)
    report = pytester.path / "r.json"
    result = pytester.runpytest("--llm-eval", "--llm-report-terminal=full", f"--llm-report-json={report}")
    result.assert_outcomes(**{outcome: 1})
    if message:
        result.stdout.fnmatch_lines([message.replace("*1/3*", "*")])
    [row] = json.loads(report.read_text())["repeats"]
    assert row["pass_at_k"] == (passing_run == "2") and row["pass_all_k"] is False
    assert row["rule"] == ("pass@k" if mode == "any" else "pass^k")
    result.stdout.fnmatch_lines(["*pass@k (one of k runs passed): *; pass^k (all k passed): 0/1*"])


def test_pass_mode_and_min_pass_rate_together_are_a_collection_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_both="""
        import pytest

        @pytest.mark.llm(repeat=3, pass_mode="any", min_pass_rate=0.5)
        def test_both():
            pass
        """
    )
    result = pytester.runpytest("--llm-eval")
    result.stdout.fnmatch_lines(["*takes pass_mode or min_pass_rate, not both*"])
