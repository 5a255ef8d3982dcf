"""YAML for cassettes: reading any recorder's file safely, writing ours readably.

Reading tries `cassette_yaml_fast` (our own output, ~6x faster) and falls
back to PyYAML with a safe loader that tolerates recorders' harmless Python
tags. Writing uses `cassette_yaml_emitter` and falls back to PyYAML's dumper
per interaction. PyYAML uses libyaml (CSafeLoader/CSafeDumper) when built
with it, the pure-Python classes otherwise. Only imported lazily (it imports
yaml), never at plugin start-up.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from pytest_llmops.recording.errors import CassetteFormatError
from pytest_llmops.recording.yaml_emitter import FlowMap, FlowSeq, Unsupported, emit_item

__all__ = ["dump_cassette", "dump_yaml", "load_yaml"]

try:
    from yaml import CSafeDumper as _BaseDumper
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeDumper as _BaseDumper  # type: ignore[assignment]
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]


class _CassetteLoader(_BaseLoader):
    """A safe loader that also reads the harmless Python tags found in real cassettes.

    aiohttp recordings write header names as `!!python/object/apply:multidict._multidict.istr`
    (a str subclass), and old vcrpy wrote `!!python/tuple`, `!!python/str` and `BytesIO`
    bodies. Those become plain data; any other Python tag is refused, never constructed.
    """


def _construct_python(loader: _CassetteLoader, suffix: str, node: yaml.Node) -> Any:
    kind, _, name = suffix.partition(":")
    if suffix in ("str", "unicode") and isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if suffix == "tuple" and isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if suffix == "bytes" and isinstance(node, yaml.ScalarNode):
        return loader.construct_yaml_binary(node)
    if kind in ("object/apply", "object/new"):
        args = _object_args(loader, node)
        istr = name.startswith("multidict") and name.endswith(".istr")
        if istr and len(args) == 1 and isinstance(args[0], str):
            return args[0]
        if name == "_io.BytesIO":
            state = _object_state(loader, node)
            data = state[0] if isinstance(state, list) and state else args[0] if args else b""
            return data.encode("utf-8") if isinstance(data, str) else data
        if name == "builtins.iter" and len(args) == 1:
            return args[0]
    raise yaml.constructor.ConstructorError(
        None,
        None,
        f"refusing to construct the Python object {node.tag!r}; a cassette may only hold plain data",
        node.start_mark,
    )


def _object_args(loader: _CassetteLoader, node: yaml.Node) -> list[Any]:
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        args = loader.construct_mapping(node, deep=True).get("args", [])
        return list(args) if isinstance(args, list) else []
    return [loader.construct_scalar(node)] if isinstance(node, yaml.ScalarNode) else []


def _object_state(loader: _CassetteLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True).get("state")
    return None


_CassetteLoader.add_multi_constructor("tag:yaml.org,2002:python/", _construct_python)


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
    try:
        return yaml.load(text, Loader=_CassetteLoader)  # a safe loader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = " ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        raise CassetteFormatError(
            path, f"invalid YAML: {reason}", line=mark.line + 1 if mark is not None else None
        ) from None
    except yaml.YAMLError as exc:
        raise CassetteFormatError(path, f"invalid YAML: {exc}") from None


class _CassetteDumper(_BaseDumper):
    def ignore_aliases(self, data: Any) -> bool:
        # Shared objects (one headers dict for many requests) must not become &id001 anchors.
        return True


# YAML folds these to "\n" inside block scalars, so text holding them must be double-quoted.
_NOT_IN_BLOCK = re.compile("[\r\x85\u2028\u2029]")


def _represent_str(dumper: _CassetteDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data and not _NOT_IN_BLOCK.search(data) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


def _represent_flow_map(dumper: _CassetteDumper, data: FlowMap) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True)


def _represent_flow_seq(dumper: _CassetteDumper, data: FlowSeq) -> yaml.SequenceNode:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


_CassetteDumper.add_representer(str, _represent_str)
_CassetteDumper.add_representer(FlowMap, _represent_flow_map)
_CassetteDumper.add_representer(FlowSeq, _represent_flow_seq)


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
    """Dump plain data with PyYAML: key order kept, long lines not folded, no anchors."""
    text: str = yaml.dump(
        data,
        Dumper=_CassetteDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100_000,
    )
    return text
