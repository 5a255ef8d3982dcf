"""Nothing paid is lost: interrupts, kills, unwritable folders, full disks and shared cassettes.

Real SDKs over real HTTP against the simulator; interrupts are real signals to a pytest subprocess.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_llmops import cli
from pytest_llmops.recording.formats import load_interactions
from pytest_llmops.recording.journal import read_journal
from pytest_llmops.simulator import ProviderSimulator
from tests.conftest import INNER_CONFTEST

# Three tests, three calls each; every call says which it is, so what is on disk can be matched to
# what the simulator answered.
SUITE = textwrap.dedent(
    """
    import pytest

    @pytest.mark.llm
    @pytest.mark.parametrize("t", [0, 1, 2])
    def test_calls(openai_client, t):
        for c in range(3):
            openai_client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": f"call t{t} c{c}"}])
    """
)


@pytest.fixture
def slow_sim() -> Iterator[ProviderSimulator]:
    """Each answer takes 300 ms, so a signal sent right after a journal line lands mid-run."""
    with ProviderSimulator(latency_ms=300, idle_timeout_s=60) as sim:
        yield sim


@pytest.fixture
def project(
    pytester: pytest.Pytester,
    slow_sim: ProviderSimulator,
    with_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> pytest.Pytester:
    monkeypatch.setenv("SIM_URL", slow_sim.url)
    for name in ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    pytester.makeconftest(INNER_CONFTEST)
    pytester.makepyfile(test_paid=SUITE)
    return pytester


def _content(interaction: object) -> str:
    body = interaction.request.json()  # type: ignore[attr-defined]
    return str(body["messages"][0]["content"])


def _recorded_count(folder: Path) -> int:
    """Interactions in journals and cassettes, counted cheaply (this polls while the run works)."""
    if not folder.is_dir():
        return 0
    journaled = sum(max(p.read_bytes().count(b"\n") - 1, 0) for p in folder.rglob("*.journal"))
    return journaled + sum(p.read_bytes().count(b"\n- request:") for p in folder.rglob("*.yaml"))


def _on_disk(folder: Path) -> list[str]:
    """Every recorded call under `folder`: in cassettes and in journals."""
    found = [_content(x) for p in folder.rglob("*.yaml") for x in load_interactions(p)]
    found += [_content(x) for p in folder.rglob("*.journal") for x in read_journal(p).interactions]
    return sorted(found)


def _run_until(project: pytest.Pytester, lines: int, sig: signal.Signals) -> tuple[float, str]:
    """Start a recording run, wait until `lines` interactions are journaled, send `sig`; the send time and
    what the run printed."""
    command = [sys.executable, "-m", "pytest", "--llm-eval", "--llm-record=once", "-p", "no:xdist", "-q"]
    proc = subprocess.Popen(command, cwd=project.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    cassettes = project.path / "cassettes"
    try:
        deadline = time.monotonic() + 60
        while _recorded_count(cassettes) < lines:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            assert time.monotonic() < deadline, "the run did not journal its calls"
            time.sleep(0.02)
        sent = time.monotonic()
        proc.send_signal(sig)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return sent, output.decode("utf-8", "replace")


def _answered_before(sim: ProviderSimulator, moment: float) -> list[str]:
    return sorted(
        str(r.json["messages"][0]["content"])
        for r in sim.requests
        if r.answered_at is not None and r.answered_at < moment
    )


def test_ctrl_c_mid_run_loses_no_paid_call(project: pytest.Pytester, slow_sim: ProviderSimulator) -> None:
    sent, output = _run_until(project, 5, signal.SIGINT)  # the second test is mid-way
    answered = _answered_before(slow_sim, sent)
    assert len(answered) >= 5
    # The report counts the interrupted test's calls too: they were paid for.
    assert f"app calls: {len(answered)} (0 replayed, {len(answered)} live)" in output, output
    assert "test_calls[1]: interrupted before it finished" in output, output
    cassettes = project.path / "cassettes"
    # The interrupt skipped the teardown, but every answered call is in a cassette, none left in journals.
    assert _on_disk(cassettes) == answered
    assert not list(cassettes.rglob("*.journal"))
    assert not list(cassettes.rglob("*.tmp"))

    # The interrupted test's cassette says so; the same command again replays what was paid for and
    # records only the rest, then the marks are gone and the whole suite replays offline.
    marked = {p.name for p in cassettes.rglob("*.yaml") if b"interrupted: true" in p.read_bytes()}
    assert marked == {"test_calls[1].yaml"}, marked
    before = len(slow_sim.requests)
    again = project.runpytest("--llm-eval", "--llm-record=once", "-p", "no:xdist")
    again.assert_outcomes(passed=3)
    every = sorted(f"call t{t} c{c}" for t in range(3) for c in range(3))
    resent = sorted(str(r.json["messages"][0]["content"]) for r in slow_sim.requests[before:])
    assert resent == sorted(set(every) - set(answered))
    assert _on_disk(cassettes) == every
    assert not [p for p in cassettes.rglob("*.yaml") if b"interrupted" in p.read_bytes()]
    before = len(slow_sim.requests)
    project.runpytest("--llm-eval", "--llm-block-network", "-p", "no:xdist").assert_outcomes(passed=3)
    assert len(slow_sim.requests) == before


def test_a_killed_run_is_recovered_by_the_next_run_and_by_the_recover_command(
    project: pytest.Pytester, slow_sim: ProviderSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    sent, _ = _run_until(project, 4, signal.SIGKILL)
    answered = _answered_before(slow_sim, sent)
    cassettes = project.path / "cassettes"
    journals = sorted(cassettes.rglob("*.journal"))
    assert journals, "a killed run leaves its journal"
    assert _on_disk(cassettes) == answered  # SIGKILL lost nothing that completed

    # By hand: `pytest-llmops recover` merges every journal into its cassette.
    copy = project.path.parent / f"copy-{uuid.uuid4().hex[:6]}"
    shutil.copytree(cassettes, copy)
    assert cli.main(["recover", str(copy)]) == 0
    out = capsys.readouterr().out
    assert f"{len(answered) - 3} recording(s) recovered from 1 journal(s)" in out
    assert not list(copy.rglob("*.journal"))
    assert _on_disk(copy) == answered

    # By itself: the next run merges the journal when it opens the cassette, and says so.
    sent_before = len(slow_sim.requests)
    result = project.runpytest(
        "--llm-eval",
        "-p",
        "no:xdist",
        "-W",
        "default",
        "test_paid.py::test_calls[0]",
        "test_paid.py::test_calls[1]",
    )
    result.assert_outcomes(passed=1, failed=1)  # t1 was killed mid-way: its last call is not recorded
    result.stdout.fnmatch_lines(
        [
            f"*RecoveredRecordingsWarning: recovered {len(answered) - 3} recording(s) from *.journal into *.yaml*"
        ]
    )
    assert f"from {journals[0]} into" in result.stdout.str()
    assert len(slow_sim.requests) == sent_before
    assert not list(cassettes.rglob("*.journal"))
    assert _on_disk(cassettes) == answered
    # The miss says why the recording stops short, and the command records the rest.
    result.stdout.fnmatch_lines(
        [
            "*The recording of this test was interrupted before the test finished*",
            "*pytest --llm-eval --llm-record=once 'test_paid.py::test_calls?1?'",
        ]
    )
    result = project.runpytest(
        "--llm-eval", "--llm-record=once", "-p", "no:xdist", "test_paid.py::test_calls[1]"
    )
    result.assert_outcomes(passed=1)
    assert len(slow_sim.requests) == sent_before + 3 - (len(answered) - 3)  # only what t1 still needed
    assert not [p for p in cassettes.rglob("*.yaml") if b"interrupted" in p.read_bytes()]


# --- a cassette folder that cannot be written ------------------------------------------------------

ONE_CALL = textwrap.dedent(
    """
    import pytest

    @pytest.mark.llm
    def test_one(openai_client):
        openai_client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}])
    """
)


def _record_into(llm_pytester: pytest.Pytester, folder: Path) -> pytest.RunResult:
    llm_pytester.makeini(f"[pytest]\nllm_cassette_dir = {folder}\n")
    llm_pytester.makepyfile(test_w=ONE_CALL)
    return llm_pytester.runpytest("--llm-eval", "--llm-record=once", "-p", "no:xdist")


def test_a_file_where_the_cassette_folder_should_be_sends_nothing(
    llm_pytester: pytest.Pytester, sim: ProviderSimulator, with_keys: dict[str, str]
) -> None:
    blocker = llm_pytester.path / "cassettes"
    blocker.write_text("not a folder")
    result = _record_into(llm_pytester, blocker)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [f"*cannot record into cassette {blocker}/test_w/test_one.yaml: *The request was not sent*"]
    )
    assert "Traceback" not in result.stdout.str()
    assert sim.requests == []


@contextlib.contextmanager
def _tmpfs(where: Path, options: str) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        pytest.skip("cannot mount a tmpfs here")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=10)


def test_a_read_only_cassette_folder_sends_nothing(
    llm_pytester: pytest.Pytester, sim: ProviderSimulator, with_keys: dict[str, str]
) -> None:
    # Root ignores permission bits, so the folder is on a file system mounted read-only.
    with _tmpfs(llm_pytester.path / "ro", "ro,size=64k") as folder:
        result = _record_into(llm_pytester, folder / "cassettes")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*cannot record into cassette *ro/cassettes/test_w/test_one.yaml: Read-only*"]
    )
    assert sim.requests == []


def _fill(folder: Path) -> None:
    with contextlib.suppress(OSError), open(folder / "filler", "wb") as handle:
        while True:
            handle.write(b"\0" * 4096)
            handle.flush()


def test_a_full_disk_sends_nothing(
    llm_pytester: pytest.Pytester, sim: ProviderSimulator, with_keys: dict[str, str]
) -> None:
    with _tmpfs(llm_pytester.path / "full", "size=64k") as folder:
        (folder / "cassettes" / "test_w").mkdir(parents=True)
        _fill(folder)
        result = _record_into(llm_pytester, folder / "cassettes")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*cannot record into cassette *test_one.yaml: No space left on device*"])
    assert sim.requests == []


def test_a_disk_that_fills_up_mid_test_fails_it_once_and_counts_only_what_is_on_disk(
    llm_pytester: pytest.Pytester, sim: ProviderSimulator, with_keys: dict[str, str]
) -> None:
    with _tmpfs(llm_pytester.path / "full", "size=64k") as folder:
        llm_pytester.makeini(f"[pytest]\nllm_cassette_dir = {folder}/cassettes\n")
        llm_pytester.makepyfile(
            test_w=f"""
            import contextlib, pytest

            @pytest.mark.llm
            def test_one(openai_client):
                ask = lambda text: openai_client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{{"role": "user", "content": text}}])
                ask("first")
                with contextlib.suppress(OSError), open({str(folder / "filler")!r}, "wb") as handle:
                    while True:
                        handle.write(b"\\0" * 4096)
                        handle.flush()
                ask("second " * 200)
            """
        )
        result = llm_pytester.runpytest("--llm-eval", "--llm-record=once", "-p", "no:xdist")
        result.assert_outcomes(failed=1)  # one failure: not PASSED then ERROR
        result.stdout.fnmatch_lines(
            ["*could not write cassette *test_one.yaml: No space left on device*", "*0 new recordings*"]
        )
        journals = list((folder / "cassettes").rglob("*.journal"))
        assert [len(read_journal(j).interactions) for j in journals] == [1]  # the first call is kept
    assert len(sim.requests) == 2


# --- xdist workers sharing one cassette -------------------------------------------------------------

SHARED = textwrap.dedent(
    """
    import pytest

    @pytest.mark.llm(cassette="shared")
    @pytest.mark.parametrize("t", range(4))
    def test_shared(openai_client, t):
        for c in range(2):
            openai_client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": f"shared t{t} c{c}"}])
    """
)


def test_xdist_workers_recording_one_shared_cassette_lose_nothing(
    project: pytest.Pytester, slow_sim: ProviderSimulator
) -> None:
    (project.path / "test_paid.py").unlink()
    project.makepyfile(test_shared=SHARED)
    live = project.runpytest("--llm-eval", "--llm-record=new_episodes", "-n", "2")
    live.assert_outcomes(passed=4)
    live.stdout.fnmatch_lines(["*8 new recordings*"])
    assert len(slow_sim.requests) == 8
    path = project.path / "cassettes" / "shared.yaml"
    assert sorted(_content(x) for x in load_interactions(path)) == sorted(
        f"shared t{t} c{c}" for t in range(4) for c in range(2)
    )
    replay = project.runpytest("--llm-eval", "-p", "no:xdist")
    replay.assert_outcomes(passed=4)
    replay.stdout.fnmatch_lines(["*8 played*0 new recordings*0 misses*"])
    assert len(slow_sim.requests) == 8


@pytest.mark.parametrize("workers", [["-p", "no:xdist"], ["-n", "2"]], ids=["no-xdist", "n2"])
def test_once_records_every_test_of_a_cassette_the_run_created_and_replays_it_next_run(
    project: pytest.Pytester, slow_sim: ProviderSimulator, workers: list[str]
) -> None:
    """`once` records cassettes that did not exist before the run, even when a test sharing the cassette
    wrote it earlier in the same run; the next `once` run replays it and sends nothing."""
    (project.path / "test_paid.py").unlink()
    project.makepyfile(test_shared=SHARED)
    live = project.runpytest("--llm-eval", "--llm-record=once", *workers)
    live.assert_outcomes(passed=4)
    live.stdout.fnmatch_lines(["*0 misses*"])
    assert len(slow_sim.requests) == 8
    path = project.path / "cassettes" / "shared.yaml"
    assert sorted(_content(x) for x in load_interactions(path)) == sorted(
        f"shared t{t} c{c}" for t in range(4) for c in range(2)
    )
    again = project.runpytest("--llm-eval", "--llm-record=once", *workers)
    again.assert_outcomes(passed=4)
    again.stdout.fnmatch_lines(["*8 played*0 new recordings*0 misses*"])
    assert len(slow_sim.requests) == 8  # the cassette existed before this run: replay only
    project.makepyfile(
        test_shared=SHARED.replace("range(4)", "range(5)")
    )  # a new case of an existing cassette is a miss under `once`, as documented
    third = project.runpytest("--llm-eval", "--llm-record=once", "-p", "no:xdist")
    third.assert_outcomes(passed=4, failed=1)
    assert len(slow_sim.requests) == 8


def test_rewrite_replaces_a_shared_cassette_once_per_run_keeping_every_test(
    project: pytest.Pytester, slow_sim: ProviderSimulator
) -> None:
    """Under `rewrite`, the second test of a shared cassette appends to what the first wrote in this run
    instead of replacing it (which would lose paid recordings); a later rewrite run replaces the file."""
    (project.path / "test_paid.py").unlink()
    project.makepyfile(test_shared=SHARED)
    path = project.path / "cassettes" / "shared.yaml"
    for run in (1, 2):
        result = project.runpytest("--llm-eval", "--llm-record=rewrite", "-p", "no:xdist")
        result.assert_outcomes(passed=4)
        result.stdout.fnmatch_lines(["*8 new recordings*"])
        assert len(slow_sim.requests) == 8 * run
        assert sorted(_content(x) for x in load_interactions(path)) == sorted(
            f"shared t{t} c{c}" for t in range(4) for c in range(2)
        )
    project.runpytest("--llm-eval", "-p", "no:xdist").assert_outcomes(passed=4)


# --- a cassette cut off inside a body -------------------------------------------------------------


@pytest.mark.parametrize("cut", ["inside the body", "length edited"])
def test_a_cassette_cut_off_inside_a_body_is_one_clean_error_naming_file_and_interaction(
    llm_pytester: pytest.Pytester, sim: ProviderSimulator, with_keys: dict[str, str], cut: str
) -> None:
    llm_pytester.makepyfile(
        test_c="""
        import pytest

        @pytest.mark.llm
        def test_one(openai_client):
            for text in ("first", "second"):
                openai_client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": text}])
        """
    )
    llm_pytester.runpytest("--llm-eval", "--llm-record=once", "-p", "no:xdist").assert_outcomes(passed=1)
    path = llm_pytester.path / "cassettes" / "test_c" / "test_one.yaml"
    text = path.read_text()
    second = text.index("\n- request:", text.index("\n- request:") + 1)
    if cut == "inside the body":
        body = text.index('"choices"', second)
        path.write_text(text[:body])  # the file ends half-way through the second answer
    else:  # a content-length that does not fit the body it heads
        headers = text.index("    headers:\n", text.index("  response:", second)) + len("    headers:\n")
        path.write_text(text[:headers] + "      content-length: ['99999']\n" + text[headers:])
    result = llm_pytester.runpytest("--llm-eval", "-p", "no:xdist")
    result.assert_outcomes(failed=1)  # read on the first request, which it fails
    result.stdout.fnmatch_lines([f"*cannot read cassette {path}: *interactions?1?.response.body: *"])
    assert "Traceback" not in result.stdout.str() and "KeyError" not in result.stdout.str()
