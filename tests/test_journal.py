"""The journal and the cassette's merge-save as pure file operations (no pytest run, no network)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_llmops.recording.cassette import Cassette, CassetteWriteError, RecordMode
from pytest_llmops.recording.formats import dump_interactions, load_interactions
from pytest_llmops.recording.interactions import (
    Interaction,
    InteractionMeta,
    RecordedRequest,
    RecordedResponse,
)
from pytest_llmops.recording.journal import Journal, dumps_line, find_journals, read_journal, recover
from pytest_llmops.recording.matching import Matcher
from pytest_llmops.recording.secrets import Scrubber, SecretLeakError
from tests.conftest import fake_key


def interaction(
    text: str, *, body: bytes | None = None, content_type: str = "application/json"
) -> Interaction:
    return Interaction(
        request=RecordedRequest(
            "POST",
            "https://api.openai.com/v1/chat/completions",
            {"content-type": ["application/json"], "authorization": ["Bearer secret-value"]},
            f'{{"model": "gpt-4o-mini", "messages": [{{"role": "user", "content": "{text}"}}]}}'.encode(),
        ),
        response=RecordedResponse(
            200, "OK", {"content-type": [content_type]}, body if body is not None else b'{"ok": true}'
        ),
        meta=InteractionMeta(recorded_at="2026-01-01T00:00:00.000000Z", latency_ms=12.0),
    )


def cassette(path: Path, mode: RecordMode = RecordMode.ONCE) -> Cassette:
    return Cassette(path, mode, Matcher.build(["method", "path", "body"], []), Scrubber())


def test_every_interaction_is_in_the_journal_scrubbed_before_the_cassette_is_written(tmp_path: Path) -> None:
    path = tmp_path / "c" / "t.yaml"
    c = cassette(path)
    c.prepare_live()
    c.add(interaction("a"))
    c.add(interaction("b", body=b"\xff\xfe binary", content_type="application/octet-stream"))
    content = read_journal(c.journal.path)
    assert content.cassette_name == "t.yaml" and content.skipped_lines == 0
    assert [x.request.json()["messages"][0]["content"] for x in content.interactions] == ["a", "b"]  # type: ignore[union-attr]
    assert content.interactions[1].response.body == b"\xff\xfe binary"
    assert "authorization" not in content.interactions[0].request.headers  # type: ignore[union-attr]
    assert not path.exists()
    assert c.save() and c.saved == 2
    assert not c.journal.path.exists() and len(load_interactions(path)) == 2


def test_a_credential_never_reaches_the_journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = fake_key()
    monkeypatch.setenv("OPENAI_API_KEY", key)
    c = cassette(tmp_path / "t.yaml")
    c.prepare_live()
    c.add(interaction("clean"))
    c.add(interaction("leaky", body=f'{{"echo": "{key}"}}'.encode()))
    assert not c.journal.path.exists()  # the whole run's recordings are refused, the journal with them
    with pytest.raises(SecretLeakError, match=r"interactions\[1\]\.response\.body contains the value"):
        c.check_secrets()
    with pytest.raises(SecretLeakError):
        c.prepare_live()  # and nothing more is sent for this test
    assert not c.save() and not (tmp_path / "t.yaml").exists()


def test_a_credential_in_the_metadata_never_reaches_the_journal(tmp_path: Path) -> None:
    """The one scan per interaction covers its metadata: a client error quoting a URL with a key in it."""
    c = cassette(tmp_path / "t.yaml")
    c.prepare_live()
    broken = interaction("cut")
    broken.meta.truncated = True
    broken.meta.error = {"type": "RemoteProtocolError", "message": f"peer closed https://x/?key={fake_key()}"}
    c.add(broken)
    assert not c.journal.path.exists()
    with pytest.raises(SecretLeakError, match=r"interactions\[0\]\.metadata contains an API-key-shaped"):
        c.check_secrets()


def test_a_cut_off_last_line_is_skipped_and_counted(tmp_path: Path) -> None:
    j = Journal(tmp_path / "t.yaml")
    j.open()
    j.append_line(dumps_line(interaction("a")))
    j.close()
    with open(j.path, "a", encoding="utf-8") as handle:
        handle.write(dumps_line(interaction("b"))[:40])
    content = read_journal(j.path)
    assert len(content.interactions) == 1 and content.skipped_lines == 1


def test_recover_merges_leftovers_but_not_a_journal_a_live_writer_holds(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(dump_interactions([interaction("old")]))
    dead = Journal(path)
    dead.open()
    dead.append_line(dumps_line(interaction("dead")))
    dead.close()  # its writer is gone: the lock went with it
    alive = Journal(path)
    alive.open()
    alive.append_line(dumps_line(interaction("alive")))
    other = Journal(tmp_path / "t.yaml.other.yaml")  # a name that starts like this cassette's
    other.open()
    other.close()
    done = recover(path)
    assert [(r.journal, r.interactions) for r in done] == [(dead.path, 1)]
    assert [x.request.json()["messages"][0]["content"] for x in load_interactions(path)] == ["old", "dead"]  # type: ignore[union-attr]
    assert find_journals(path) == [alive.path]
    alive.close()
    assert [r.interactions for r in recover(path)] == [1]
    assert len(load_interactions(path)) == 3 and other.path.exists()


@pytest.mark.parametrize("name", ["t.yaml", "t[1]*?.yaml", "a b.json"])
def test_find_journals_lists_only_this_cassettes_journals_oldest_first(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    assert find_journals(path) == []
    assert find_journals(tmp_path / "missing" / name) == []
    first, second = Journal(path), Journal(path)
    first.open()
    second.open()
    for stray in (f"{name}.journal", f"{name}x.1.journal", f"x{name}.1.journal", f"{name}.1.journal.bak"):
        (tmp_path / stray).write_text("")
    (tmp_path / f"{name}.folder.journal").mkdir()
    empty_writer = tmp_path / f"{name}..journal"  # `<cassette>.<writer>.journal` with an empty writer
    empty_writer.write_text("")
    for age, journal in enumerate((second.path, empty_writer, first.path)):
        os.utime(journal, ns=(age + 1, age + 1))
    assert find_journals(path) == [second.path, empty_writer, first.path]
    first.close()
    second.close()


def test_save_appends_to_what_another_writer_put_in_the_file_meanwhile(tmp_path: Path) -> None:
    path = tmp_path / "shared.yaml"
    first, second = cassette(path, RecordMode.NEW_EPISODES), cassette(path, RecordMode.NEW_EPISODES)
    for c, text in ((first, "one"), (second, "two")):
        c.prepare_live()
        c.add(interaction(text))
    assert first.save() and second.save()
    assert sorted(x.request.json()["messages"][0]["content"] for x in load_interactions(path)) == [
        "one",
        "two",
    ]  # type: ignore[union-attr]


def test_a_folder_that_cannot_be_written_is_refused_before_sending(tmp_path: Path) -> None:
    (tmp_path / "blocked").write_text("a file where the folder should be")
    c = cassette(tmp_path / "blocked" / "t.yaml")
    with pytest.raises(CassetteWriteError, match=r"cannot record into cassette .*t\.yaml: .*not sent"):
        c.prepare_live()
    assert c.write_error is not None
    assert not c.save()


def test_journal_lines_reach_the_os_at_once_and_a_kept_journal_is_fsynced_on_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each line is with the OS when `append_line` returns (it survives a kill); fsync is batched:
    none per line, the file and its folder when a journal is kept (closed), none when it is discarded."""
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    j = Journal(tmp_path / "t.yaml")
    j.open()
    j.append_line(dumps_line(interaction("a")))
    j.append_line(dumps_line(interaction("b")))
    assert synced == []
    content = read_journal(j.path)  # another reader, as the next run after a kill
    assert [x.request.json()["messages"][0]["content"] for x in content.interactions] == ["a", "b"]  # type: ignore[union-attr]
    j.close()
    assert len(synced) == 2  # the file, and the folder (the file's name)
    assert j.path.exists()
    synced.clear()
    k = Journal(tmp_path / "u.yaml")
    k.open()
    k.append_line(dumps_line(interaction("c")))
    k.discard()
    assert synced == []
    assert not k.path.exists()


