"""Every command-line option and ini key of the plugin, as data.

Kept as one table so `plugin.py` registers them, `settings.py` reads them and
`docs/configuration.md` is generated from them (a test keeps the doc in step).
Validation happens in `type=` functions, so a bad value is an argparse error
that names the option.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any, Literal

import pytest

RECORD_MODES = ("none", "once", "new_episodes", "all", "rewrite")
JUDGE_MODES = ("off", "always", "cascade")
SCORERS = ("lexical", "semantic")
TERMINAL_REPORTS = ("short", "full")

IniType = Literal["string", "bool", "args", "linelist"]


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number")
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 0")
    return value


def budget_usd(text: str) -> float:
    """A spend cap: finite and above zero (nan, inf or 0 would switch the cap off or refuse everything)."""
    value = non_negative_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} must be above 0; to record without a cap, leave --llm-budget-usd out"
        )
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 1")
    return value


def probability(text: str) -> float:
    value = non_negative_float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 1 (exclusive)")
    return value


RECORDING_AGE_UNITS = {"d": 1, "w": 7}
RECORDING_AGE_FORMS = "a whole number of days or weeks, e.g. 90d or 12w, or off"


def recording_age(text: str) -> int:
    """`llm_max_recording_age`: whole days (`90d`), weeks (`12w`), or `off` (0: no limit).

    Months and years are refused, not guessed: their length varies, and a limit should say exactly when a
    recording counts as old.
    """
    raw = text.strip().lower()
    if raw == "off":
        return 0
    number, unit = raw[:-1], raw[-1:]
    if unit in RECORDING_AGE_UNITS and number.isdigit() and int(number) > 0:
        return int(number) * RECORDING_AGE_UNITS[unit]
    hint = ""
    if unit in ("m", "y") or raw.endswith(("mo", "month", "months", "year", "years")):
        hint = " (months and years vary in length: write 180d or 26w instead)"
    raise argparse.ArgumentTypeError(f"{text!r} is not a recording age: write {RECORDING_AGE_FORMS}{hint}")


def judge_spec(text: str) -> str:
    from pytest_llmops.markers import judge_problem

    problem = judge_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(f"{text!r} is not {problem}")
    return text


def judge_band(text: str) -> tuple[float, float]:
    parts = [p.strip() for p in text.split(",")]
    try:
        low, high = (float(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not two numbers low,high (e.g. 0.35,0.75)") from None
    if not 0 <= low <= high <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} must satisfy 0 <= low <= high <= 1")
    return low, high


def fail_on_spec(text: str) -> str:
    from pytest_llmops.results.gates import parse_gates

    try:
        parse_gates(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def live_sample_spec(text: str) -> str:
    """`N` tests or `N%` of them; parsed again by `experiments.canary.parse_sample`."""
    raw = text.strip()
    if raw.endswith("%"):
        try:
            value = float(raw[:-1])
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a number of tests (5) or a share (10%)"
            ) from None
        if not math.isfinite(value) or not 0 < value <= 100:
            raise argparse.ArgumentTypeError(f"{text!r}: the share must be above 0% and at most 100%")
        return raw
    try:
        count = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of tests (5) or a share (10%)") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 1 (leave the option out to run no canary)")
    return raw


class Option:
    """One setting: a `--flag`, an ini key, or both (the flag wins).

    A plain class, not a dataclass: this module is imported in every pytest run.
    """

    __slots__ = ("action", "choices", "default", "dest", "flag", "help", "ini", "ini_type", "metavar", "type")

    def __init__(
        self,
        dest: str,
        help: str,
        *,
        flag: str | None = None,
        ini: str | None = None,
        ini_type: IniType = "string",
        default: Any = None,
        type: Callable[[str], Any] | None = None,
        choices: tuple[str, ...] | None = None,
        action: str | None = None,
        metavar: str | None = None,
    ) -> None:
        self.dest, self.help, self.flag, self.ini, self.ini_type = dest, help, flag, ini, ini_type
        self.default, self.type, self.choices, self.action, self.metavar = (
            default,
            type,
            choices,
            action,
            metavar,
        )


OPTIONS: tuple[Option, ...] = (
    # Running
    Option(
        "llm_eval",
        "Run tests marked @pytest.mark.llm (they are skipped otherwise).",
        flag="--llm-eval",
        action="store_true",
    ),
    Option(
        "llm_eval_default",
        "Run llm tests even without --llm-eval.",
        ini="llm_eval_default",
        ini_type="bool",
        default=False,
    ),
    # Cassettes
    Option(
        "llm_record",
        "Record mode: none (replay only, the default), once, new_episodes, all, rewrite.",
        flag="--llm-record",
        ini="llm_record_mode",
        choices=RECORD_MODES,
        default="none",
        metavar="MODE",
    ),
    Option(
        "llm_cassette_dir",
        "Cassette folder, relative to each test file's folder; {rootdir} expands to the rootdir.",
        ini="llm_cassette_dir",
        default="cassettes",
    ),
    Option(
        "llm_cassette_name",
        "Cassette file name inside the folder; fields {module}, {name} (Class.test[params]), {test}.",
        ini="llm_cassette_name",
        default="{module}/{name}",
    ),
    Option(
        "llm_match_on",
        "Request parts that must match a recording: method scheme host port path query body.",
        ini="llm_match_on",
        ini_type="args",
        default=["method", "path", "query", "body"],
    ),
    Option(
        "llm_match_ignore",
        "Dotted JSON body fields ignored when matching (e.g. metadata.request_id, messages.*.name).",
        ini="llm_match_ignore",
        ini_type="args",
        default=[],
    ),
    Option(
        "llm_block_network",
        "Block every non-loopback connection while llm tests run.",
        flag="--llm-block-network",
        ini="llm_block_network",
        ini_type="bool",
        action="store_true",
        default=False,
    ),
    Option(
        "llm_allowed_hosts",
        "Hosts still reachable with --llm-block-network (comma separated).",
        flag="--llm-allowed-hosts",
        ini="llm_allowed_hosts",
        ini_type="args",
        default=[],
        metavar="HOSTS",
    ),
    Option(
        "llm_ignore_hosts",
        "Hosts whose requests are neither recorded nor replayed but sent as without the plugin (a client "
        "library's registry or token lookups; tracing exports: llm_telemetry_urls); never a provider's host "
        "or an LLM-shaped request.",
        flag="--llm-ignore-hosts",
        ini="llm_ignore_hosts",
        ini_type="args",
        default=[],
        metavar="HOSTS",
    ),
    Option(
        "llm_telemetry_urls",
        "URL prefixes of tracing or telemetry collectors besides the known ones (OpenAI Agents traces, "
        "OpenTelemetry, LangSmith, Langfuse, Sentry, PostHog): sent live while recording, never recorded, "
        "answered locally with an empty success in a replay.",
        flag="--llm-telemetry-urls",
        ini="llm_telemetry_urls",
        ini_type="args",
        default=[],
        metavar="URLS",
    ),
    Option(
        "llm_scrub_headers",
        "Extra request/response headers never written to cassettes.",
        ini="llm_scrub_headers",
        ini_type="args",
        default=[],
    ),
    Option(
        "llm_keep_headers",
        "Headers a recording keeps although they only describe the recording machine or change on every "
        "call (user-agent, x-stainless-*, date, ...; see docs/cassettes.md); * keeps every header.",
        ini="llm_keep_headers",
        ini_type="args",
        default=[],
    ),
    Option(
        "llm_scrub_query_params",
        "Extra URL query parameters whose values are redacted in cassettes.",
        ini="llm_scrub_query_params",
        ini_type="args",
        default=[],
    ),
    Option(
        "llm_secret_env",
        "Extra environment variables whose values must never reach a written file.",
        ini="llm_secret_env",
        ini_type="args",
        default=[],
    ),
    Option(
        "llm_record_retries",
        "Retries of a 429/5xx answer while recording (exponential backoff, retry-after).",
        ini="llm_record_retries",
        default="4",
    ),
    Option(
        "llm_max_recording_age",
        "Report cassettes whose oldest replayed recording is older than this: days or weeks (90d, 12w), "
        "or off (the default).",
        flag="--llm-max-recording-age",
        ini="llm_max_recording_age",
        type=recording_age,
        metavar="AGE",
    ),
    Option(
        "llm_replay_placeholder_keys",
        "In replay, set OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, AZURE_OPENAI_API_KEY, GROQ_API_KEY, "
        "CO_API_KEY, TOGETHER_API_KEY and CEREBRAS_API_KEY (and AWS keys for boto3) to a placeholder when "
        "unset, so clients construct.",
        ini="llm_replay_placeholder_keys",
        ini_type="bool",
        default=True,
    ),
    # Usage and budgets
    Option(
        "llm_budget_usd",
        "Session cap on live (recording) spend in USD, above 0: a request whose worst-case cost does not fit is refused before it is sent.",
        flag="--llm-budget-usd",
        ini="llm_budget_usd",
        type=budget_usd,
        metavar="USD",
    ),
    Option(
        "llm_prices",
        "YAML file of model prices (USD per million tokens) overriding genai-prices.",
        ini="llm_prices",
    ),
    # Prompts
    Option(
        "llm_prompts_dir",
        "Folder of versioned prompt files, relative to the ini file's folder.",
        ini="llm_prompts_dir",
        default="prompts",
    ),
    Option(
        "llm_lock_prompts",
        "Add new prompt versions to prompts.lock before running.",
        flag="--llm-lock-prompts",
        action="store_true",
    ),
    # Checks and judges
    Option(
        "llm_judge",
        "LLM judge as provider:model: openai, anthropic, azure (deployment), gemini, bedrock or litellm, "
        "e.g. openai:gpt-4o-mini; unset: local scorers only.",
        flag="--llm-judge",
        ini="llm_judge",
        type=judge_spec,
        metavar="PROVIDER:MODEL",
    ),
    Option(
        "llm_judge_mode",
        "off, always (every check asks the judge), cascade (judge only uncertain scores).",
        flag="--llm-judge-mode",
        ini="llm_judge_mode",
        choices=JUDGE_MODES,
        default="always",
        metavar="MODE",
    ),
    Option(
        "llm_judge_base_url",
        "Base URL for the judge's provider (a proxy or the simulator).",
        ini="llm_judge_base_url",
    ),
    Option(
        "llm_judge_band",
        "Cascade: local scores in this 0-1 band (low,high) are sent to the judge.",
        ini="llm_judge_band",
        type=judge_band,
        default="0.35,0.75",
    ),
    Option(
        "llm_scorer",
        "Local scorer: lexical (rapidfuzz) or semantic (wordllama, extra 'semantic').",
        flag="--llm-scorer",
        ini="llm_scorer",
        choices=SCORERS,
        default="lexical",
        metavar="SCORER",
    ),
    # Report and baseline
    Option("llm_report_json", "Write the session report as JSON.", flag="--llm-report-json", metavar="PATH"),
    Option("llm_report_md", "Write the session report as Markdown.", flag="--llm-report-md", metavar="PATH"),
    Option(
        "llm_report_html",
        "Write the session report as one self-contained HTML file.",
        flag="--llm-report-html",
        metavar="PATH",
    ),
    Option(
        "llm_report_terminal",
        "Terminal section: short (one screen: headline, regressions with their answers, A/B decisions, "
        "next step) or full (every table); -v prints full.",
        flag="--llm-report-terminal",
        ini="llm_report_terminal",
        choices=TERMINAL_REPORTS,
        default="short",
        metavar="short|full",
    ),
    Option(
        "llm_baseline",
        "Baseline file compared against (default .llm-baseline.json at the rootdir).",
        flag="--llm-baseline",
        ini="llm_baseline",
        default=".llm-baseline.json",
        metavar="PATH",
    ),
    Option(
        "llm_update_baseline",
        "Write the baseline from this run. Refused when a test failed for a reason other than its "
        "checks (a cassette miss, an error, an exhausted budget, a blocked request).",
        flag="--llm-update-baseline",
        action="store_true",
    ),
    Option(
        "llm_baseline_include_errors",
        "With --llm-update-baseline: write the baseline even though some tests failed for reasons other "
        "than their checks (their pass rate 0 and cost 0 become the baseline).",
        flag="--llm-baseline-include-errors",
        action="store_true",
    ),
    Option(
        "llm_fail_on",
        "Regression gates, e.g. relevance:-0.3,pass_rate:-5%,cost_usd:+10%.",
        flag="--llm-fail-on",
        ini="llm_fail_on",
        type=fail_on_spec,
        metavar="GATES",
    ),
    # Drift: the live canary
    Option(
        "llm_live_sample",
        "Live canary: in a replay run, run N llm tests (or N% of them, chosen by a hash of their node ids) "
        "again live after their replay, writing nothing to their cassettes, and report the drift. Needs the "
        "provider's key (e.g. OPENAI_API_KEY); without it the canary is skipped.",
        flag="--llm-live-sample",
        ini="llm_live_sample",
        type=live_sample_spec,
        metavar="N|N%",
    ),
    Option(
        "llm_fail_on_drift",
        "Fail the session when a canary test's live metric moved from its replayed value beyond these "
        "gates (the --llm-fail-on syntax, e.g. relevance:-0.5,cost_usd:+20%); unset: drift is only reported.",
        flag="--llm-fail-on-drift",
        ini="llm_fail_on_drift",
        type=fail_on_spec,
        metavar="GATES",
    ),
    Option(
        "llm_fail_on_new",
        "Fail the session when a test has no baseline entry.",
        ini="llm_fail_on_new",
        ini_type="bool",
        default=False,
    ),
    # Datasets, repeats, variants
    Option(
        "llm_repeat",
        "Run every llm test N times (the marker's repeat= wins).",
        flag="--llm-repeat",
        ini="llm_repeat",
        type=positive_int,
        metavar="N",
    ),
    Option("llm_variants", "YAML file of named variants that markers can refer to.", ini="llm_variants"),
    Option(
        "llm_alpha",
        "Significance level for baseline and A/B decisions.",
        flag="--llm-alpha",
        ini="llm_alpha",
        type=probability,
        default="0.05",
        metavar="ALPHA",
    ),
    Option(
        "llm_primary_metric",
        "Metric that decides an A/B comparison.",
        ini="llm_primary_metric",
        default="pass_rate",
    ),
    Option(
        "llm_guard_metrics",
        "Metrics an A/B winner must not worsen beyond tolerance, e.g. cost_usd:+20% latency_p95:+25% safety:-0.",
        ini="llm_guard_metrics",
        ini_type="args",
        default=["cost_usd:+20%", "latency_p95:+25%", "safety:-0"],
    ),
)


def argparse_help(text: str) -> str:
    """`text` as argparse help: argparse %-formats help strings, so a literal % must be %%."""
    return text.replace("%", "%%")


def register(parser: pytest.Parser) -> None:
    group = parser.getgroup("llmops", "LLM evaluation (pytest-llmops)")
    for opt in OPTIONS:
        if opt.flag:
            kwargs: dict[str, Any] = {"dest": opt.dest, "help": argparse_help(opt.help)}
            if opt.action:
                kwargs["action"] = opt.action
                kwargs["default"] = None if opt.ini else False
            else:
                kwargs["default"] = None  # None = not given, so the ini value applies
                if opt.type:
                    kwargs["type"] = opt.type
                if opt.choices:
                    kwargs["choices"] = opt.choices
                if opt.metavar:
                    kwargs["metavar"] = opt.metavar
            group.addoption(opt.flag, **kwargs)
        if opt.ini:
            parser.addini(opt.ini, opt.help, type=opt.ini_type, default=opt.default)


def by_dest(dest: str) -> Option:
    for opt in OPTIONS:
        if opt.dest == dest:
            return opt
    raise KeyError(dest)


def eval_requested(config: pytest.Config) -> bool:
    """Cheap check at configure time: does this run evaluate llm tests (or record them)?"""
    if config.getoption("llm_eval", False) or config.getoption("llm_record", None):
        return True
    return bool(config.getini("llm_eval_default"))
