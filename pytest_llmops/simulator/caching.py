"""Prompt caches with each provider's accounting rules, kept per simulator.

OpenAI caches automatically: a prompt of at least 1024 tokens whose prefix
this server has seen before reports that shared prefix as `cached_tokens`,
rounded down to a multiple of 128 (still counted in `prompt_tokens`).

Anthropic caches explicitly: blocks carrying `cache_control` are breakpoints.
A prefix ending at a breakpoint seen before is read from the cache
(`cache_read_input_tokens`); what lies between the longest hit and the last
breakpoint is written (`cache_creation_input_tokens`); `input_tokens` is only
the rest. Lookups, like the real API's, also try the block boundaries up to
20 blocks before each breakpoint. Prefixes shorter than the model's minimum
are neither read nor written.

Both compare token sequences by hashing them, namespaced by model.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass


class AutomaticPrefixCache:
    """OpenAI's automatic prompt caching."""

    min_tokens = 1024
    step = 128

    def __init__(self) -> None:
        self._seen: set[bytes] = set()
        self._lock = threading.Lock()

    def observe(self, namespace: str, tokens: Sequence[str]) -> int:
        """Record a prompt; return how many of its leading tokens count as cached."""
        if len(tokens) < self.min_tokens:
            return 0
        digest = hashlib.sha256(namespace.encode())
        boundaries: list[tuple[int, bytes]] = []
        for position, token in enumerate(tokens, start=1):
            digest.update(token.encode())
            digest.update(b"\x00")
            if position >= self.min_tokens and position % self.step == 0:
                boundaries.append((position, digest.copy().digest()))
        with self._lock:
            cached = max((p for p, d in boundaries if d in self._seen), default=0)
            self._seen.update(d for _, d in boundaries)
        return cached

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()


@dataclass(frozen=True, slots=True)
class Block:
    """A block of prompt tokens, in prompt order; `ttl` is set ("5m" or "1h") on cache breakpoints."""

    tokens: Sequence[str]
    ttl: str | None = None


@dataclass(frozen=True, slots=True)
class CacheUsage:
    read: int = 0
    written_5m: int = 0
    written_1h: int = 0

    @property
    def written(self) -> int:
        return self.written_5m + self.written_1h


class BreakpointCache:
    """Anthropic's explicit prompt caching."""

    lookback_blocks = 20

    def __init__(self) -> None:
        self._seen: set[bytes] = set()
        self._lock = threading.Lock()

    def observe(self, namespace: str, blocks: Sequence[Block], min_tokens: int) -> CacheUsage:
        """Record a prompt's breakpoints; return what was read from and written to the cache."""
        breakpoints = [i for i, block in enumerate(blocks) if block.ttl]
        if not breakpoints:
            return CacheUsage()
        digest = hashlib.sha256(namespace.encode())
        ends: list[tuple[int, bytes]] = []  # cumulative token count and prefix hash at each block end
        position = 0
        for block in blocks[: breakpoints[-1] + 1]:
            for token in block.tokens:
                digest.update(token.encode())
                digest.update(b"\x00")
            digest.update(b"\x01")
            position += len(block.tokens)
            ends.append((position, digest.copy().digest()))

        candidates = {j for i in breakpoints for j in range(max(0, i - self.lookback_blocks + 1), i + 1)}
        with self._lock:
            read = max(
                (ends[j][0] for j in candidates if ends[j][0] >= min_tokens and ends[j][1] in self._seen),
                default=0,
            )
            self._seen.update(ends[i][1] for i in breakpoints if ends[i][0] >= min_tokens)

        written = {"5m": 0, "1h": 0}
        previous = read
        for i in breakpoints:
            end = ends[i][0]
            if end > previous and end >= min_tokens:
                written["1h" if blocks[i].ttl == "1h" else "5m"] += end - previous
                previous = end
        return CacheUsage(read=read, written_5m=written["5m"], written_1h=written["1h"])

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()
