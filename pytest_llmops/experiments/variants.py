"""Variants to compare: a prompt version, a model and parameters, given a name.

The first variant listed is the control; every other one is compared with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

RESERVED = ("prompt", "model", "provider")


class VariantError(Exception):
    pass


@dataclass(frozen=True)
class Variant:
    """`prompt_ref` is what the config says (name@version); `prompt` is the resolved `Prompt` in tests."""

    name: str
    prompt_ref: str | None = None
    model: str | None = None
    provider: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    prompt: Any = None
    index: int = 0
    """Position in the marker's list: 0 is the control."""

    @property
    def config(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.prompt_ref is not None:
            out["prompt"] = self.prompt_ref
        if self.model is not None:
            out["model"] = self.model
        if self.provider is not None:
            out["provider"] = self.provider
        out.update(self.params)
        return out

    def __getitem__(self, key: str) -> Any:
        return self.config[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.config.get(key, default)


def build(name: str, config: dict[str, Any], where: str) -> Variant:
    if not isinstance(config, dict):
        raise VariantError(f"{where}: variant {name!r} must be a mapping, got {type(config).__name__}")
    for key in ("prompt", "model", "provider"):
        if key in config and not isinstance(config[key], str):
            raise VariantError(f"{where}: variant {name!r}: {key} must be a string")
    params = {k: v for k, v in config.items() if k not in RESERVED}
    if isinstance(config.get("params"), dict):
        params.pop("params")
        params.update(config["params"])
    return Variant(name, config.get("prompt"), config.get("model"), config.get("provider"), params)


def load_file(path: Path) -> dict[str, Variant]:
    import yaml

    if not path.is_file():
        raise VariantError(f"llm_variants file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        raise VariantError(f"{path}{line}: malformed YAML: {getattr(exc, 'problem', exc)}") from None
    if isinstance(data, dict) and "variants" in data:
        data = data["variants"]
    if not isinstance(data, dict) or not data:
        raise VariantError(f"{path}: expected a mapping 'variants:' of name -> {{prompt, model, params}}")
    return {str(name): build(str(name), cfg, str(path)) for name, cfg in data.items()}


def from_marker(spec: Any, defined: dict[str, Variant] | None, where: str) -> list[Variant]:
    """Variants named by a marker: a dict of configs, or a list of names from the llm_variants file."""
    if isinstance(spec, dict):
        chosen = [build(str(name), cfg, where) for name, cfg in spec.items()]
        return [replace(v, index=i) for i, v in enumerate(chosen)]
    if defined is None:
        raise VariantError(
            f"{where}: variants={spec!r} names variants, but no llm_variants file is configured"
        )
    missing = [n for n in spec if n not in defined]
    if missing:
        raise VariantError(f"{where}: unknown variant(s) {missing}; defined: {', '.join(defined)}")
    return [replace(defined[n], index=i) for i, n in enumerate(spec)]
