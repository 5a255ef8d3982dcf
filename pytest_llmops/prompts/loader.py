"""Read prompt files: YAML text in, `Prompt`s and every problem found out.

Layout: every `*.yaml` / `*.yml` file anywhere under the prompts folder
(hidden files and folders skipped) holds prompt versions, one per YAML
document (`---` separates several in one file). A version is identified by
its `name` and `version` fields, never by its file name, so
`prompts/rag_qa/1.3.2.yaml` and `prompts/rag_qa_v2.yaml` are both fine.

A document is a mapping with:

- `name` (required): letters, digits, `_`, `.`, `-`;
- `version` (required): a semantic version, `1.3.2` or `2.0.0-rc.1`;
- exactly one of `template` (text with `{variables}`) or `messages` (a list
  of `{role, content}`, role one of system/developer/user/assistant);
- `parameters` (optional mapping): model parameters sent with the prompt.
  The common ones (`model`, `temperature`, `max_tokens`, `top_p`, ... see
  `MODEL_PARAMETERS`) may also be written at the top level; both places
  merge, and giving the same one twice is an error. Known ones are
  type-checked; anything else goes under `parameters:` unchecked;
- `metadata` (optional mapping, free-form, not hashed), `created_by`,
  `created_at` (ISO 8601 date or timestamp, kept as the text written) and
  `description`.

Any other top-level key is an error (typos like `temprature` would otherwise
silently drop a parameter): free-form data belongs under `metadata:`.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pytest_llmops.prompts.errors import PromptError
from pytest_llmops.prompts.model import MessageTemplate, Prompt, content_sha256
from pytest_llmops.prompts.render import Template, parse_template
from pytest_llmops.prompts.semver import Version

if TYPE_CHECKING:
    _BaseLoader = yaml.SafeLoader
else:
    _BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

PROMPT_SUFFIXES = (".yaml", ".yml")
ROLES = ("system", "developer", "user", "assistant")
MODEL_PARAMETERS = frozenset(
    {
        "model",
        "temperature",
        "top_p",
        "top_k",
        "max_tokens",
        "max_completion_tokens",
        "max_output_tokens",
        "frequency_penalty",
        "presence_penalty",
        "seed",
        "n",
        "stop",
        "stop_sequences",
        "reasoning_effort",
        "response_format",
        "tools",
        "tool_choice",
    }
)
_FIELDS = frozenset(
    {"name", "version", "template", "messages", "parameters", "metadata", "created_by", "created_at"}
    | {"description"}
)
_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Loader(_BaseLoader):
    """The safe loader, keeping timestamps as the text written (`2026-01-15` stays a string)."""


def _timestamp_as_text(loader: yaml.SafeLoader, node: Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


_Loader.add_constructor(_TIMESTAMP_TAG, _timestamp_as_text)


@dataclass
class LoadResult:
    prompts: list[Prompt] = field(default_factory=list)
    errors: list[PromptError] = field(default_factory=list)


def prompt_files(directory: Path) -> list[Path]:
    """Every prompt file under `directory`, in a stable order, hidden files and folders skipped."""
    found: list[Path] = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        base = Path(root)
        found += [base / f for f in sorted(files) if f.endswith(PROMPT_SUFFIXES) and not f.startswith(".")]
    return found


def load_directory(directory: Path) -> LoadResult:
    """Load every prompt file; duplicated `name@version`s are errors and are left out, naming every file."""
    if not directory.is_dir():
        what = "is not a folder" if directory.exists() else "does not exist"
        raise PromptError(
            f"prompts folder {what} (point to it with --dir PATH or the plugin option)", path=directory
        )
    result = LoadResult()
    for path in prompt_files(directory):
        loaded = load_file(path)
        result.prompts += loaded.prompts
        result.errors += loaded.errors
    by_ref: dict[tuple[str, Version], list[Prompt]] = {}
    for prompt in result.prompts:
        by_ref.setdefault((prompt.name, prompt.semver), []).append(prompt)
    kept: list[Prompt] = []
    for group in by_ref.values():
        if len(group) == 1:
            kept.append(group[0])
            continue
        places = " and ".join(f"{p.path}:{p.line} (version {p.version})" for p in group)
        last = group[-1]
        result.errors.append(
            PromptError(
                f"duplicate prompt version: defined in {places}; each version lives in one file, "
                "so bump `version:` in the newer one",
                path=last.path,
                line=last.line,
                ref=f"{last.name}@{last.version}",
            )
        )
    result.prompts = kept
    return result


def load_file(path: Path) -> LoadResult:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        return LoadResult(errors=[PromptError(f"cannot read file: {exc.strerror or exc}", path=path)])
    except UnicodeDecodeError as exc:
        return LoadResult(errors=[PromptError(f"not UTF-8 text (byte {exc.start})", path=path)])
    return load_text(text, path)


def load_text(text: str, path: Path) -> LoadResult:
    """Load the prompt versions in one file's `text`; `path` is used in messages."""
    result = LoadResult()
    loader = _Loader(text)
    documents = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                break
            duplicates = _duplicate_keys(node)  # before construction flattens `<<` merges
            data = loader.construct_document(node)
            documents += 1
            if data is None:  # an empty document between `---` markers
                continue
            prompt, errors = _Document(path, node, data, duplicates).build()
            result.errors += errors
            if prompt is not None:
                result.prompts.append(prompt)
    except yaml.MarkedYAMLError as exc:
        result.errors.append(_yaml_error(exc, path))
    except yaml.YAMLError as exc:
        result.errors.append(PromptError(f"invalid YAML: {exc}", path=path))
    finally:
        loader.dispose()
    if not documents and not result.errors:
        result.errors.append(
            PromptError("empty file: a prompt file needs name, version and template or messages", path=path)
        )
    return result


