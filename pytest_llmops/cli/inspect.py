"""`pytest-llmops inspect PATH... [--json] [--prices FILE]`: what is in these cassettes, and what it cost.

Every interaction is listed, LLM call or not, with the tokens its recording
reports and its cost. Token counts are only what the recording says: a stream
recorded without usage shows null tokens and cost in `--json` (the table shows
the estimate, marked `~`, and leaves it out of the totals). A file that cannot
be read is reported on stderr and the others are still listed; the exit
status is then 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_llmops.recording.interactions import Interaction
    from pytest_llmops.spend.calls import LLMCall
    from pytest_llmops.spend.pricing import PriceTable

__all__ = ["CASSETTE_SUFFIXES", "JSON_KEYS", "find_cassettes", "inspect_rows", "register", "run"]

CASSETTE_SUFFIXES = frozenset({".yaml", ".yml", ".json", ".har"})
JSON_KEYS = (
    "file",
    "index",
    "provider",
    "endpoint",
    "model",
    "stream",
    "status",
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
    "cost_usd",
    "recorded_at",
    "age_days",
)
_TOKEN_KEYS = ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens")
EXIT_OK = 0
EXIT_UNREADABLE = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "inspect",
        help="list the LLM calls in cassettes, with tokens and cost",
        description="List every interaction in cassette files and folders (searched recursively for "
        "*.yaml, *.yml, *.json, *.har) with provider, model, tokens and cost, then totals. "
        "Exit status 2 if a file could not be read.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", type=Path, help="cassette file or folder")
    parser.add_argument("--json", action="store_true", help="print a JSON array, one object per interaction")
    parser.add_argument(
        "--prices", metavar="FILE", type=Path, help="YAML price file overriding genai-prices, as `llm_prices`"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, out: IO[str] | None = None, err: IO[str] | None = None) -> int:
    from pytest_llmops.spend.pricing import PriceFileError, PriceTable

    out = out or sys.stdout
    err = err or sys.stderr
    table: PriceTable | None = None
    if args.prices is not None:
        try:
            table = PriceTable.load(args.prices)
        except PriceFileError as exc:
            print(f"pytest-llmops inspect: {exc}", file=err)
            return EXIT_UNREADABLE
    failures: list[str] = []
    rows = list(inspect_rows(args.paths, table, failures))
    for failure in failures:
        print(f"pytest-llmops inspect: {failure}", file=err)
    if args.json:
        _print_json(rows, out)
    else:
        _print_table(rows, out, table)
    return EXIT_UNREADABLE if failures else EXIT_OK


@dataclass(slots=True)
class Row:
    """One interaction as `inspect` shows it; `json()` is the `--json` object."""

    file: str
    index: int
    call: LLMCall | None
    endpoint: str | None
    stream: bool
    status: int
    cost_usd: float | None
    recorded_at: str | None = None
    age_days: int | None = None

    def json(self) -> dict[str, Any]:
        call = self.call
        # Only counts the recording states: an estimate is no recorded usage, and neither is its cost.
        recorded = call if call is not None and not call.estimated else None
        return {
            "file": self.file,
            "index": self.index,
            "provider": call.provider if call is not None else None,
            "endpoint": self.endpoint,
            "model": call.model if call is not None else None,
            "stream": self.stream,
            "status": self.status,
            **{key: getattr(recorded, key) if recorded is not None else None for key in _TOKEN_KEYS},
            "cost_usd": self.cost_usd if recorded is not None else None,
            "recorded_at": self.recorded_at,
            "age_days": self.age_days,
        }


def find_cassettes(paths: Sequence[Path], failures: list[str]) -> Iterator[Path]:
    """Files named on the command line, then cassette files under folders, sorted, each once."""
    seen: set[Path] = set()
    for path in paths:
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.suffix.lower() in CASSETTE_SUFFIXES and p.is_file() and not _hidden(p.relative_to(path))
            )
        elif path.exists():
            found = [path]
        else:
            failures.append(f"{path}: no such file or folder")
            continue
        for file in found:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                yield file


def inspect_rows(paths: Sequence[Path], table: PriceTable | None, failures: list[str]) -> Iterator[Row]:
    """A row per interaction in every readable file; each unreadable one adds a line to `failures`."""
    from pytest_llmops.recording.formats import CassetteFormatError, load_interactions
    from pytest_llmops.results.report.recordings import recorded_date
    from pytest_llmops.spend.pricing import price_call
    from pytest_llmops.spend.providers import builtin_parse_call

    today = datetime.now(UTC).date()

    for file in find_cassettes(paths, failures):
        try:
            interactions = load_interactions(file)
        except CassetteFormatError as exc:
            failures.append(str(exc))
            continue
        except OSError as exc:
            failures.append(f"{file}: cannot read: {exc.strerror or exc}")
            continue
        except Exception as exc:  # a reader bug on one odd file must not hide the others
            failures.append(f"{file}: cannot read: {type(exc).__name__}: {exc}")
            continue
        for index, interaction in enumerate(interactions):
            call = builtin_parse_call(interaction)
            cost = price_call(call, table) if call is not None else None
            # The recording time as pricing reads it: our metadata, else the response's Date header.
            recorded_at = call.recorded_at if call is not None else interaction.meta.recorded_at
            day = recorded_date(recorded_at)
            yield Row(
                file=str(file),
                index=index,
                call=call,
                endpoint=call.endpoint if call is not None else _path(interaction),
                stream=call.stream
                if call is not None
                else interaction.response.is_sse or interaction.response.is_json_lines,
                status=interaction.response.status,
                cost_usd=cost,
                recorded_at=recorded_at if day is not None else None,
                age_days=(today - day).days if day is not None else None,
            )


def _path(interaction: Interaction) -> str | None:
    if interaction.request is None:
        return None
    try:
        return interaction.request.path
    except ValueError:  # unsplittable URI: show it whole rather than fail the listing
        return interaction.request.uri


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _print_json(rows: list[Row], out: IO[str]) -> None:
    # One object per line: readable, and far faster than `indent=` on large folders.
    if not rows:
        out.write("[]\n")
        return
    out.write("[\n")
    out.write(",\n".join(json.dumps(row.json(), ensure_ascii=False) for row in rows))
    out.write("\n]\n")


# --- the human table ------------------------------------------------------------------------------

_HEADERS = (
    *("#", "PROVIDER", "ENDPOINT", "MODEL", "STREAM", "STATUS"),
    *("INPUT", "CACHED", "CACHE_W", "OUTPUT", "COST", "ERROR"),
)
_RIGHT = frozenset({"#", "STATUS", "INPUT", "CACHED", "CACHE_W", "OUTPUT", "COST"})


def _print_table(rows: list[Row], out: IO[str], table: PriceTable | None) -> None:
    cells: list[tuple[str, ...] | str] = []
    current_file = None
    for row in rows:
        if row.file != current_file:
            current_file = row.file
            cells.append(row.file)
        cells.append(_cells(row))
    widths = [len(h) for h in _HEADERS]
    for line in cells:
        if isinstance(line, tuple):
            widths = [max(w, len(c)) for w, c in zip(widths, line, strict=True)]
    if rows:
        out.write(_format(_HEADERS, widths) + "\n")
    for line in cells:
        out.write((line if isinstance(line, str) else _format(line, widths)) + "\n")
    out.write(_totals(rows, table))


def _cells(row: Row) -> tuple[str, ...]:
    call = row.call
    mark = "~" if call is not None and call.estimated else ""

    def tokens(value: int | None) -> str:
        return "-" if value is None else f"{mark}{value:,}"

    counts = [tokens(getattr(call, key)) if call is not None else "-" for key in _TOKEN_KEYS]
    return (
        str(row.index),
        call.provider if call is not None else "-",
        row.endpoint or "-",
        (call.model if call is not None else None) or "-",
        "yes" if row.stream else "no",
        str(row.status),
        *counts,
        "-" if row.cost_usd is None else mark + _dollars(row.cost_usd),
        (call.error_type if call is not None else None) or "",
    )


def _ages(rows: list[Row]) -> list[str]:
    """When the interactions were recorded: the oldest (and its file), the newest, and the undated."""
    dated = [row for row in rows if row.recorded_at is not None and row.age_days is not None]
    lines = []
    if dated:
        oldest = max(dated, key=lambda row: (row.age_days or 0, row.file))
        newest = min(dated, key=lambda row: row.age_days or 0)
        lines.append(
            f"recorded: oldest {str(oldest.recorded_at)[:10]} ({oldest.age_days} days ago, {oldest.file}), "
            f"newest {str(newest.recorded_at)[:10]} ({newest.age_days} days ago)"
        )
    undated = len(rows) - len(dated)
    if undated:
        lines.append(
            f"{undated} interactions carry no recording time (no metadata.recorded_at, no Date header)"
        )
    return lines


def _dollars(cost: float) -> str:
    # Eight decimals: a short embedding call costs a few millionths of a cent.
    return "$0" if cost == 0 else f"${cost:.8f}"


def _format(cells: Sequence[str], widths: Sequence[int]) -> str:
    parts = [
        c.rjust(w) if h in _RIGHT else c.ljust(w) for c, w, h in zip(cells, widths, _HEADERS, strict=True)
    ]
    return "  " + "  ".join(parts).rstrip()


def _totals(rows: list[Row], table: PriceTable | None) -> str:
    from pytest_llmops.spend.pricing import unknown_models

    files = len({row.file for row in rows})
    calls = [row for row in rows if row.call is not None]
    recorded = [row for row in calls if row.call is not None and not row.call.estimated]
    estimated = len(calls) - len(recorded)
    sums = {key: sum(getattr(row.call, key) or 0 for row in recorded) for key in _TOKEN_KEYS}
    priced = [row.cost_usd for row in recorded if row.cost_usd is not None]
    unpriced = len(calls) - len(priced)
    lines = [
        "",
        f"{len(rows)} interactions in {files} files, {len(calls)} LLM calls",
        f"tokens: {sums['input_tokens']:,} input ({sums['cached_input_tokens']:,} cached, "
        f"{sums['cache_write_tokens']:,} cache writes), {sums['output_tokens']:,} output",
        f"cost: ${sum(priced):.6f} for {len(priced)} priced calls; {unpriced} unpriced",
    ]
    unknown = unknown_models((row.call for row in recorded if row.call is not None), table)
    if unknown:
        lines.append(f"no price known for: {', '.join(unknown)} (add them to a --prices file)")
    if estimated:
        lines.append(
            f"{estimated} calls recorded no usage: their tokens are estimates (~), "
            "left out of the totals and unpriced"
        )
    lines += _ages(rows)
    return "\n".join(lines) + "\n"