def test_a_folder_is_listed_again_only_when_it_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.yaml"
    old = Journal(path)
    old.open()
    old.close()
    listed: list[str] = []
    real_listdir = os.listdir

    def listdir(folder: str) -> list[str]:
        listed.append(folder)
        return real_listdir(folder)

    monkeypatch.setattr(os, "listdir", listdir)
    assert find_journals(path) == [old.path]
    assert find_journals(path) == [old.path]
    assert len(listed) == 2  # changed a moment ago: a coarse clock could stamp the next change the same
    os.utime(tmp_path, ns=(1, 1))  # a folder last changed long ago
    assert find_journals(path) == [old.path]
    assert find_journals(path) == [old.path] and find_journals(tmp_path / "u.yaml") == []
    assert len(listed) == 3  # kept
    new = Journal(path)
    new.open()  # a name added: the folder's mtime moves on
    os.utime(new.path, ns=(2, 2))
    assert find_journals(path) == [new.path, old.path]  # oldest first
    assert len(listed) == 4
    new.close()
    new.path.unlink()
    assert find_journals(path) == [old.path]


def test_recording_a_new_cassette_loads_no_cassette_reader(tmp_path: Path) -> None:
    """A recording run that starts from no cassettes only writes: the readers (the fast YAML reader,
    the layouts) are not imported, which keeps their start-up cost off every recorded session."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from pytest_llmops.recording.cassette import Cassette, RecordMode\n"
        "from pytest_llmops.recording.interactions import Interaction, RecordedRequest, RecordedResponse\n"
        "from pytest_llmops.recording.matching import Matcher\n"
        "from pytest_llmops.recording.secrets import Scrubber\n"
        "path = Path(sys.argv[1]) / 'cassettes' / 'test_x.yaml'\n"
        "cassette = Cassette(path, RecordMode.ONCE, Matcher.build(), Scrubber())\n"
        "cassette.prepare_live()\n"
        "cassette.add(Interaction(RecordedRequest('POST', 'https://api.openai.com/v1/chat/completions',"
        " {'content-type': ['application/json']}, b'{\"model\": \"m\"}'),"
        " RecordedResponse(200, 'OK', {'content-type': ['application/json']}, b'{\"id\": \"x\"}')))\n"
        "assert cassette.save() and path.is_file()\n"
        "print([m for m in ('pytest_llmops.recording.yaml_fast', 'pytest_llmops.recording.layouts')"
        " if m in sys.modules])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
    assert load_interactions(tmp_path / "cassettes" / "test_x.yaml")[0].response.json() == {"id": "x"}


def test_an_interrupted_test_marks_its_recordings_and_its_next_run_records_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    first = cassette(path)
    first.prepare_live()
    first.add(interaction("a"))
    assert first.save(finished=False)  # Ctrl-C: written, marked
    assert [i.meta.extra for i in load_interactions(path)] == [{"interrupted": True}]
    assert "interrupted: true" in path.read_text()

    # A replay (record mode none) uses it as it is and never writes.
    replay = cassette(path, RecordMode.NONE)
    assert replay.unfinished and not replay.records
    assert replay.play(interaction("a").request) is not None  # type: ignore[arg-type]
    before = path.read_bytes()
    assert not replay.save()
    assert path.read_bytes() == before
    message = replay.miss_message(interaction("b").request, "pytest --llm-record={mode} t")  # type: ignore[arg-type]
    assert "was interrupted before the test finished" in message
    assert "pytest --llm-record=once t" in message

    # `once` replays what is there and records the rest; finishing clears the mark.
    again = cassette(path)
    assert again.replays and again.records
    assert again.play(interaction("a").request) is not None  # type: ignore[arg-type]
    again.prepare_live()
    again.add(interaction("b"))
    assert again.save()
    kept = load_interactions(path)
    assert [i.request.json()["messages"][0]["content"] for i in kept] == ["a", "b"]  # type: ignore[union-attr]
    assert [i.meta.extra for i in kept] == [{}, {}]

    # Once finished, `once` is plain `once` again: replay only.
    assert not cassette(path).records


def test_a_test_that_finishes_without_recording_more_still_clears_the_mark(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    marked = interaction("a")
    del marked.request.headers["authorization"]  # type: ignore[union-attr]
    marked.meta.extra["interrupted"] = True
    path.write_text(dump_interactions([marked]))
    c = cassette(path)
    assert c.play(interaction("a").request) is not None  # type: ignore[arg-type]
    assert c.save()  # nothing new, but the test ran to its end while recording
    assert [i.meta.extra for i in load_interactions(path)] == [{}]


def test_recovered_journal_lines_are_marked_as_an_interrupted_recording(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    plain = interaction("a")
    del plain.request.headers["authorization"]  # type: ignore[union-attr]
    path.write_text(dump_interactions([plain]))
    dead = cassette(path, RecordMode.NEW_EPISODES)
    dead.prepare_live()
    dead.add(interaction("b"))
    dead.close()  # the run dies: the journal stays
    (recovered,) = recover(path)
    assert recovered.interactions == 1
    assert [i.meta.extra for i in load_interactions(path)] == [{}, {"interrupted": True}]
