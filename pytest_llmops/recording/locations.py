"""Where a test's cassette lives: `<test dir>/cassettes/<module>/<Class.test[params]>.yaml` by default."""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path, PurePath

UNSAFE = re.compile(r"[^A-Za-z0-9._\-\[\]@=+,]")
MAX_NAME = 120


def safe_name(name: str) -> str:
    """Replace characters that are unsafe in file names; shorten long names with a hash of the original."""
    cleaned = UNSAFE.sub("_", name).strip(".") or "_"
    if len(cleaned) <= MAX_NAME:
        return cleaned
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:12]
    return f"{cleaned[: MAX_NAME - 13]}-{digest}"


def test_name(nodeid: str) -> str:
    """`path/test_x.py::Class::test[p]` -> `Class.test[p]`."""
    return ".".join(nodeid.split("::")[1:])


def cassette_path(
    test_file: Path,
    nodeid: str,
    *,
    folder: str,
    name_template: str,
    rootdir: Path,
    marker_name: str | None = None,
    marker_dir: str | None = None,
) -> Path:
    if marker_name and Path(marker_name).is_absolute():
        return Path(marker_name)
    if marker_name:
        relative = marker_name
    else:
        full = test_name(nodeid)
        name = safe_name(full)
        base = full.split("[")[0]
        fields = {
            "module": test_file.stem,
            "name": name,
            "test": name if base == full else safe_name(base),
        }
        try:
            relative = name_template.format(**fields)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"llm_cassette_name = {name_template!r} is not valid ({exc}); use the fields {{module}}, {{name}}, {{test}}"
            ) from None
    if os.sep == "/" and not relative.startswith("/"):  # as PurePath splits it on POSIX, without one
        pieces: Iterable[str] = relative.split("/")
    else:
        pieces = PurePath(relative).parts
    parts = [safe_name(p) for p in pieces if p not in ("", ".", "..")]
    # This runs for every llm test: one Path built, the folder resolved once per test folder.
    path = os.path.join(_base(str(test_file.parent), marker_dir or folder, str(rootdir)), *parts)
    if os.path.splitext(path)[1] not in (".yaml", ".yml", ".json"):
        path += ".yaml"
    return Path(path)


@functools.lru_cache(maxsize=512)
def _base(test_dir: str, folder: str, rootdir: str) -> str:
    """The cassette folder: `folder` ({rootdir} filled in), relative to the test's folder unless absolute."""
    base = Path(folder.replace("{rootdir}", rootdir))
    return str(base if base.is_absolute() else Path(test_dir) / base)
