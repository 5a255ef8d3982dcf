"""Where the real recordings live: a byte-for-byte copy of ../shared/real-cassettes, vendored so the suite
runs from any checkout. `test_vendored_copy_is_unchanged` keeps the copy equal to the source when present."""

from __future__ import annotations

from pathlib import Path

REAL_CASSETTES = Path(__file__).parent / "data" / "real-cassettes"
SHARED_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "real-cassettes"
