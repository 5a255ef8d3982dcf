"""The session's live spend, shared by every xdist worker through one file-locked ledger.

Each worker checks the ledger before sending a live request and adds the
call's cost after it: the budget can be overshot by at most one in-flight
call per worker. Replayed calls never touch it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pytest_llmops.recording.transport import BudgetExhausted


class Ledger:
    def __init__(self, path: Path, budget_usd: float | None) -> None:
        self.path = path
        self.budget_usd = budget_usd
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)

    @contextmanager
    def _locked(self, exclusive: bool) -> Iterator[dict[str, Any]]:
        with open(self.path, "r+", encoding="utf-8") as handle, _file_lock(handle.fileno(), exclusive):
            text = handle.read()
            data: dict[str, Any] = json.loads(text) if text.strip() else {}
            yield data
            if exclusive:
                handle.seek(0)
                handle.truncate()
                handle.write(json.dumps(data))
                handle.flush()  # the lock orders writers; no fsync: the ledger lives only as long as the run

    def totals(self) -> dict[str, Any]:
        with self._locked(exclusive=False) as data:
            return dict(data)

    @property
    def spent_usd(self) -> float:
        return float(self.totals().get("spent_usd", 0.0))

    def check(self, what: str) -> None:
        """Refuse to send `what` when the budget is already used up."""
        if self.budget_usd is None:
            return
        spent = self.spent_usd
        if spent >= self.budget_usd:
            raise BudgetExhausted(
                f"budget exhausted: live spend ${spent:.4f} reached --llm-budget-usd={self.budget_usd:g}; "
                f"{what} was not sent. Raise the budget or record fewer tests."
            )

    def add(self, cost_usd: float | None, model: str | None) -> None:
        with self._locked(exclusive=True) as data:
            data["calls"] = int(data.get("calls", 0)) + 1
            if cost_usd is None:
                unpriced = data.setdefault("unpriced_models", [])
                if model and model not in unpriced:
                    unpriced.append(model)
            else:
                data["spent_usd"] = float(data.get("spent_usd", 0.0)) + cost_usd


@contextmanager
def _file_lock(fd: int, exclusive: bool) -> Iterator[None]:
    """flock on POSIX; on Windows msvcrt's byte-range lock (always exclusive) on the first byte."""
    if os.name == "nt":  # pragma: no cover - exercised on Windows only
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # type: ignore[attr-defined]
        try:
            yield
        finally:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
