"""`PromptRegistry`: every prompt version of a folder, looked up by reference.

A reference is `name` or `name@selector`; the selector is:

- `latest` (the default): the highest version that is not a pre-release;
- an exact version, `1.3.2` or `2.0.0-rc.1`;
- `*`: every released version;
- an npm-style range (`^1.3`, `~1.3.0`, `>=1.2,<2`, `1.x`, `1.3.*`, ...; see
  `pytest_llmops.prompts.semver` for the grammar and the pre-release rule).

`resolve` returns every match in ascending version order, `get` the highest.
Both raise `PromptNotFound` listing what exists instead of returning nothing.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from pathlib import Path

from pytest_llmops.prompts.errors import PromptError, PromptNotFound
from pytest_llmops.prompts.loader import load_directory
from pytest_llmops.prompts.model import Prompt
from pytest_llmops.prompts.semver import Range

LATEST = "latest"

_SELECTOR_HELP = "latest, an exact version like 1.3.2, *, or a range like ^1.3, ~1.3.0, >=1.2,<2, 1.x"


def parse_ref(spec: str) -> tuple[str, str]:
    """Split `name[@selector]` into `(name, selector)`; the selector defaults to `latest`.

    The selector is checked here so that a typo fails where the reference is written.
    """
    name, sep, selector = spec.strip().partition("@")
    name, selector = name.strip(), selector.strip()
    if not name:
        raise PromptError(f"invalid prompt reference {spec!r}: it needs a name, e.g. rag_qa@1.3.2")
    if sep and not selector:
        raise PromptError(f"invalid prompt reference {spec!r}: nothing after '@' (use {_SELECTOR_HELP})")
    selector = selector or LATEST
    _selector_range(spec, selector)
    return name, selector


def _selector_range(spec: str, selector: str) -> Range | None:
    if selector == LATEST:
        return None
    try:
        return Range.parse(selector)
    except ValueError as exc:
        raise PromptError(f"invalid prompt reference {spec!r}: {exc}") from None


class PromptRegistry:
    """Prompt versions by name. `errors` holds every problem found while loading."""

    def __init__(
        self,
        prompts: Iterable[Prompt] = (),
        *,
        directory: Path | None = None,
        errors: Iterable[PromptError] = (),
    ) -> None:
        self.directory = directory
        self.errors: list[PromptError] = list(errors)
        self._by_name: dict[str, list[Prompt]] = {}
        for prompt in prompts:
            self._by_name.setdefault(prompt.name, []).append(prompt)
        for versions in self._by_name.values():
            versions.sort(key=lambda p: p.semver)

    @classmethod
    def load(cls, directory: Path) -> PromptRegistry:
        """Load every prompt file under `directory`.

        Problems in files do not raise: they are collected in `errors` and
        every valid prompt still loads. A missing folder raises `PromptError`.
        """
        result = load_directory(Path(directory))
        return cls(result.prompts, directory=Path(directory), errors=result.errors)

    def __iter__(self) -> Iterator[Prompt]:
        for name in self.names():
            yield from self._by_name[name]

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_name.values())

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def versions(self, name: str) -> list[str]:
        """The versions of `name`, lowest first (pre-releases included)."""
        return [p.version for p in self._prompts_named(name, None)]

    def get(self, ref_or_name: str, version: str | None = None) -> Prompt:
        """The highest version matching `name@selector`, or `name` and a separate `version` selector."""
        if version is not None:
            if "@" in ref_or_name:
                raise PromptError(
                    f"give the version either in the reference or as `version`, not both: "
                    f"{ref_or_name!r} and version={version!r}"
                )
            ref_or_name = f"{ref_or_name}@{version}"
        return self.resolve(ref_or_name)[-1]

    def resolve(self, spec: str) -> list[Prompt]:
        """Every version matching `spec`, lowest first; never empty."""
        name, selector = parse_ref(spec)
        candidates = self._prompts_named(name, selector)
        listed = ", ".join(p.version for p in candidates)
        if selector == LATEST:
            releases = [p for p in candidates if not p.is_prerelease]
            if releases:
                return [releases[-1]]
            raise PromptNotFound(
                f"prompt {name!r} has only pre-release versions ({listed}), and latest never picks one; "
                f"ask for one exactly, e.g. {name}@{candidates[-1].version}",
                name=name,
                selector=selector,
                available=[p.version for p in candidates],
            )
        wanted = _selector_range(spec, selector)
        assert wanted is not None
        matched = [p for p in candidates if wanted.matches(p.semver)]
        if matched:
            return matched
        hint = " (pre-releases only match a range that names a pre-release of the same version)"
        raise PromptNotFound(
            f"prompt {name!r} has no version matching {selector!r}; versions: {listed}"
            + (hint if any(p.is_prerelease for p in candidates) else ""),
            name=name,
            selector=selector,
            available=[p.version for p in candidates],
        )

    def _prompts_named(self, name: str, selector: str | None) -> list[Prompt]:
        if name in self._by_name:
            return self._by_name[name]
        names = self.names()
        close = difflib.get_close_matches(name, names, n=1)
        where = f" in {self.directory}" if self.directory is not None else ""
        known = ", ".join(names) if names else "none"
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise PromptNotFound(
            f"no prompt named {name!r}{where}; {hint}known prompts: {known}",
            name=name,
            selector=selector,
            available=names,
        )