def _yaml_error(exc: yaml.MarkedYAMLError, path: Path) -> PromptError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or "cannot parse"
    context = f" {exc.context}" if exc.context else ""
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
    if exc.context and exc.context_mark and exc.context_mark is not mark:
        context += f" started at line {exc.context_mark.line + 1}"
    return PromptError(
        f"invalid YAML: {problem}{where}{',' if context else ''}{context}",
        path=path,
        line=mark.line + 1 if mark else None,
    )


def _duplicate_keys(root: Node) -> list[tuple[Node, Node]]:
    """`(repeated key, first key)` pairs in every mapping: PyYAML would silently keep the last value.

    A mapping with a `<<` merge key is skipped, since overriding merged keys is the point of it.
    """
    found: list[tuple[Node, Node]] = []
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:  # aliases share nodes, and may be recursive
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            pairs: list[tuple[Node, Node]] = node.value
            stack += [n for pair in pairs for n in pair]
            if any(k.tag == _MERGE_TAG for k, _ in pairs):
                continue
            first: dict[str, Node] = {}
            for key, _ in pairs:
                if isinstance(key, ScalarNode):
                    if key.value in first:
                        found.append((key, first[key.value]))
                    first.setdefault(key.value, key)
        elif isinstance(node, SequenceNode):
            stack += node.value
    return sorted(found, key=lambda pair: (pair[0].start_mark.line, pair[0].start_mark.column))


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


