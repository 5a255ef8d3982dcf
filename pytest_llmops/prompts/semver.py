"""Semantic versions (semver 2.0.0) and npm-style version ranges.

Versions are strict `MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]`: no leading
zeros, no `v` prefix in prompt files. Precedence follows semver 2.0.0 §11:
a pre-release sorts before its release (`1.0.0-rc.1 < 1.0.0`), numeric
identifiers compare as numbers and sort before alphanumeric ones, and a
longer identifier list wins when the shared part is equal. Build metadata
is ignored for precedence, so `1.0.0+a` and `1.0.0+b` are the same version.

Ranges follow npm's `node-semver` grammar and meaning:

- `1.2.3`, `=1.2.3`, `v1.2.3`        exactly that version
- `*`, `x`, `X`, `` (empty)           any release
- `1`, `1.x`, `1.*`                   `>=1.0.0 <2.0.0-0`
- `1.2`, `1.2.x`, `1.2.*`             `>=1.2.0 <1.3.0-0`
- `~1.2.3` / `~1.2` / `~1`            patch-level changes: `>=1.2.3 <1.3.0-0` / `>=1.2.0 <1.3.0-0`
                                      / `>=1.0.0 <2.0.0-0`
- `^1.2.3` / `^0.2.3` / `^0.0.3`      no change of the left-most non-zero part:
                                      `<2.0.0-0` / `<0.3.0-0` / `<0.0.4-0`
- `>1.2.3`, `>=1.2`, `<2`, `<=1.2`    comparisons; a partial version is filled
                                      in the npm way (`>1.2` = `>=1.3.0`, `<=1.2` = `<1.3.0-0`)
- `1.2.3 - 2.3`                       hyphen range: `>=1.2.3 <2.4.0-0`
- comparators separated by spaces or commas must all match (`>=1.2,<2`);
  `||` separates alternatives (`^1.2 || ^2`).

As in npm, a pre-release version only matches a range when one of the
comparators of the matching alternative names a pre-release of the same
`MAJOR.MINOR.PATCH`: `^1.2.3-beta.1` matches `1.2.3-beta.4` but not
`1.2.4-beta.1`, and `*` matches no pre-release at all.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

_NUM = r"0|[1-9]\d*"
_PRE_ID = r"(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)"
_PRE = rf"{_PRE_ID}(?:\.{_PRE_ID})*"
_BUILD = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"
_VERSION_RE = re.compile(rf"({_NUM})\.({_NUM})\.({_NUM})(?:-({_PRE}))?(?:\+({_BUILD}))?")

PreId = int | str


@functools.total_ordering
@dataclass(frozen=True, eq=False)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: tuple[PreId, ...] = ()
    build: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Version:
        """Parse a strict semantic version; ValueError says what is wrong."""
        match = _VERSION_RE.fullmatch(text)
        if match is None:
            raise ValueError(_explain_invalid(text))
        major, minor, patch, pre, build = match.groups()
        return cls(
            int(major),
            int(minor),
            int(patch),
            tuple(int(p) if p.isdigit() else p for p in pre.split(".")) if pre else (),
            tuple(build.split(".")) if build else (),
        )

    @property
    def is_prerelease(self) -> bool:
        return bool(self.prerelease)

    @property
    def release(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def _key(self) -> tuple[object, ...]:
        pre = tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in self.prerelease)
        # A release (no pre-release) sorts after all its pre-releases.
        return (self.major, self.minor, self.patch, 0 if pre else 1, pre)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self._key() == other._key()

    def __lt__(self, other: Version) -> bool:
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(str(p) for p in self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text


def _explain_invalid(text: str) -> str:
    hint = "use MAJOR.MINOR.PATCH, e.g. 1.3.0 or 2.0.0-rc.1 (semver 2.0.0)"
    if text[:1] in ("v", "V") and _VERSION_RE.fullmatch(text[1:]):
        return f"invalid version {text!r}: drop the leading 'v' ({hint})"
    core = re.split(r"[-+]", text, maxsplit=1)[0]
    parts = core.split(".")
    if all(p.isdigit() for p in parts) and len(parts) in (1, 2):
        filled = ".".join(parts + ["0"] * (3 - len(parts)))
        return f"invalid version {text!r}: it needs three numbers, e.g. {filled} ({hint})"
    if any(len(p) > 1 and p.startswith("0") and p.isdigit() for p in parts):
        return f"invalid version {text!r}: numbers must not have leading zeros ({hint})"
    return f"invalid version {text!r}: {hint}"


Op = Literal["<", "<=", ">", ">=", "="]


@dataclass(frozen=True)
class Comparator:
    """`op version`; `version` None means "any version"."""

    op: Op
    version: Version | None

    def test(self, v: Version) -> bool:
        if self.version is None:
            return True
        w = self.version
        if self.op == "=":
            return v == w
        if self.op == "<":
            return v < w
        if self.op == "<=":
            return v <= w
        if self.op == ">":
            return v > w
        return v >= w

    def __str__(self) -> str:
        return "*" if self.version is None else f"{self.op}{self.version}"


_ANY = Comparator(">=", None)
_NOTHING = Comparator("<", Version(0, 0, 0, (0,)))  # nothing sorts below 0.0.0-0

_XR = r"x|X|\*|0|[1-9]\d*"
_PARTIAL = rf"v?({_XR})(?:\.({_XR})(?:\.({_XR})(?:-({_PRE}))?(?:\+({_BUILD}))?)?)?"
_PARTIAL_RE = re.compile(_PARTIAL)
_COMPARATOR_RE = re.compile(rf"(\^|~>?|>=|<=|>|<|=)?{_PARTIAL}")
_HYPHEN_RE = re.compile(rf"({_PARTIAL})\s+-\s+({_PARTIAL})")
_OP_SPACE_RE = re.compile(r"(\^|~>?|>=|<=|>|<|=)\s+")


@dataclass(frozen=True)
class _Partial:
    major: int | None
    minor: int | None
    patch: int | None
    prerelease: tuple[PreId, ...]

    @classmethod
    def from_groups(cls, groups: tuple[str | None, ...]) -> _Partial:
        nums: list[int | None] = []
        wild = False
        for g in groups[:3]:
            wild = wild or g is None or g in ("x", "X", "*")
            nums.append(None if wild or g is None else int(g))
        pre = groups[3]
        pre_ids = tuple(int(p) if p.isdigit() else p for p in pre.split(".")) if pre and not wild else ()
        return cls(nums[0], nums[1], nums[2], pre_ids)

    def full(self) -> Version:
        return Version(self.major or 0, self.minor or 0, self.patch or 0, self.prerelease)


def _v(major: int, minor: int, patch: int, floor: bool = False) -> Version:
    """A version; `floor` makes it `X.Y.Z-0`, the lowest pre-release, for exclusive upper bounds."""
    return Version(major, minor, patch, (0,) if floor else ())


def _desugar(op: str, p: _Partial) -> list[Comparator]:
    M, m, pt = p.major, p.minor, p.patch
    if op in ("", "="):
        if M is None:
            return [_ANY]
        if m is None:
            return [Comparator(">=", _v(M, 0, 0)), Comparator("<", _v(M + 1, 0, 0, True))]
        if pt is None:
            return [Comparator(">=", _v(M, m, 0)), Comparator("<", _v(M, m + 1, 0, True))]
        return [Comparator("=", p.full())]
    if op in ("~", "~>"):
        if M is None:
            return [_ANY]
        if m is None:
            return [Comparator(">=", _v(M, 0, 0)), Comparator("<", _v(M + 1, 0, 0, True))]
        return [Comparator(">=", p.full()), Comparator("<", _v(M, m + 1, 0, True))]
    if op == "^":
        if M is None:
            return [_ANY]
        if m is None:
            upper = _v(M + 1, 0, 0, True)
        elif pt is None:
            upper = _v(M, m + 1, 0, True) if M == 0 else _v(M + 1, 0, 0, True)
        elif M != 0:
            upper = _v(M + 1, 0, 0, True)
        elif m != 0:
            upper = _v(0, m + 1, 0, True)
        else:
            upper = _v(0, 0, pt + 1, True)
        return [Comparator(">=", p.full()), Comparator("<", upper)]
    if M is None:
        return [_NOTHING] if op in ("<", ">") else [_ANY]
    if op == ">":
        if m is None:
            return [Comparator(">=", _v(M + 1, 0, 0))]
        if pt is None:
            return [Comparator(">=", _v(M, m + 1, 0))]
        return [Comparator(">", p.full())]
    if op == ">=":
        return [Comparator(">=", p.full())]
    if op == "<":
        return [Comparator("<", p.full() if pt is not None else _v(M, m or 0, 0, True))]
    # "<="
    if m is None:
        return [Comparator("<", _v(M + 1, 0, 0, True))]
    if pt is None:
        return [Comparator("<", _v(M, m + 1, 0, True))]
    return [Comparator("<=", p.full())]


def _hyphen(low: _Partial, high: _Partial) -> list[Comparator]:
    out = [Comparator(">=", low.full())] if low.major is not None else []
    if high.major is not None:
        out += _desugar("<=", high)
    return out or [_ANY]


@dataclass(frozen=True)
class Range:
    """An npm-style range: alternatives (`||`) of comparator sets that must all match."""

    text: str
    alternatives: tuple[tuple[Comparator, ...], ...]

    @classmethod
    def parse(cls, text: str) -> Range:
        alternatives: list[tuple[Comparator, ...]] = []
        for part in text.split("||"):
            part = part.strip()
            hyphen = _HYPHEN_RE.fullmatch(part)
            if hyphen:
                groups = hyphen.groups()
                low = _Partial.from_groups(groups[1:6])
                high = _Partial.from_groups(groups[7:12])
                alternatives.append(tuple(_hyphen(low, high)))
                continue
            comparators: list[Comparator] = []
            tokens = [t for t in re.split(r"[\s,]+", _OP_SPACE_RE.sub(r"\1", part)) if t]
            for token in tokens or ["*"]:
                match = _COMPARATOR_RE.fullmatch(token)
                if match is None:
                    raise ValueError(
                        f"invalid version range {text!r}: cannot read {token!r} "
                        "(use e.g. 1.3.2, ^1.3, ~1.3.0, >=1.2,<2, 1.x, 1.3.*, latest)"
                    )
                op = match.group(1) or ""
                comparators += _desugar(op, _Partial.from_groups(match.groups()[1:]))
            alternatives.append(tuple(comparators))
        return cls(text, tuple(alternatives))

    def matches(self, version: Version) -> bool:
        return any(_set_matches(alt, version) for alt in self.alternatives)

    def __str__(self) -> str:
        return self.text


def _set_matches(comparators: tuple[Comparator, ...], version: Version) -> bool:
    if not all(c.test(version) for c in comparators):
        return False
    if not version.is_prerelease:
        return True
    # npm: a pre-release only matches when the range asks for pre-releases of that very release.
    return any(
        c.version is not None and c.version.is_prerelease and c.version.release == version.release
        for c in comparators
    )


def is_exact(text: str) -> bool:
    """True when `text` names one version rather than a range."""
    return _VERSION_RE.fullmatch(text.removeprefix("=").removeprefix("v")) is not None
