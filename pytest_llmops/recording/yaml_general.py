"""PyYAML for the cassettes the fast paths leave to it: reading any recorder's file safely, and writing
an item `yaml_emitter` cannot. Imported only then (it imports yaml), so a replay whose cassettes come
from the parse cache never loads PyYAML. PyYAML uses libyaml (CSafeLoader/CSafeDumper) when built with
it, the pure-Python classes otherwise.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from pytest_llmops.recording.errors import CassetteFormatError
from pytest_llmops.recording.yaml_emitter import FlowMap, FlowSeq

__all__ = ["CassetteLoader", "dump_yaml", "load_general"]

try:
    from yaml import CSafeDumper as _BaseDumper
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeDumper as _BaseDumper  # type: ignore[assignment]
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]


class CassetteLoader(_BaseLoader):
    """A safe loader that also reads the harmless Python tags found in real cassettes.

    aiohttp recordings write header names as `!!python/object/apply:multidict._multidict.istr`
    (a str subclass), and old vcrpy wrote `!!python/tuple`, `!!python/str` and `BytesIO`
    bodies. Those become plain data; any other Python tag is refused, never constructed.
    """


def _construct_python(loader: CassetteLoader, suffix: str, node: yaml.Node) -> Any:
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


def _object_args(loader: CassetteLoader, node: yaml.Node) -> list[Any]:
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        args = loader.construct_mapping(node, deep=True).get("args", [])
        return list(args) if isinstance(args, list) else []
    return [loader.construct_scalar(node)] if isinstance(node, yaml.ScalarNode) else []


def _object_state(loader: CassetteLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True).get("state")
    return None


CassetteLoader.add_multi_constructor("tag:yaml.org,2002:python/", _construct_python)


def load_general(text: str | bytes, path: Path) -> Any:
    """Parse one YAML document with PyYAML; syntax errors name the file and the 1-based line."""
    try:
        return yaml.load(text, Loader=CassetteLoader)  # a safe loader subclass
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
