"""Golden datasets: YAML, JSONL or CSV files of cases that parametrize a test, one case per row."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

ID_SAFE = re.compile(r"[^A-Za-z0-9_.\-]")


class DatasetError(Exception):
    pass


@dataclass(frozen=True)
class Case:
    """One row. `data` holds every field; `id` comes from an `id` field or the row number (row1, row2...)."""

    id: str
    data: dict[str, Any]
    source: str
    line: int | None = None

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.data


def _where(path: Path, row: int, line: int | None) -> str:
    return f"{path}, row {row}" + (f" (line {line})" if line else "")


def _yaml_rows(path: Path, text: str) -> list[tuple[Any, int | None]]:
    import yaml

    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}" if mark is not None else str(path)
        raise DatasetError(f"{where}: malformed YAML: {getattr(exc, 'problem', exc)}") from None
    nodes: Any = root.value if root is not None else []
    if isinstance(data, dict) and isinstance(data.get("cases"), list):
        items = data["cases"]
        nodes = next((v.value for k, v in nodes if k.value == "cases"), [])
    elif isinstance(data, list):
        items = data
    else:
        raise DatasetError(f"{path}: expected a list of cases, or a mapping with a 'cases:' list")
    lines = [n.start_mark.line + 1 for n in nodes] if isinstance(nodes, list) else []
    return [(item, lines[i] if i < len(lines) else None) for i, item in enumerate(items)]


def _jsonl_rows(path: Path, text: str) -> list[tuple[Any, int | None]]:
    rows: list[tuple[Any, int | None]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            rows.append((json.loads(line), number))
        except ValueError as exc:
            raise DatasetError(f"{path}, line {number}: malformed JSON: {exc}") from None
    return rows


def _csv_rows(path: Path, text: str) -> list[tuple[Any, int | None]]:
    reader = csv.DictReader(text.splitlines())
    rows: list[tuple[Any, int | None]] = []
    for record in reader:
        line = reader.line_num
        if None in record:
            raise DatasetError(f"{path}, line {line}: more values than the header has columns")
        if any(v is None for v in record.values()):
            raise DatasetError(f"{path}, line {line}: fewer values than the header has columns")
        rows.append((dict(record), line))
    if reader.fieldnames is None:
        raise DatasetError(f"{path}: the CSV file has no header row")
    return rows


def _read_text(path: Path) -> str:
    """The file as UTF-8 text; anything else is a DatasetError naming the file, line and byte."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        offset = exc.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        line = data.count(b"\n", 0, offset) + 1
        raise DatasetError(
            f"{path}, line {line}: not UTF-8 text (byte {offset}: {data[offset : offset + 1]!r}). "
            "Save the file as UTF-8 (e.g. in a spreadsheet: export as 'CSV UTF-8')."
        ) from None
    return text


@lru_cache(maxsize=64)
def load(path: Path) -> tuple[Case, ...]:
    """Read every row; the first malformed one raises DatasetError naming the file and row."""
    if not path.is_file():
        raise DatasetError(f"dataset file {path} does not exist")
    text = _read_text(path)
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        rows = _yaml_rows(path, text)
    elif suffix in (".jsonl", ".ndjson"):
        rows = _jsonl_rows(path, text)
    elif suffix == ".csv":
        rows = _csv_rows(path, text)
    else:
        raise DatasetError(f"{path}: unsupported dataset format {suffix!r}; use .yaml, .jsonl or .csv")
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for number, (row, line) in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise DatasetError(
                f"{_where(path, number, line)}: a case must be a mapping of fields, got {type(row).__name__}"
            )
        raw_id = row.get("id")
        if raw_id is not None and (not isinstance(raw_id, str | int) or str(raw_id).strip() == ""):
            raise DatasetError(f"{_where(path, number, line)}: 'id' must be a non-empty string or number")
        case_id = ID_SAFE.sub("_", str(raw_id)) if raw_id is not None else f"row{number}"
        if case_id in seen:
            raise DatasetError(
                f"{_where(path, number, line)}: duplicate id {case_id!r} (first at row {seen[case_id]})"
            )
        seen[case_id] = number
        cases.append(Case(case_id, dict(row), str(path), line))
    if not cases:
        raise DatasetError(f"{path}: the dataset has no rows")
    return tuple(cases)
