"""`Prompt`: one version of one prompt, as loaded from its YAML file.

A prompt is either a text `template` or a chat (`message_templates`, one
per `{role, content}` item of the file's `messages:`). Both render with the
same variables; `messages(**vars)` works for either form, `format(**vars)`
only for text prompts (flattening a chat into one string silently changes
what a model sees, so it raises and points at `messages()`).

`sha256` is the identity of the *content*: the SHA-256 of the canonical JSON
of `{"template": ...}` or `{"messages": [{"role", "content"}, ...]}` plus
`"parameters"` (keys sorted, no whitespace, UTF-8, integral floats written as
integers so `temperature: 1.0` and `temperature: 1` agree). The name,
version, metadata, `created_by`/`created_at`, `description`, and the file's
layout, quoting and comments are not part of it. `prompts.lock` stores these
hashes, so this definition is part of the lock file format.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pytest_llmops.prompts.errors import PromptError
from pytest_llmops.prompts.render import Template
from pytest_llmops.prompts.semver import Version


@dataclass(frozen=True)
class MessageTemplate:
    role: str
    content: str


@dataclass(frozen=True, eq=False)
class Prompt:
    """One prompt version. Equal prompts have the same name, version and content hash.

    `parameters` and `metadata` return fresh copies: a prompt is shared by
    every test that uses it, so mutating what it hands out must not leak.
    """

    name: str
    version: str
    path: Path
    line: int
    template: str | None
    message_templates: tuple[MessageTemplate, ...] | None
    created_by: str | None
    created_at: str | None
    description: str | None
    sha256: str
    variables: frozenset[str]
    _parameters: Mapping[str, Any] = field(repr=False)
    _metadata: Mapping[str, Any] = field(repr=False)
    _compiled: tuple[Template, ...] = field(repr=False)

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def short_hash(self) -> str:
        return self.sha256[:12]

    @property
    def kind(self) -> Literal["text", "chat"]:
        return "text" if self.template is not None else "chat"

    @property
    def semver(self) -> Version:
        return Version.parse(self.version)

    @property
    def is_prerelease(self) -> bool:
        return self.semver.is_prerelease

    @property
    def parameters(self) -> dict[str, Any]:
        """Model parameters (`model`, `temperature`, ...), ready for `client.create(**prompt.parameters)`."""
        return copy.deepcopy(dict(self._parameters))

    @property
    def metadata(self) -> dict[str, Any]:
        return copy.deepcopy(dict(self._metadata))

    @property
    def model(self) -> str | None:
        value = self._parameters.get("model")
        return value if isinstance(value, str) else None

    def format(self, /, **values: object) -> str:
        """The text of a text prompt with `values` substituted (each turned into text with `str`)."""
        if self.template is None:
            raise PromptError(
                "format() needs a text prompt (`template:`), this one is a chat (`messages:`); "
                "use .messages(**variables) instead",
                path=self.path,
                line=self.line,
                ref=self.ref,
            )
        self._check_variables(values)
        return self._compiled[0].render(values)

    def messages(self, /, **values: object) -> list[dict[str, str]]:
        """Chat messages with `values` substituted; a text prompt is one `user` message."""
        self._check_variables(values)
        if self.message_templates is None:
            return [{"role": "user", "content": self._compiled[0].render(values)}]
        return [
            {"role": m.role, "content": t.render(values)}
            for m, t in zip(self.message_templates, self._compiled, strict=True)
        ]

    def openai_kwargs(self, /, **values: object) -> dict[str, Any]:
        """Keyword arguments for `OpenAI().chat.completions.create(**...)`: `model`, `messages` and the
        prompt's other parameters. `stop_sequences` becomes `stop`; `top_k`, which OpenAI lacks, is an
        error naming the file."""
        params = self.parameters
        self._refuse(params, {"top_k"}, "OpenAI's Chat Completions API")
        if "stop_sequences" in params and "stop" not in params:
            params["stop"] = params.pop("stop_sequences")
        self._require_model(params)
        return {"model": params.pop("model"), "messages": self.messages(**values), **params}

    def anthropic_kwargs(self, /, **values: object) -> dict[str, Any]:
        """Keyword arguments for `Anthropic().messages.create(**...)` (and `.stream(**...)`).

        System (and developer) messages become `system`; `max_tokens` comes from the prompt file
        (or `max_completion_tokens` / `max_output_tokens`) and is required; `stop` becomes
        `stop_sequences`; OpenAI-style function `tools` and `tool_choice` are converted. The sampling
        parameters (`temperature`, `top_p`, `top_k`) travel in `extra_body`, which every version of the
        anthropic SDK accepts (recent ones have no keyword for them). A parameter Anthropic does not
        have (`seed`, `n`, `response_format`, ...) is an error naming the file.
        """
        params = self.parameters
        self._refuse(
            params,
            {"seed", "n", "frequency_penalty", "presence_penalty", "response_format", "reasoning_effort"},
            "Anthropic's Messages API",
        )
        self._require_model(params)
        out: dict[str, Any] = {"model": params.pop("model")}
        limits = [
            params.pop(k) for k in ("max_tokens", "max_completion_tokens", "max_output_tokens") if k in params
        ]
        if not limits:
            raise PromptError(
                "Anthropic needs max_tokens, and this prompt sets none: add `max_tokens: N` to the prompt "
                'file, or pass {**prompt.anthropic_kwargs(...), "max_tokens": N}',
                path=self.path,
                line=self.line,
                ref=self.ref,
            )
        out["max_tokens"] = limits[0]
        system: list[str] = []
        chat: list[dict[str, str]] = []
        for message in self.messages(**values):
            if message["role"] in ("system", "developer"):
                system.append(message["content"])
            else:
                chat.append(message)
        if system:
            out["system"] = "\n\n".join(system)
        out["messages"] = chat
        stop = params.pop("stop", None)
        if stop is not None and "stop_sequences" not in params:
            params["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
        if "tools" in params:
            params["tools"] = [_anthropic_tool(t) for t in params["tools"]]
        if "tool_choice" in params:
            params["tool_choice"] = _anthropic_tool_choice(params["tool_choice"])
        sampling = {k: params.pop(k) for k in ("temperature", "top_p", "top_k") if k in params}
        out.update(params)
        if sampling:
            out["extra_body"] = sampling
        return out

    def _require_model(self, params: Mapping[str, Any]) -> None:
        if not isinstance(params.get("model"), str):
            raise PromptError(
                "the prompt names no model: add `model: ...` to the prompt file",
                path=self.path,
                line=self.line,
                ref=self.ref,
            )

    def _refuse(self, params: Mapping[str, Any], unsupported: set[str], api: str) -> None:
        found = sorted(unsupported & params.keys())
        if found:
            raise PromptError(
                f"{_plural('parameter', found)} {_names(found)} {'is' if len(found) == 1 else 'are'} not "
                f"available in {api}; remove {'it' if len(found) == 1 else 'them'} from the prompt file, or keep "
                "a version of the prompt for that provider",
                path=self.path,
                line=self.line,
                ref=self.ref,
            )

    def _check_variables(self, values: Mapping[str, object]) -> None:
        missing = sorted(self.variables - values.keys())
        extra = sorted(values.keys() - self.variables)
        if not missing and not extra:
            return
        problems = []
        if missing:
            problems.append(f"missing {_plural('variable', missing)} {_names(missing)}")
        if extra:
            problems.append(
                f"unexpected {_plural('variable', extra)} {_names(extra)} (not used by the prompt)"
            )
        uses = ", ".join(sorted(self.variables)) or "no variables"
        raise PromptError(
            f"{'; '.join(problems)}; the prompt uses: {uses}",
            path=self.path,
            line=self.line,
            ref=self.ref,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Prompt):
            return NotImplemented
        return (self.name, self.version, self.sha256) == (other.name, other.version, other.sha256)

    def __hash__(self) -> int:
        return hash((self.name, self.version, self.sha256))


def _anthropic_tool(tool: Any) -> Any:
    """An OpenAI function tool ({"type": "function", "function": {...}}) as an Anthropic tool; others as given."""
    if (
        isinstance(tool, Mapping)
        and tool.get("type") == "function"
        and isinstance(tool.get("function"), Mapping)
    ):
        function = tool["function"]
        converted = {
            "name": function.get("name"),
            "input_schema": function.get("parameters") or {"type": "object"},
        }
        if function.get("description"):
            converted["description"] = function["description"]
        return converted
    return tool


def _anthropic_tool_choice(choice: Any) -> Any:
    """OpenAI's "auto" / "required" / "none" / {"type": "function", ...} in Anthropic's form."""
    if choice in ("auto", "none"):
        return {"type": choice}
    if choice == "required":
        return {"type": "any"}
    if isinstance(choice, Mapping) and choice.get("type") == "function":
        return {"type": "tool", "name": (choice.get("function") or {}).get("name")}
    return choice


def _plural(word: str, items: list[str]) -> str:
    return word if len(items) == 1 else word + "s"


def _names(items: list[str]) -> str:
    return ", ".join(repr(i) for i in items)


def content_sha256(
    template: str | None,
    messages: tuple[MessageTemplate, ...] | None,
    parameters: Mapping[str, Any],
) -> str:
    """The content hash described in the module docstring."""
    content: dict[str, Any] = {"parameters": _canonical(parameters)}
    if template is not None:
        content["template"] = template
    else:
        content["messages"] = [{"role": m.role, "content": m.content} for m in messages or ()]
    data = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value
