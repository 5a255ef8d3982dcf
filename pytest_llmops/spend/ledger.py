"""The session's live spend, shared by every xdist worker through one file-locked ledger.

A budget is a cap, not a target: before a live request is sent, its worst-case
cost is *reserved* (under the file lock, so threads, event loops and xdist
workers all see one total), and the request is refused when spent + reserved +
this worst case would pass the budget. When the response is complete the
reservation is *settled* to the real cost (or released if nothing was
answered). A call whose real cost cannot be known keeps its worst case.
Replayed calls never touch the ledger.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pytest_llmops.recording.transport import BudgetExhausted

_tickets = itertools.count(1)


class Ledger:
    def __init__(self, path: Path, budget_usd: float | None) -> None:
        self.path = path
        self.budget_usd = budget_usd
        self._owner = f"{os.getpid()}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)

    @contextmanager
    def _locked(self, exclusive: bool) -> Iterator[dict[str, Any]]:
        with open(self.path, "r+", encoding="utf-8") as handle, _file_lock(handle.fileno(), exclusive):
            text = handle.read()
            data: dict[str, Any] = json.loads(text) if text.strip() else {}
            yield data
            if exclusive:
                # Overwrite, then cut what is left of a longer old text: truncating to zero first would
                # make ext4 (auto_da_alloc) flush the file to disk on every write, ~3 ms a live call.
                # The lock orders writers and readers, which see the OS's copy; no fsync either: the
                # ledger lives only as long as the run.
                handle.seek(0)
                handle.write(json.dumps(data))
                handle.truncate()
                handle.flush()

    def totals(self) -> dict[str, Any]:
        with self._locked(exclusive=False) as data:
            return dict(data)

    @property
    def spent_usd(self) -> float:
        return float(self.totals().get("spent_usd", 0.0))

    def check(self, what: str) -> None:
        """Refuse to send `what` when the budget is already used up (spent or held by calls in flight)."""
        if self.budget_usd is None:
            return
        with self._locked(exclusive=False) as data:
            spent, held, worst_case = _spent(data), _held(data), _worst_case(data)
        if spent + held >= self.budget_usd:
            raise BudgetExhausted(self._refusal(what, spent, held, None, worst_case))

    def reserve(self, what: str, worst_usd: float) -> str:
        """Hold `worst_usd` for a call about to be sent; refuse it when that would pass the budget.

        Returns a ticket for `settle` / `release`.
        """
        ticket = f"{self._owner}-{next(_tickets)}"
        with self._locked(exclusive=True) as data:
            spent, held = _spent(data), _held(data)
            if self.budget_usd is not None and spent + held + worst_usd > self.budget_usd:
                raise BudgetExhausted(self._refusal(what, spent, held, worst_usd, _worst_case(data)))
            data.setdefault("reserved", {})[ticket] = worst_usd
            data["peak_committed_usd"] = max(
                float(data.get("peak_committed_usd", 0.0)), spent + held + worst_usd
            )
        return ticket

    def settle(self, ticket: str | None, cost_usd: float | None, model: str | None) -> None:
        """Replace the call's reservation by its real cost; an unknown cost keeps the worst case."""
        with self._locked(exclusive=True) as data:
            held = data.setdefault("reserved", {}).pop(ticket, None) if ticket else None
            data["calls"] = int(data.get("calls", 0)) + 1
            if cost_usd is None:
                unpriced = data.setdefault("unpriced_models", [])
                if model and model not in unpriced:
                    unpriced.append(model)
                cost_usd = held  # fail closed: what could not be priced counts at its worst case
                if held is not None:
                    data["worst_case_usd"] = _worst_case(data) + held
            if cost_usd is not None:
                data["spent_usd"] = _spent(data) + cost_usd

    def release(self, ticket: str | None) -> None:
        """Give a reservation back: the request was not answered (connection error, cancelled)."""
        if not ticket:
            return
        with self._locked(exclusive=True) as data:
            data.setdefault("reserved", {}).pop(ticket, None)

    def add(self, cost_usd: float | None, model: str | None) -> None:
        """Count a live call that held no reservation."""
        self.settle(None, cost_usd, model)

    def _refusal(
        self, what: str, spent: float, held: float, worst: float | None, worst_case: float = 0.0
    ) -> str:
        in_flight = f" (+ ${held:.6f} held by calls in flight)" if held else ""
        if worst_case:
            # Calls cut short, unanswered or unpriced count at their worst case: say so, or "spend" misleads.
            in_flight = (
                f" (${worst_case:.6f} of it the worst case of calls whose cost is unknown: cut short, "
                f"unanswered or unpriced){in_flight}"
            )
        if worst is None:
            verdict = f"reached --llm-budget-usd={self.budget_usd:g}"
        else:
            verdict = f" + up to ${worst:.6f} for this call would pass --llm-budget-usd={self.budget_usd:g}"
            verdict = verdict.lstrip()
        return (
            f"budget exhausted: live spend ${spent:.6f}{in_flight} {verdict}; {what} was not sent. "
            "Raise the budget, lower the request's max_tokens, or record fewer tests."
        )


def _spent(data: dict[str, Any]) -> float:
    return float(data.get("spent_usd", 0.0))


def _worst_case(data: dict[str, Any]) -> float:
    """What of `_spent` was counted at a call's worst case (its real cost unknown)."""
    return float(data.get("worst_case_usd", 0.0))


def _held(data: dict[str, Any]) -> float:
    return float(sum(data.get("reserved", {}).values()))


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