class _Document:
    """Validate one YAML document, collecting every error, and build its `Prompt` if there are none."""

    def __init__(self, path: Path, node: Node, data: Any, duplicates: list[tuple[Node, Node]]) -> None:
        self.path = path
        self.duplicates = duplicates
        self.node = node
        self.data = data
        self.errors: list[PromptError] = []
        self.fields: dict[str, tuple[Node, Any]] = {}
        self.keys: dict[str, Node] = {}  # errors about a whole field point at its key's line
        self.ref: str | None = None

    def error(self, message: str, node: Node | None = None) -> None:
        self.errors.append(PromptError(message, path=self.path, line=_line(node or self.node), ref=self.ref))

    def build(self) -> tuple[Prompt | None, list[PromptError]]:
        if not isinstance(self.node, MappingNode) or not isinstance(self.data, dict):
            found = "a list" if isinstance(self.node, SequenceNode) else "a single value"
            self.error(f"expected a mapping with name, version and template or messages, found {found}")
            return None, self.errors
        self._read_keys()
        for key_node, first in self.duplicates:
            self.error(
                f"`{key_node.value}` is given twice (first on line {_line(first)}); keep one", key_node
            )
        name = self._name()
        version = self._version()
        if name and version:
            self.ref = f"{name}@{version}"
            for err in self.errors:  # earlier errors now know which prompt they are about
                err.ref = err.ref or self.ref
        template, templates, messages = self._content()
        parameters = self._parameters()
        metadata = self._metadata()
        created_by = self._text_field("created_by")
        created_at = self._created_at()
        description = self._text_field("description")
        if self.errors or name is None or version is None or not templates:
            return None, self.errors
        variables = frozenset[str]().union(*(t.variables for t in templates))
        prompt = Prompt(
            name=name,
            version=version,
            path=self.path,
            line=_line(self.node),
            template=template,
            message_templates=messages,
            created_by=created_by,
            created_at=created_at,
            description=description,
            sha256=content_sha256(template, messages, parameters),
            variables=variables,
            _parameters=parameters,
            _metadata=metadata,
            _compiled=tuple(templates),
        )
        return prompt, self.errors

    def _read_keys(self) -> None:
        assert isinstance(self.node, MappingNode)
        for key_node, value_node in self.node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str) or key not in self.data:
                self.error("keys must be plain names like `template`", key_node)
                continue
            if key in self.fields:  # a repeated key, reported from `self.duplicates`
                continue
            self.fields[key] = (value_node, self.data[key])
            self.keys[key] = key_node
            if key not in _FIELDS and key not in MODEL_PARAMETERS:
                close = difflib.get_close_matches(key, sorted(_FIELDS | MODEL_PARAMETERS), n=1)
                hint = f"did you mean `{close[0]}`? " if close else ""
                self.error(
                    f"unknown key `{key}`: {hint}free-form data goes under `metadata:`, "
                    "other model parameters under `parameters:`",
                    key_node,
                )

    def _raw_scalar(self, key: str) -> str | None:
        """The text of a required scalar, as written (so `version: 1.10` is not read as the float 1.1)."""
        if key not in self.fields:
            self.error(f"missing `{key}:`")
            return None
        node, value = self.fields[key]
        if not isinstance(node, ScalarNode) or value is None or isinstance(value, bool):
            self.error(
                f"`{key}` must be a plain value like `{key}: {'1.0.0' if key == 'version' else 'my_prompt'}`",
                node,
            )
            return None
        return str(node.value)

    def _name(self) -> str | None:
        name = self._raw_scalar("name")
        if name is not None and not _NAME_RE.fullmatch(name):
            self.error(
                f"invalid name {name!r}: use letters, digits, '_', '.' and '-' (it is used in name@version)",
                self.fields["name"][0],
            )
            return None
        return name

    def _version(self) -> str | None:
        version = self._raw_scalar("version")
        if version is None:
            return None
        try:
            Version.parse(version)
        except ValueError as exc:
            self.error(str(exc), self.fields["version"][0])
            return None
        return version

    def _content(self) -> tuple[str | None, list[Template], tuple[MessageTemplate, ...] | None]:
        has_template, has_messages = "template" in self.fields, "messages" in self.fields
        if has_template and has_messages:
            self.error(
                "give either `template:` (a text prompt) or `messages:` (a chat prompt), not both",
                self.keys["messages"],
            )
            return None, [], None
        if not has_template and not has_messages:
            self.error("missing `template:` (a text prompt) or `messages:` (a chat prompt)")
            return None, [], None
        if has_template:
            node, value = self.fields["template"]
            compiled = self._template("template", node, value)
            return (value, [compiled], None) if compiled else (None, [], None)
        return self._messages()

    def _template(self, label: str, node: Node, value: Any) -> Template | None:
        if not isinstance(value, str) or not isinstance(node, ScalarNode):
            self.error(f"`{label}` must be text", node)
            return None
        if not value.strip():
            self.error(f"`{label}` is empty", node)
            return None
        compiled, problems = parse_template(value)
        for problem in problems:
            # In a `|` block the text starts on the line after the indicator, so lines map exactly.
            line = _line(node) + problem.line if node.style == "|" else _line(node)
            self.errors.append(
                PromptError(
                    f"{label}: {problem.message} (template line {problem.line}, column {problem.column})",
                    path=self.path,
                    line=line,
                    ref=self.ref,
                )
            )
        return None if problems else compiled

    def _messages(self) -> tuple[str | None, list[Template], tuple[MessageTemplate, ...] | None]:
        node, value = self.fields["messages"]
        if not isinstance(node, SequenceNode) or not isinstance(value, list) or not value:
            self.error("`messages` must be a non-empty list of {role, content} items", self.keys["messages"])
            return None, [], None
        templates: list[Template] = []
        messages: list[MessageTemplate] = []
        ok = True
        for index, (item_node, item) in enumerate(zip(node.value, value, strict=True)):
            label = f"messages[{index}]"
            if not isinstance(item_node, MappingNode) or not isinstance(item, dict):
                self.error(f"{label} must be a mapping with `role` and `content`", item_node)
                ok = False
                continue
            nodes = {k.value: v for k, v in item_node.value if isinstance(k, ScalarNode)}
            unknown = sorted(str(k) for k in item if k not in ("role", "content"))
            if unknown:
                self.error(
                    f"{label}: unknown {', '.join(unknown)}; a message has only `role` and `content`",
                    item_node,
                )
                ok = False
            role = item.get("role")
            if role not in ROLES:
                allowed = ", ".join(ROLES)
                if role is None:
                    self.error(f"{label}: missing `role` (one of {allowed})", item_node)
                else:
                    self.error(
                        f"{label}: role {role!r} is not one of {allowed}", nodes.get("role", item_node)
                    )
                ok = False
            if "content" not in item:
                self.error(f"{label}: missing `content`", item_node)
                ok = False
                continue
            compiled = self._template(f"{label}.content", nodes["content"], item["content"])
            if compiled is None:
                ok = False
                continue
            templates.append(compiled)
            messages.append(MessageTemplate(str(role), item["content"]))
        return (None, templates, tuple(messages)) if ok else (None, [], None)

    def _parameters(self) -> dict[str, Any]:
        parameters: dict[str, Any] = {}
        if "parameters" in self.fields:
            node, value = self.fields["parameters"]
            if not isinstance(value, dict):
                self.error(
                    "`parameters` must be a mapping, e.g. `parameters: {model: gpt-4o, temperature: 0}`",
                    self.keys["parameters"],
                )
            else:
                nodes = (
                    {k.value: (k, v) for k, v in node.value if isinstance(k, ScalarNode)}
                    if isinstance(node, MappingNode)
                    else {}
                )
                for key, item in value.items():
                    where = nodes.get(key, (node, node))[0]
                    if not isinstance(key, str):
                        self.error(f"parameters: key {key!r} must be a name", where)
                        continue
                    self._check_parameter(f"parameters.{key}", key, item, where)
                    parameters[key] = item
        for key in sorted(MODEL_PARAMETERS & self.fields.keys()):
            node, value = self.keys[key], self.fields[key][1]
            if key in parameters:
                self.error(f"`{key}` is given both at the top level and under `parameters:`; keep one", node)
                continue
            self._check_parameter(key, key, value, node)
            parameters[key] = value
        return parameters

    def _check_parameter(self, label: str, key: str, value: Any, node: Node) -> None:
        problem = _json_problem(value)
        if problem is None:
            problem = _parameter_problem(key, value)
        if problem:
            self.error(f"{label}: {problem}", node)

    def _metadata(self) -> dict[str, Any]:
        if "metadata" not in self.fields:
            return {}
        value = self.fields["metadata"][1]
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error("`metadata` must be a mapping of free-form notes", self.keys["metadata"])
            return {}
        return value

    def _text_field(self, key: str) -> str | None:
        if key not in self.fields:
            return None
        node, value = self.fields[key]
        if value is None:
            return None
        if not isinstance(node, ScalarNode):
            self.error(f"`{key}` must be text", node)
            return None
        return str(node.value)

    def _created_at(self) -> str | None:
        if "created_at" not in self.fields:
            return None
        node, value = self.fields["created_at"]
        if value is None:
            return None
        if isinstance(node, ScalarNode) and node.tag == _TIMESTAMP_TAG:
            return str(value)
        if isinstance(value, str):
            try:
                datetime.fromisoformat(value)
            except ValueError:
                pass
            else:
                return value
        self.error("`created_at` must be an ISO 8601 date or timestamp, e.g. 2026-01-15", node)
        return None


