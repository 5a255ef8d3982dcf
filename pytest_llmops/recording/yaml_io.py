"""YAML for cassettes: reading any recorder's file safely, writing ours readably.

Reading tries `cassette_yaml_fast` (our own output, ~6x faster) and falls
back to PyYAML with a safe loader that tolerates recorders' harmless Python
tags. Writing uses `cassette_yaml_emitter` and falls back to PyYAML's dumper
per interaction. PyYAML uses libyaml (CSafeLoader/CSafeDumper) when built
with it, the pure-Python classes otherwise. PyYAML's part is in
`yaml_general`, imported only when a fast path gives up: a replay whose cassettes come from the parse
cache does not load PyYAML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_llmops.recording.yaml_emitter import Unsupported, emit_item

__all__ = ["dump_cassette", "dump_yaml", "load_yaml"]


def load_yaml(text: str | bytes, path: Path) -> Any:
    """Parse one YAML document; syntax errors name the file and the 1-based line.

    Our own cassettes go through `fast_load` first; it gives up (None) on
    anything outside the subset our writer emits, and PyYAML takes over.
    """
    try:
        decoded = text.decode("utf-8").removeprefix("\ufeff") if isinstance(text, bytes) else text
    except UnicodeDecodeError:
        decoded = None
    # Imported here: a run that only writes cassettes (recording afresh) never loads the reader.
    from pytest_llmops.recording.yaml_fast import fast_load

    data = fast_load(decoded) if decoded is not None else None
    if data is not None:
        return data
    from pytest_llmops.recording.yaml_general import load_general

    return load_general(text, path)


def dump_cassette(items: list[dict[str, Any]]) -> str:
    """A vcrpy v1 cassette of `items`, written readably and deterministically.

    Each item goes through the fast `emit_item`; one it cannot write goes
    through PyYAML, and both load back the same.
    """
    if not items:
        return "interactions: []\nversion: 1\n"
    parts = ["interactions:\n"]
    for item in items:
        try:
            parts.append(emit_item(item))
        except Unsupported:
            parts.append(dump_yaml([item]).removesuffix("...\n"))
    parts.append("version: 1\n")
    return "".join(parts)


def dump_yaml(data: Any) -> str:
    """Dump plain data with PyYAML (`yaml_general.dump_yaml`)."""
    from pytest_llmops.recording import yaml_general

    return yaml_general.dump_yaml(data)
