"""files.write_atomic: the exact text, the folder made, the mode kept or the umask's, no temp file left."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_llmops.recording.files import write_atomic


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_new_file_in_a_missing_folder_gets_the_text_and_the_umasks_mode(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "c.yaml"
    text = "interactions:\n- café ✓\r\nend\n"
    write_atomic(path, text)
    assert path.read_bytes() == text.encode("utf-8")  # no newline translation, UTF-8
    if os.name != "nt":
        assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert os.listdir(path.parent) == ["c.yaml"]


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
def test_rewriting_keeps_the_files_mode(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    write_atomic(path, "one\n")
    os.chmod(path, 0o604)  # a mode the umask would not give
    write_atomic(path, "two\n")
    assert path.read_text() == "two\n"
    assert path.stat().st_mode & 0o777 == 0o604
    assert os.listdir(tmp_path) == ["c.yaml"]


def test_a_failed_rename_leaves_the_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.yaml"
    write_atomic(path, "old\n")

    def refuse(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(path, "new\n")
    assert path.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["c.yaml"]


def test_a_file_where_the_folder_should_be_raises(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("not a folder")
    with pytest.raises(OSError):
        write_atomic(tmp_path / "a" / "c.yaml", "x\n")
    assert os.listdir(tmp_path) == ["a"]