def _json_problem(value: Any, where: str = "") -> str | None:
    """Why `value` cannot be sent as JSON (or hashed canonically), or None."""
    if value is None or isinstance(value, str | bool | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{where or 'value'} must be a finite number"
    if isinstance(value, list):
        for i, item in enumerate(value):
            problem = _json_problem(item, f"{where}[{i}]")
            if problem:
                return problem
        return None
    if isinstance(value, Mapping):
        for k, item in value.items():
            if not isinstance(k, str):
                return f"key {k!r}{' in ' + where if where else ''} must be text"
            problem = _json_problem(item, f"{where}.{k}" if where else k)
            if problem:
                return problem
        return None
    return f"{where or 'value'} of type {type(value).__name__} cannot be sent as JSON"


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parameter_problem(key: str, value: Any) -> str | None:
    if key == "model":
        return None if isinstance(value, str) and value.strip() else "must be a model name"
    if key in ("temperature", "top_p", "frequency_penalty", "presence_penalty"):
        low, high = {"temperature": (0, 2), "top_p": (0, 1)}.get(key, (-2, 2))
        if not _number(value) or not low <= value <= high:
            return f"must be a number from {low} to {high}, got {value!r}"
        return None
    if key in ("top_k", "max_tokens", "max_completion_tokens", "max_output_tokens", "n"):
        return None if _integer(value) and value >= 1 else f"must be a whole number >= 1, got {value!r}"
    if key == "seed":
        return None if _integer(value) else f"must be a whole number, got {value!r}"
    if key in ("stop", "stop_sequences"):
        ok = isinstance(value, str) or (isinstance(value, list) and all(isinstance(s, str) for s in value))
        return None if ok else "must be text or a list of texts"
    if key == "reasoning_effort":
        return None if isinstance(value, str) else "must be text, e.g. low, medium or high"
    return None
