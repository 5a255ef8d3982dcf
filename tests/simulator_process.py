"""`python -m pytest_llmops.simulator` as a user starts it: a child process, stopped when done."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def simulator_process(*args: str, idle_timeout: float = 60) -> Iterator[str]:
    """Start the simulator CLI, yield its base URL; SIGTERM it afterwards (it also stops when idle)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest_llmops.simulator", "--idle-timeout", str(idle_timeout), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), (url, process.stderr and process.stderr.read())
        yield url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
