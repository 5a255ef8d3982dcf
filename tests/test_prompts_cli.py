"""`pytest-llmops prompts ...` end to end, through `pytest_llmops.cli.main`."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from pytest_llmops.cli import main

DATA = Path(__file__).parent / "data" / "prompts"


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    """A copy of the stored prompts folder (the lock file goes beside it, in tmp_path)."""
    folder = tmp_path / "prompts"
    shutil.copytree(DATA, folder)
    return folder


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_list_table(prompts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "prompts", "list", "--dir", str(prompts))
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "VERSION", "SHA256", "CREATED", "BY", "FILE"]
    rag = next(line for line in lines if line.startswith("rag_qa_v2"))
    assert rag.split() == [
        "rag_qa_v2",
        "1.3.2",
        "(latest)",
        _short_hash(capsys, prompts, "rag_qa_v2@1.3.2"),
        "2026-01-15",
        "vsharma",
        f"{prompts / 'rag_qa_v2.yaml'}:2",
    ]
    assert "metadata: tested_on=500 examples, avg_accuracy=0.87, avg_tokens=1250" in out
    assert "chat; variables: max_words, ticket" in out
    assert "parameters: model=gpt-4o-mini, temperature=0, max_tokens=200" in out
    versions = [line.split()[1] for line in lines if line.startswith("summarize")]
    assert versions == ["1.0.0", "1.1.0", "2.0.0-rc.1"]
    assert "1.1.0 (latest)" in out and "2.0.0-rc.1 (latest)" not in out


def _short_hash(capsys: pytest.CaptureFixture[str], prompts: Path, ref: str) -> str:
    main(["prompts", "list", "--json", "--dir", str(prompts)])
    data = json.loads(capsys.readouterr().out)
    (entry,) = [p for p in data["prompts"] if p["ref"] == ref]
    return str(entry["sha256"][:12])


def test_list_json(prompts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "prompts", "--dir", str(prompts), "list", "--json")
    assert status == 0
    data = json.loads(out)
    assert data["errors"] == []
    refs = [p["ref"] for p in data["prompts"]]
    assert refs == ["rag_qa_v2@1.3.2", "summarize@1.0.0", "summarize@1.1.0", "summarize@2.0.0-rc.1"]
    rag = data["prompts"][0]
    assert rag["created_at"] == "2026-01-15" and rag["latest"] is True and rag["kind"] == "text"
    assert rag["metadata"]["avg_accuracy"] == 0.87
    assert rag["variables"] == ["context", "query"] and len(rag["sha256"]) == 64
    rc = data["prompts"][3]
    assert rc["prerelease"] is True and rc["latest"] is False
    assert rc["messages"][0] == {"role": "developer", "content": "Summarize the ticket in one sentence."}


def test_list_reports_errors_but_lists_valid_prompts(
    prompts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(prompts / "broken.yaml", "name: broken\nversion: 1.0\ntemplate: hi\n")
    status, out, err = run(capsys, "prompts", "list", "--dir", str(prompts))
    assert status == 2
    assert "rag_qa_v2" in out and "summarize" in out
    assert f"error: {bad}:2: invalid version '1.0': it needs three numbers, e.g. 1.0.0" in err
    assert "1 problem in prompt files" in err


def test_missing_folder_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "prompts", "list", "--dir", str(tmp_path / "nope"))
    assert (status, out) == (2, "")
    assert "prompts folder does not exist" in err and str(tmp_path / "nope") in err


def test_default_folder_is_prompts_in_cwd(
    prompts: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(prompts.parent)
    status, out, _ = run(capsys, "prompts", "list")
    assert status == 0 and "prompts/rag_qa_v2.yaml:2" in out


def test_diff(prompts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(
        capsys, "prompts", "diff", "summarize@1.0.0", "summarize@^1", "--dir", str(prompts)
    )
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"--- summarize@1.0.0 ({prompts / 'summarize' / '1.0.0.yaml'})"
    assert lines[1] == f"+++ summarize@1.1.0 ({prompts / 'summarize' / '1.1.0.yaml'})"
    assert [line for line in lines[2:] if line[:1] in "+-"] == ["-  model: gpt-4o-mini", "+  model: gpt-4o"]
    assert "   temperature: 0" in lines  # context lines


def test_diff_of_template_and_messages(prompts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys, "prompts", "diff", "summarize@1.1.0", "summarize@2.0.0-rc.1", "--dir", str(prompts)
    )
    assert status == 0
    assert "-messages[0] system:" in out and "+messages[0] developer:" in out
    assert "+  Summarize the ticket in one sentence." in out and "+\\ no newline at end" in out
    assert "-  max_tokens: 200" in out


def test_diff_same_content(prompts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (prompts / "rag_qa_v2.yaml").read_text().replace("1.3.2", "1.3.3").replace("0.87", "0.9")
    write(prompts / "rag_qa_v2_1.3.3.yaml", text)
    status, out, _ = run(
        capsys, "prompts", "diff", "rag_qa_v2@1.3.2", "rag_qa_v2@1.3.3", "--dir", str(prompts)
    )
    assert status == 0
    assert out.startswith("rag_qa_v2@1.3.2 and rag_qa_v2@1.3.3 have the same content (sha256 ")


def test_diff_unknown_version(prompts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "prompts", "diff", "summarize@1.0.0", "summarize@9", "--dir", str(prompts))
    assert (status, out) == (2, "")
    assert "prompt 'summarize' has no version matching '9'; versions: 1.0.0, 1.1.0, 2.0.0-rc.1" in err


def test_render_text_with_file_variable(
    prompts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    context = write(tmp_path / "ctx.txt", "Paris is in France. {not a variable}\n")
    status, out, err = run(
        capsys,
        "prompts",
        "render",
        "rag_qa_v2@1.3.2",
        "--var",
        f"context=@{context}",
        "--var",
        "query=@@home?",
        "--dir",
        str(prompts),
    )
    assert (status, err) == (0, "")
    assert "Context:\nParis is in France. {not a variable}\n\nQuestion: @home?\nAnswer:\n" in out
    assert out.startswith("You are a helpful assistant") and out.endswith("Answer:\n")


def test_render_chat(prompts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["prompts", "render", "summarize", "--var", "max_words=50", "--var", "ticket=Printer on fire"]
    status, out, _ = run(capsys, *argv, "--dir", str(prompts))
    assert status == 0
    assert out == (
        "[system]\nYou summarize support tickets in at most 50 words.\n"
        'Reply as JSON: {"summary": "...", "severity": "low|high"}\n\n'
        "[user]\nTicket:\nPrinter on fire\n"
    )
    status, out, _ = run(capsys, *argv, "--json", "--dir", str(prompts))
    assert status == 0
    assert json.loads(out)[1] == {"role": "user", "content": "Ticket:\nPrinter on fire"}


def test_render_missing_variable(prompts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(
        capsys, "prompts", "render", "rag_qa_v2", "--var", "query=q", "--dir", str(prompts)
    )
    assert (status, out) == (2, "")
    assert f"error: {prompts / 'rag_qa_v2.yaml'}:2: rag_qa_v2@1.3.2: missing variable 'context'" in err


@pytest.mark.parametrize("var", ["novalue", "1x=2", "ctx=@/does/not/exist.txt"])
def test_render_bad_var_is_usage_error(prompts: Path, capsys: pytest.CaptureFixture[str], var: str) -> None:
    with pytest.raises(SystemExit) as info:
        main(["prompts", "render", "rag_qa_v2", "--var", var, "--dir", str(prompts)])
    assert info.value.code == 2
    assert "--var" in capsys.readouterr().err


def test_render_var_twice(prompts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(
        capsys, "prompts", "render", "rag_qa_v2", "--var", "a=1", "--var", "a=2", "--dir", str(prompts)
    )
    assert status == 2 and "--var a is given twice" in err


def test_lock_then_check(prompts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lock = prompts.parent / "prompts.lock"
    status, out, _ = run(capsys, "prompts", "check", "--dir", str(prompts))
    assert status == 0 and "nothing is locked yet" in out
    status, _, err = run(capsys, "prompts", "check", "--strict", "--dir", str(prompts))
    assert status == 1 and "--strict: 4 versions not locked" in err

    status, out, err = run(capsys, "prompts", "lock", "--dir", str(prompts))
    assert (status, err) == (0, "")
    assert [line.split(" (")[0] for line in out.splitlines()] == [
        "locked rag_qa_v2@1.3.2",
        "locked summarize@1.0.0",
        "locked summarize@1.1.0",
        "locked summarize@2.0.0-rc.1",
    ]
    assert sorted(json.loads(lock.read_text())["prompts"]) == ["rag_qa_v2", "summarize"]

    status, out, _ = run(capsys, "prompts", "lock", "--dir", str(prompts))
    assert status == 0 and out == f"{lock} is up to date (4 locked versions)\n"
    status, out, err = run(capsys, "prompts", "check", "--strict", "--dir", str(prompts))
    assert (status, err) == (0, "")
    assert out == f"{lock}: 4 locked versions unchanged\n"


def test_changed_locked_version_fails_lock_and_check(
    prompts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = prompts.parent / "prompts.lock"
    assert run(capsys, "prompts", "lock", "--dir", str(prompts))[0] == 0
    before = lock.read_text()
    rag = prompts / "rag_qa_v2.yaml"
    rag.write_text(rag.read_text().replace("Answer:", "Final answer:"))
    write(prompts / "new.yaml", "name: new\nversion: 0.1.0\ntemplate: hi\n")

    status, out, err = run(capsys, "prompts", "check", "--dir", str(prompts))
    assert status == 1
    assert "not locked yet: new@0.1.0" in out
    assert f"error: {rag}:2: rag_qa_v2@1.3.2 changed after it was locked in {lock}" in err
    assert "bump `version:` (e.g. to 1.3.3)" in err

    status, out, err = run(capsys, "prompts", "lock", "--dir", str(prompts))
    assert status == 1
    assert out.startswith("locked new@0.1.0 (sha256 ")
    assert "rag_qa_v2@1.3.2 changed after it was locked" in err
    after = json.loads(lock.read_text())["prompts"]
    assert after["rag_qa_v2"] == json.loads(before)["prompts"]["rag_qa_v2"]  # never re-locked
    assert "new" in after


def test_deleted_locked_version_is_a_note(prompts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "prompts", "lock", "--dir", str(prompts))[0] == 0
    (prompts / "summarize" / "2.0.0-rc.1.yaml").unlink()
    status, out, err = run(capsys, "prompts", "check", "--dir", str(prompts))
    assert (status, err) == (0, "")
    assert "note: summarize@2.0.0-rc.1 is locked but no prompt file defines it any more" in out
    status, out, _ = run(capsys, "prompts", "lock", "--dir", str(prompts))
    assert status == 0 and "(kept; --prune drops it)" in out
    status, out, _ = run(capsys, "prompts", "lock", "--prune", "--dir", str(prompts))
    assert status == 0 and out == "dropped summarize@2.0.0-rc.1: no prompt file defines it any more\n"
    assert "2.0.0-rc.1" not in (prompts.parent / "prompts.lock").read_text()


def test_lock_refuses_invalid_prompt_files(prompts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(prompts / "bad.yaml", "name: bad\nversion: 1.0.0\ntemplate: '{x.y}'\n")
    status, out, err = run(capsys, "prompts", "lock", "--dir", str(prompts))
    assert (status, out) == (2, "")
    assert "'{x.y}' is not a variable" in err and "not updating" in err
    assert not (prompts.parent / "prompts.lock").exists()


def test_broken_lock_file_is_exit_2(prompts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (prompts.parent / "prompts.lock").write_text("{oops")
    for action in ("check", "lock"):
        status, _, err = run(capsys, "prompts", action, "--dir", str(prompts))
        assert status == 2 and "prompts.lock:1: invalid JSON" in err
