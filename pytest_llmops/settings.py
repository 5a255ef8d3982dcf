"""One frozen view of the plugin's configuration, read once per session.

Precedence, in one place: command line > marker (per test, see markers.py) >
ini file > built-in default.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from pytest_llmops.options import Option, by_dest, eval_requested
from pytest_llmops.recording import guard
from pytest_llmops.recording.cassette import RecordMode
from pytest_llmops.recording.headers import HeaderRule
from pytest_llmops.recording.matching import Matcher
from pytest_llmops.recording.secrets import Scrubber
from pytest_llmops.recording.transport import RecordPolicy


class _Reader:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.inifile = str(config.inipath) if config.inipath else "the ini file"

    def get(self, dest: str) -> Any:
        opt = by_dest(dest)
        if opt.flag:
            value = self.config.getoption(opt.dest)
            if value is not None and value is not False:
                return value
        if opt.ini:
            return self._ini(opt)
        return opt.default if opt.default is not None else (False if opt.action else None)

    def from_cli(self, dest: str) -> bool:
        opt = by_dest(dest)
        return bool(opt.flag) and self.config.getoption(opt.dest) not in (None, False)

    def source(self, dest: str) -> str:
        """Where a value came from, as an error message names it: the flag, or the ini key and file."""
        opt = by_dest(dest)
        if self.from_cli(dest):
            return str(opt.flag)
        return f"{opt.ini} in {self.inifile}"

    def _ini(self, opt: Option) -> Any:
        assert opt.ini
        raw = self.config.getini(opt.ini)
        if opt.ini_type != "string":
            return raw
        if raw in ("", None):
            return (
                opt.default
                if opt.default is None or opt.type is None
                else self._convert(opt, str(opt.default))
            )
        return self._convert(opt, str(raw))

    def _convert(self, opt: Option, raw: str) -> Any:
        if opt.choices and raw not in opt.choices:
            raise pytest.UsageError(
                f"{opt.ini} = {raw} in {self.inifile} is not valid; choose one of: {', '.join(opt.choices)}"
            )
        if opt.type is None:
            return raw
        try:
            return opt.type(raw)
        except (argparse.ArgumentTypeError, ValueError) as exc:
            raise pytest.UsageError(f"{opt.ini} = {raw} in {self.inifile}: {exc}") from None


@dataclass(frozen=True)
class Settings:
    eval_enabled: bool
    record_mode: RecordMode
    record_mode_from_cli: bool
    cassette_dir: str
    cassette_name: str
    matcher: Matcher
    block_network: bool
    allowed_hosts: tuple[str, ...]
    ignore_hosts: tuple[str, ...]
    telemetry_urls: tuple[str, ...]
    scrubber: Scrubber
    header_rule: HeaderRule
    record_policy: RecordPolicy
    replay_placeholder_keys: bool
    max_recording_age_days: int | None
    budget_usd: float | None
    prices_file: Path | None
    prompts_dir: Path
    lock_prompts: bool
    judge: str | None
    judge_mode: str
    judge_base_url: str | None
    judge_band: tuple[float, float]
    scorer: str
    report_json: Path | None
    report_md: Path | None
    report_html: Path | None
    report_terminal: str
    baseline: Path
    update_baseline: bool
    baseline_include_errors: bool
    fail_on: str | None
    fail_on_new: bool
    live_sample: str | None
    fail_on_drift: str | None
    repeat: int | None
    variants_file: Path | None
    alpha: float
    primary_metric: str
    guard_metrics: tuple[str, ...]
    rootdir: Path
    inidir: Path
    invocation_paths: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: pytest.Config) -> Settings:
        r = _Reader(config)
        rootdir = Path(config.rootpath)
        inidir = Path(config.inipath).parent if config.inipath else rootdir
        invocation = Path(config.invocation_params.dir)

        def ini_path(dest: str) -> Path | None:
            value = r.get(dest)
            return (inidir / value) if value else None

        def cli_path(dest: str) -> Path | None:
            value = r.get(dest)
            return (invocation / value) if value else None

        match_on = tuple(r.get("llm_match_on"))
        try:
            matcher = Matcher.build(match_on, r.get("llm_match_ignore"))
        except ValueError as exc:
            raise pytest.UsageError(f"llm_match_on in {r.inifile}: {exc}") from None
        retries_raw = r.get("llm_record_retries")
        try:
            retries = int(retries_raw)
            if retries < 0:
                raise ValueError
        except ValueError:
            raise pytest.UsageError(
                f"llm_record_retries = {retries_raw} in {r.inifile} must be a whole number >= 0"
            ) from None
        allowed = _hosts(r.get("llm_allowed_hosts"))
        ignored = _ignored_hosts(_hosts(r.get("llm_ignore_hosts")), r.source("llm_ignore_hosts"))
        telemetry_urls = _telemetry_urls(_listed(r.get("llm_telemetry_urls")), r.source("llm_telemetry_urls"))
        live_sample = r.get("llm_live_sample")
        record_mode = RecordMode(r.get("llm_record"))
        if live_sample is not None and record_mode not in (RecordMode.NONE, RecordMode.REWRITE):
            raise pytest.UsageError(
                f"--llm-live-sample replays every test and then runs the sample again live, so record mode "
                f"{record_mode.value} (--llm-record or llm_record_mode) does not fit it. Leave the record mode "
                "at none (the canary writes nothing), or use --llm-record=rewrite to re-record the sampled "
                "tests from their live answers."
            )
        baseline_value = r.get("llm_baseline")
        baseline = (invocation if r.from_cli("llm_baseline") else rootdir) / baseline_value
        return cls(
            eval_enabled=eval_requested(config),
            record_mode=record_mode,
            record_mode_from_cli=r.from_cli("llm_record"),
            cassette_dir=r.get("llm_cassette_dir"),
            cassette_name=r.get("llm_cassette_name"),
            matcher=matcher,
            block_network=bool(r.get("llm_block_network")),
            allowed_hosts=allowed,
            ignore_hosts=ignored,
            telemetry_urls=telemetry_urls,
            scrubber=Scrubber.with_extra(
                r.get("llm_scrub_headers"), r.get("llm_scrub_query_params"), r.get("llm_secret_env")
            ),
            header_rule=HeaderRule.build(r.get("llm_keep_headers")),
            record_policy=RecordPolicy(max_retries=retries),
            replay_placeholder_keys=bool(r.get("llm_replay_placeholder_keys")),
            max_recording_age_days=r.get("llm_max_recording_age") or None,
            budget_usd=r.get("llm_budget_usd"),
            prices_file=ini_path("llm_prices"),
            prompts_dir=inidir / r.get("llm_prompts_dir"),
            lock_prompts=bool(r.get("llm_lock_prompts")),
            judge=r.get("llm_judge"),
            judge_mode=r.get("llm_judge_mode"),
            judge_base_url=r.get("llm_judge_base_url") or None,
            judge_band=r.get("llm_judge_band"),
            scorer=r.get("llm_scorer"),
            report_json=cli_path("llm_report_json"),
            report_md=cli_path("llm_report_md"),
            report_html=cli_path("llm_report_html"),
            report_terminal=r.get("llm_report_terminal"),
            baseline=baseline,
            update_baseline=bool(r.get("llm_update_baseline")),
            baseline_include_errors=bool(r.get("llm_baseline_include_errors")),
            fail_on=r.get("llm_fail_on"),
            fail_on_new=bool(r.get("llm_fail_on_new")),
            live_sample=r.get("llm_live_sample"),
            fail_on_drift=r.get("llm_fail_on_drift"),
            repeat=r.get("llm_repeat"),
            variants_file=ini_path("llm_variants"),
            alpha=float(r.get("llm_alpha")),
            primary_metric=r.get("llm_primary_metric"),
            guard_metrics=tuple(r.get("llm_guard_metrics")),
            rootdir=rootdir,
            inidir=inidir,
            invocation_paths=tuple(getattr(config.option, "file_or_dir", None) or ()),
        )


def _listed(raw: Any) -> tuple[str, ...]:
    """Items from the command line (comma separated) or the ini file (one list, commas allowed too)."""
    items = raw.split(",") if isinstance(raw, str) else [p for item in raw for p in str(item).split(",")]
    return tuple(h.strip() for h in items if h.strip())


def _hosts(raw: Any) -> tuple[str, ...]:
    return tuple(h.lower().rstrip(".") for h in _listed(raw))


_PROVIDER_EXAMPLES = (
    *guard.PROVIDER_HOSTS,
    "example.openai.azure.com",
    "example.cognitiveservices.azure.com",
    "example.services.ai.azure.com",
    "bedrock-runtime.us-east-1.amazonaws.com",
    "us-central1-aiplatform.googleapis.com",
)
"""A host of every provider family, so `*.azure.com` is refused as well as `api.openai.com`."""


def _telemetry_urls(urls: tuple[str, ...], source: str) -> tuple[str, ...]:
    """`llm_telemetry_urls`: whole http(s) URLs, none of an LLM's host or path (its calls would be answered
    with `{}` instead of their recordings)."""
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise pytest.UsageError(
                f"{source}: {url!r} is not an http(s) URL. Give the collector's URL prefix, such as "
                "https://collector.example.com/ingest."
            )
        if guard.is_provider_request(url):  # a provider's host, a base URL's host, an LLM-shaped path
            raise pytest.UsageError(
                f"{source} names {url}, on the host of an LLM provider (or of an LLM base URL in the "
                "environment): its calls must be recorded and replayed, never answered as telemetry. "
                "Remove it; the OpenAI Agents SDK's trace exporter is known already."
            )
    return urls


def _ignored_hosts(hosts: tuple[str, ...], source: str) -> tuple[str, ...]:
    """`llm_ignore_hosts`, refusing what would let an LLM call through unrecorded: a replay run sending
    a provider request past its cassette is a paid live call nobody accounts for."""
    llm_hosts = {*_PROVIDER_EXAMPLES, *filter(None, map(guard.host_of, guard.env_base_urls()))}
    for host in hosts:
        bare = host.removeprefix("*.")
        if "/" in host or ":" in bare or not bare:
            raise pytest.UsageError(
                f"{source}: {host!r} is not a host name. Give bare host names such as telemetry.example.com "
                "(or *.example.com for every subdomain), without scheme, port or path."
            )
        covers = host.startswith("*.") and any(h.endswith("." + bare) for h in llm_hosts)
        if covers or guard.is_provider_host(bare) or bare in llm_hosts:
            raise pytest.UsageError(
                f"{source} names {host}, which is or covers the host of an LLM provider (or of an LLM base URL in the "
                "environment): its calls must be recorded and replayed, never sent past the cassette. "
                "Remove it; list only hosts of side traffic such as a client library's telemetry."
            )
    return hosts
