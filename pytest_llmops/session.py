"""`LLMOpsSession`: the plugin's state for one pytest run, registered with the plugin manager.

It opens each llm test's cassette before the test's fixtures are set up (when
only replaying, it reads the file on the test's first request) and closes it
after they are torn down, runs repeats, holds budgets, builds the
per-test record that rides the teardown report, and on the controller
collects the records, compares them with the baseline and reports.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest

from pytest_llmops import context
from pytest_llmops.markers import LLMMarker, MarkerError, deprecation_message, merge
from pytest_llmops.parametrize import item_params
from pytest_llmops.recording import guard, network, refusals, secrets, telemetry, transport, transports
from pytest_llmops.recording.cassette import Cassette, CassetteWriteError, LiveOnly, RecordMode
from pytest_llmops.recording.deferred import CassetteUnreadable, DeferredCassette
from pytest_llmops.recording.interactions import Interaction, RecordedRequest
from pytest_llmops.recording.locations import cassette_path
from pytest_llmops.recording.matching import Matcher
from pytest_llmops.recording.secrets import (
    REPLAY_PLACEHOLDER_ENV_VARS,
    REPLAY_PLACEHOLDER_KEY,
    SecretLeakError,
)
from pytest_llmops.results.records import REPORT_ATTR, CassetteInfo, TestRecord
from pytest_llmops.settings import Settings
from pytest_llmops.spend import budgets
from pytest_llmops.spend.calls import LLMCall, Source
from pytest_llmops.spend.ledger import Ledger

CTX = pytest.StashKey["context.TestContext"]()
CASSETTE = pytest.StashKey["Cassette | DeferredCassette"]()
PHASES = pytest.StashKey[dict[str, pytest.TestReport]]()
MARKER = pytest.StashKey[LLMMarker]()
PARAMS = pytest.StashKey[dict[str, str]]()
JUDGE_RESTORE = pytest.StashKey[Any]()
SAMPLED = pytest.StashKey[bool]()


class UnpricedModelWarning(pytest.PytestWarning):
    """A model without a known price: its spend is reported as unknown."""


class UnrecordedTrafficWarning(pytest.PytestWarning):
    """An llm test sent traffic, while recording, that no interception recorded."""


class RecoveredRecordingsWarning(pytest.PytestWarning):
    """Recordings of an interrupted run were merged into a cassette from its journal."""


SKIP_REASON = "LLM test: run with `pytest --llm-eval` (or set llm_eval_default = true in the ini file)"


class LLMOpsSession:
    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.records: dict[str, TestRecord] = {}
        self.is_worker = hasattr(config, "workerinput")
        self.started = time.perf_counter()
        # Wall clock of the controller's start, shared with workers: a cassette written after it was
        # written by this run (see Cassette.written_this_run).
        self.run_started_ns: int = (
            int(config.workerinput["llmops_run_started_ns"])  # type: ignore[attr-defined]
            if self.is_worker and "llmops_run_started_ns" in config.workerinput  # type: ignore[attr-defined]
            else time.time_ns()
        )
        self._env_restore: dict[str, str | None] = {}
        self._price_table: Any = None
        self._price_table_loaded = False
        self.exit_status: int | None = None
        self._registry: Any = None
        self._unpriced_warned: set[str] = set()
        self._variants: Any = None
        self.config_errors: list[str] = []
        self._open_cassettes: dict[str, Cassette | DeferredCassette] = {}
        self._parse_cache_dir: Path | None = None
        # The keys in the environment before replay placeholders are set: what the live canary may use.
        self._env_keys = {
            name for name, value in os.environ.items() if value and value != REPLAY_PLACEHOLDER_KEY
        }
        self._made: dict[str, tuple[TestRecord, dict[str, Any]]] = {}
        self.ledger = self._open_ledger()

    # -- lifecycle -------------------------------------------------------------------------------

    def _open_ledger(self) -> Ledger | None:
        """The shared ledger of live spend against --llm-budget-usd; none without a session budget,
        where it would only cost every live call a locked file rewrite that nothing reads."""
        if not self.settings.eval_enabled or self.settings.budget_usd is None:
            return None
        if self.is_worker:
            path = Path(self.config.workerinput["llmops_ledger"])  # type: ignore[attr-defined]
        else:
            self._ledger_dir = tempfile.mkdtemp(prefix="llmops-ledger-")
            path = Path(self._ledger_dir) / "ledger.json"
        return Ledger(path, self.settings.budget_usd)

    def start(self) -> None:
        if not self.settings.eval_enabled:
            return
        secrets.use(self.settings.scrubber)
        transport.ignore_hosts(self.settings.ignore_hosts)
        telemetry.configure(self.settings.telemetry_urls)
        telemetry.keep_offline_until_exit(False)
        if self.settings.replay_placeholder_keys and self._main_mode() is RecordMode.NONE:
            names = list(REPLAY_PLACEHOLDER_ENV_VARS)
            if not os.environ.get("AWS_ACCESS_KEY_ID") and not os.environ.get("AWS_PROFILE"):
                names += ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]  # boto3 signs before it sends
            for name in names:
                if not os.environ.get(name):
                    self._env_restore[name] = os.environ.get(name)
                    os.environ[name] = REPLAY_PLACEHOLDER_KEY
        if self._main_mode() is RecordMode.NONE:
            # With the import hook from the start: a library imported while collecting (a tracing
            # client built at module level, whose thread reads its server at once) is patched before
            # its first request, not at the first llm test.
            transports.install(import_missing=True)
            transport.refuse_unmarked()
            guard.refuse_unmarked(True)
        cache = getattr(self.config, "cache", None)  # absent under -p no:cacheprovider
        if cache is not None:
            # Set up when the first cassette is read (`_cassette`): a run whose tests send nothing
            # imports no cassette reader.
            self._parse_cache_dir = cache.mkdir("llmops-cassettes")
        from pytest_llmops.checks import registry, settings

        s = self.settings
        settings.configure(
            judge=s.judge,
            mode=s.judge_mode,
            base_url=s.judge_base_url,
            scorer=s.scorer,
            band=s.judge_band,
            cassette_only=True,
        )
        settings.use_prompts(lambda spec: self.prompt_registry().get(spec))
        registry.load_from_hook(self.config.hook)

    def stop(self, *, last_in_process: bool = True) -> None:
        """End the run. The last run of a process that replayed (or blocked the network) leaves the
        interceptions in place, answering only telemetry: exporters flush at interpreter exit, after this."""
        for name, value in self._env_restore.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        transport.refuse_unmarked(False)
        transport.ignore_hosts(())
        offline = self.settings.eval_enabled and (
            self._main_mode() is RecordMode.NONE or self.settings.block_network
        )
        if offline and last_in_process:
            telemetry.keep_offline_until_exit(True)
        else:
            telemetry.keep_offline_until_exit(False)
            telemetry.configure(())
            transports.uninstall()
        guard.uninstall()
        network.unblock()
        if "pytest_llmops.recording.formats" in sys.modules:
            sys.modules["pytest_llmops.recording.formats"].use_parse_cache(None)
        secrets.use(None)
        secrets.forget()
        if self.settings.eval_enabled:
            from pytest_llmops.checks import settings

            settings.reset()
        if getattr(self, "_ledger_dir", None):
            shutil.rmtree(self._ledger_dir, ignore_errors=True)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """A configuration error found while a worker collected (a broken dataset or prompt file) makes the
        whole run a usage error, as it does without xdist."""
        for message in getattr(node, "workeroutput", {}).get("llmops_config_errors", ()):
            if message not in self.config_errors:
                self.config_errors.append(message)

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["llmops_run_started_ns"] = self.run_started_ns
        if self.ledger is not None:
            node.workerinput["llmops_ledger"] = str(self.ledger.path)

    # -- prompts and variants ------------------------------------------------------------------------

    @property
    def eval_enabled(self) -> bool:
        return self.settings.eval_enabled

    def note_config_error(self, message: str) -> None:
        """A configuration problem found while collecting: the session ends with the usage-error status."""
        self.config_errors.append(message)

    def prompt_registry(self) -> Any:
        """Prompt files under llm_prompts_dir, loaded once; a broken file is a usage error naming it."""
        if self._registry is None:
            from pytest_llmops.prompts import PromptError, PromptRegistry

            try:
                registry = PromptRegistry.load(self.settings.prompts_dir)
            except PromptError:
                where = self.config.inipath or "the ini file"
                what = "is not a folder" if self.settings.prompts_dir.exists() else "does not exist"
                raise pytest.UsageError(
                    f"prompts folder {self.settings.prompts_dir} {what}. Set llm_prompts_dir in {where} "
                    "to the folder of your prompt files (relative to the ini file), or create it."
                ) from None
            if registry.errors:
                listed = "\n".join(f"  {e}" for e in registry.errors)
                raise pytest.UsageError(
                    f"{len(registry.errors)} problem(s) in prompt files under {self.settings.prompts_dir}:\n"
                    f"{listed}\nFix the file(s) above (llm tests need every prompt file to load)."
                )
            self._registry = registry
        return self._registry

    def defined_variants(self) -> Any:
        if self.settings.variants_file is None:
            return None
        if self._variants is None:
            from pytest_llmops.experiments.variants import VariantError, load_file

            try:
                self._variants = load_file(self.settings.variants_file)
            except VariantError as exc:
                raise pytest.UsageError(
                    f"llm_variants: {exc}\nFix the file (ini llm_variants in {self.config.inipath or 'the ini file'})."
                ) from None
        return self._variants

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Read every configuration file now, so a broken one stops the session with one clear error."""
        if not self.settings.eval_enabled:
            return
        self.prices()
        self.defined_variants()
        if self.is_worker or not self.settings.prompts_dir.is_dir():
            return
        from pytest_llmops.prompts import PromptError, check_lock, lock_path_for, read_lock, update_lock

        registry = self.prompt_registry()
        lock_path = lock_path_for(self.settings.prompts_dir)
        try:
            if self.settings.lock_prompts:
                update_lock(registry, lock_path)
            if not lock_path.is_file():
                return
            lock = read_lock(lock_path)
        except PromptError as exc:
            raise pytest.UsageError(
                f"{exc}\n(or re-create it from pytest: delete it and run pytest --llm-eval --llm-lock-prompts)"
            ) from None
        violations = check_lock(registry, lock)
        if violations:
            listed = "\n".join(f"  {v}" for v in violations)
            raise pytest.UsageError(
                f"released prompt versions changed without a new version (lock file {lock_path}):\n{listed}"
            )

    # -- collection ------------------------------------------------------------------------------

    def marker_of(self, node: pytest.Item | Any) -> LLMMarker | None:
        marks = list(node.iter_markers(name="llm"))
        if not marks:
            return None
        return merge(marks, node.nodeid)

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        skip = pytest.mark.skip(reason=SKIP_REASON)
        for item in items:
            try:
                marker = self.marker_of(item)
            except MarkerError as exc:  # markers on classes/modules reach here for non-function items
                raise pytest.UsageError(str(exc)) from None
            if marker is None:
                continue
            item.stash[MARKER] = marker
            params = item_params(item)
            if params:  # pytest keeps every item to the end of the session: no empty dict on each
                item.stash[PARAMS] = params
            for old in marker.deprecated:
                item.warn(pytest.PytestDeprecationWarning(deprecation_message(item.nodeid, old)))
            if not self.settings.eval_enabled:
                item.add_marker(skip)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Once the selection is final (-k, -m, shards): mark the live canary's sample."""
        if self.settings.live_sample is None or not self.settings.eval_enabled:
            return
        from pytest_llmops.experiments import canary

        llm = [item for item in session.items if MARKER in item.stash]
        chosen = canary.choose((item.nodeid for item in llm), canary.parse_sample(self.settings.live_sample))
        for item in llm:
            if item.nodeid in chosen:
                item.stash[SAMPLED] = True

    # -- running one test --------------------------------------------------------------------------

    def _main_mode(self) -> RecordMode:
        """The session's record mode for the tests' own runs: with the live canary they replay, and
        `--llm-record=rewrite` applies to the canary's live runs (it re-records the sampled tests)."""
        if self.settings.live_sample is not None:
            return RecordMode.NONE
        return self.settings.record_mode

    def _record_mode(self, marker: LLMMarker) -> RecordMode:
        if self.settings.live_sample is not None:
            return RecordMode.NONE
        if self.settings.record_mode_from_cli or marker.get("record") is None:
            return self.settings.record_mode
        return RecordMode(marker.get("record"))

    def _matcher(self, marker: LLMMarker) -> Matcher:
        extra = marker.get("match_ignore")
        if not extra:
            return self.settings.matcher
        ignore = [".".join(p) for p in self.settings.matcher.ignore] + list(extra)
        return Matcher.build(self.settings.matcher.match_on, ignore)

    def _rerecord_command(self, item: pytest.Item) -> str:
        """The command that records this one test, runnable from where pytest was started."""
        here = Path(self.config.invocation_params.dir)
        location = os.path.relpath(item.path, here)
        target = "::".join([location, *item.nodeid.split("::")[1:]])
        return f"pytest --llm-eval --llm-record={{mode}} {shlex.quote(target)}"

    def make_call(self, interaction: Interaction, source: Source) -> LLMCall:
        call: LLMCall | None = self.config.hook.pytest_llmops_parse_call(interaction=interaction)
        if call is None:
            request = interaction.request
            call = LLMCall(
                provider="unknown",
                endpoint=request.path if request else "",
                status=interaction.response.status,
            )
            from pytest_llmops.spend.worst_case import unbilled

            if request is not None and unbilled(request.method, request.body, request.headers):
                call.cost_usd = 0.0  # a listing or a sign-in: free, not a call whose cost is unknown
        call.source = source
        # Kept to the end of the session, one per call: the same few names, read from each response.
        if call.model is not None:
            call.model = sys.intern(call.model)
        if call.request_model is not None:
            call.request_model = sys.intern(call.request_model)
        if call.latency_ms is None:
            call.latency_ms = interaction.meta.latency_ms
        if call.stream and call.ttft_ms is None:
            call.ttft_ms = interaction.meta.ttfb_ms
        if call.recorded_at is None:
            call.recorded_at = interaction.meta.recorded_at
        if call.cost_usd is None and (call.has_usage or call.failed):
            # A failed call without usage is priced too: not billed, $0, so the session budget does not
            # hold its worst case as spent (`pricing.price_call`).
            call.cost_usd = self.price(call)
            if call.cost_usd is None:
                self._warn_unpriced(call)
        return call

    def _warn_unpriced(self, call: LLMCall) -> None:
        model = call.model or call.request_model or "?"
        if model in self._unpriced_warned:
            return
        self._unpriced_warned.add(model)
        warnings.warn(
            UnpricedModelWarning(
                f"no price is known for model {model!r} ({call.provider}): its calls' cost is unknown, not $0, "
                "and the report lists it as unpriced. Add it to the file named by ini llm_prices."
            ),
            stacklevel=1,
        )

    def prices(self) -> Any:
        """The user's price table (ini llm_prices), loaded on first use; None when not configured."""
        if not self._price_table_loaded:
            from pytest_llmops.spend import pricing

            self._price_table_loaded = True
            if self.settings.prices_file is not None:
                try:
                    self._price_table = pricing.PriceTable.load(self.settings.prices_file)
                except pricing.PriceFileError as exc:
                    raise pytest.UsageError(str(exc)) from None
        return self._price_table

    def _report_prices(self) -> Any:
        """The price table for the report's cost today; a broken price file was already reported."""
        try:
            return self.prices()
        except pytest.UsageError:
            return None

    def price(self, call: LLMCall) -> float | None:
        from pytest_llmops.spend import pricing

        return pricing.price_call(call, self.prices())

    @pytest.hookimpl(trylast=True)
    def pytest_llmops_parse_call(self, interaction: Interaction) -> LLMCall | None:
        from pytest_llmops.spend.providers import builtin_parse_call

        return builtin_parse_call(interaction)

    def _before_live(self, request: RecordedRequest) -> str | None:
        """Reserve the request's worst-case cost under the session budget; refuse it if that cannot fit."""
        if self.ledger is None or self.settings.budget_usd is None:
            return None  # nothing to reserve against: no parse of the body before the request goes
        from pytest_llmops.spend.providers import provider_of_path
        from pytest_llmops.spend.worst_case import unbilled, worst_case

        if unbilled(request.method, request.body, request.headers):
            return None  # a listing, a lookup, a sign-in before the calls
        body = request.json()
        model = body.get("model") if isinstance(body, dict) else None
        what = f"{request.method} {request.path}" + (f" (model {model})" if model else "")

        provider = provider_of_path(request.path)
        self.ledger.check(what)
        bound, why = worst_case(body, provider, request.path, self.prices())
        if bound is None:
            raise transport.BudgetExhausted(f"{what} was not sent: --llm-budget-usd is set but {why}")
        return self.ledger.reserve(what, bound.cost_usd)

    def _unanswered(self, ticket: object, sent: bool) -> None:
        if self.ledger is None or not isinstance(ticket, str):
            return
        if sent:
            self.ledger.settle(ticket, None, None)  # it may be billed: keep its worst case
        else:
            self.ledger.release(ticket)

    # trylast: inside every other wrapper (logging, capture, ...), so when a cassette cannot be read their
    # setup has run and their teardown finds what it expects; still before any fixture is set up.
    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        marker = item.stash.get(MARKER, None)
        if transport.unmarked_guarded():
            transports.install(import_missing=False)  # libraries a test imported since: patch them too
            guard.reassert()
        if marker is None or not self.settings.eval_enabled:
            return (yield)
        self._open(item, marker)
        return (yield)

    def _open(self, item: pytest.Item, marker: LLMMarker) -> None:
        record = TestRecord(nodeid=item.nodeid, base_nodeid=item.nodeid.split("[")[0])
        record.tags = list(marker.get("tags") or [])
        record.min_pass_rate = marker.get("min_pass_rate")
        record.pass_mode = marker.get("pass_mode")
        params: dict[str, str] = item.stash.get(PARAMS, {})
        record.params = dict(params)
        path = cassette_path(
            Path(item.path),
            item.nodeid,
            folder=self.settings.cassette_dir,
            name_template=self.settings.cassette_name,
            rootdir=self.settings.rootdir,
            marker_name=marker.get("cassette"),
            marker_dir=marker.get("cassette_dir"),
        )
        label = _relative(path, self.settings.rootdir)
        ctx = context.TestContext(item.nodeid, marker, record, self.make_call, cassette_label=label)
        item.stash[CTX] = ctx
        context.set_current(ctx)
        mode = self._record_mode(marker)
        record.cassette = CassetteInfo(path=label, mode=mode.value)
        cassette: Cassette | DeferredCassette
        if mode is RecordMode.NONE:
            # Replaying only: the file is read on the test's first request, so a test that sends
            # nothing reads nothing (`recording/deferred.py`).
            matcher = self._matcher(marker)
            cassette = DeferredCassette(
                path,
                matcher,
                lambda: self._cassette(path, RecordMode.NONE, matcher),
                on_open=self._warn_recovered,
                describe_failure=lambda exc: self._unreadable(item, path, exc),
            )
        else:
            failure: str | None = None
            try:
                eager = self._cassette(path, mode, self._matcher(marker))
            except Exception as exc:  # a broken cassette fails this test, not the session
                failure = self._unreadable(item, path, exc)
            if failure is not None:
                raise pytest.fail.Exception(failure, pytrace=False)
            self._warn_recovered(eager)
            cassette = eager
        item.stash[CASSETTE] = cassette
        self._open_cassettes[item.nodeid] = cassette
        recorder = transport.Recorder(
            cassette=cassette,
            rerecord_command=lambda: self._rerecord_command(item),
            on_replay=lambda index, interaction: self._on_replay(ctx, index, interaction),
            on_live=lambda index, interaction, ticket: self._on_live(ctx, index, interaction, ticket),
            before_live=self._before_live,
            unanswered=self._unanswered,
            on_unanswered=lambda index, interaction: ctx.add_interaction(index, interaction, "live"),
            policy=self.settings.record_policy,
        )
        judge = marker.get("judge")
        if judge is not None:
            from pytest_llmops.checks import settings as check_settings

            item.stash[JUDGE_RESTORE] = check_settings.current()
            check_settings.override(judge=judge)
        if self.settings.block_network:
            network.block(self.settings.allowed_hosts)
        transports.install(import_missing=True)
        transport.activate(recorder)
        guard.allow(self.settings.allowed_hosts)
        rerecord: str | Callable[[], str]
        recorded_uris: list[str] | Callable[[], list[str]]
        if isinstance(cassette, DeferredCassette):
            # What the guard needs of the file (its recorded endpoints, the re-record command), it asks
            # for when it needs it: a test that sends nothing does not read its cassette for the guard.
            rerecord = lambda: self._rerecord_command(item).replace(  # noqa: E731
                "{mode}", "new_episodes" if path.is_file() else "once"
            )
            recorded_uris = cassette.recorded_uris
        else:
            how = "once" if not cassette.existed or cassette.written_this_run else "new_episodes"
            rerecord = lambda: self._rerecord_command(item).replace("{mode}", how)  # noqa: E731
            recorded_uris = [i.request.uri for i in cassette.recorded if i.request is not None]
        refusals.watch(True)
        guard.start_test(
            item.nodeid,
            replaying=not cassette.records,
            rerecord=rerecord,
            recorded_uris=recorded_uris,
            budgeted=self.settings.budget_usd is not None,
        )

    def _cassette(self, path: Path, mode: RecordMode, matcher: Matcher) -> Cassette:
        """Read (or start) the cassette at `path`; the parse cache is set up before the first one."""
        if self._parse_cache_dir is not None:
            from pytest_llmops.recording import formats

            formats.use_parse_cache(self._parse_cache_dir)
            self._parse_cache_dir = None
        return Cassette(
            path,
            mode,
            matcher,
            self.settings.scrubber,
            self.settings.header_rule,
            run_started_ns=self.run_started_ns,
        )

    def _unreadable(self, item: pytest.Item, path: Path, exc: Exception) -> str:
        """Why the cassette cannot be read, and how to fix it; secrets redacted."""
        problem = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
        command = self._rerecord_command(item).replace("{mode}", "rewrite")
        return secrets.redact(f"cannot read cassette {problem}\nFix the file, or record it again: {command}")

    def _warn_recovered(self, cassette: Cassette) -> None:
        for found in cassette.recovered:
            skipped = f" ({found.skipped_lines} cut-off line(s) skipped)" if found.skipped_lines else ""
            warnings.warn(
                RecoveredRecordingsWarning(
                    f"recovered {found.interactions} recording(s) from {found.journal} into "
                    f"{cassette.path}{skipped}: a previous recording run was interrupted before it wrote "
                    "the cassette"
                ),
                stacklevel=1,
            )

    def _on_replay(self, ctx: context.TestContext, index: int, interaction: Interaction) -> None:
        ctx.add_interaction(index, interaction, "replayed")

    def _on_live(
        self, ctx: context.TestContext, index: int, interaction: Interaction, ticket: object
    ) -> None:
        held = ticket if isinstance(ticket, str) else None
        try:
            call = ctx.add_interaction(index, interaction, "live")
        except BaseException:
            if self.ledger is not None:
                self.ledger.settle(held, None, None)
            raise
        if self.ledger is None or call is None:
            return
        if held is not None and interaction.meta.truncated and call.estimated:
            # Cut short (the app stopped reading, or the connection broke): the provider may have generated,
            # and billed, more than arrived, so the estimate from what arrived is no bound. Keep the worst case.
            self.ledger.settle(held, None, None)
            return
        self.ledger.settle(held, call.cost_usd, call.model or call.request_model)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, Any, Any]:
        ctx = item.stash.get(CTX, None)
        if ctx is None:
            return (yield)
        from pytest_llmops.experiments.repeats import run_repeated

        marker = item.stash[MARKER]
        count = marker.get("repeat") or self.settings.repeat or 1
        replay_error: BaseException | None = None
        result: Any = None
        try:
            result = yield from run_repeated(
                item, ctx, count, marker.get("min_pass_rate"), marker.get("pass_mode")
            )
        except (Exception, pytest.fail.Exception) as exc:
            if not item.stash.get(SAMPLED, False):
                raise
            replay_error = exc
        if item.stash.get(SAMPLED, False):
            self._canary(item, ctx, marker, count, replay_error)
        if replay_error is not None:
            raise replay_error
        swallowed = refusals.unreported()
        if swallowed:
            ctx.record.failure = "error"
            raise pytest.fail.Exception(_swallowed_message(swallowed), pytrace=False)
        cassette = item.stash.get(CASSETTE, None)
        if cassette is not None:
            # Written now, not only at teardown, so that a write failure fails this phase once,
            # instead of a PASSED test followed by an ERROR.
            try:
                cassette.check_secrets()
                if cassette.write_error is not None:
                    raise cassette.write_error
                cassette.save()
            except (SecretLeakError, CassetteWriteError) as exc:
                ctx.record.failure = "error"  # not a check: the recording was refused
                raise pytest.fail.Exception(str(exc), pytrace=False) from None
        breaches = budgets.check(marker, ctx.calls, count)
        ctx.record.budget = {
            k: marker.get(k)
            for k in ("budget_usd", "budget_tokens", "max_latency_ms")
            if marker.get(k) is not None
        }
        if breaches:
            ctx.record.budget["breaches"] = [str(b) for b in breaches]
            pytest.fail(budgets.breach_message(breaches, ctx.calls), pytrace=False)
        return result

    def _key_present(self, name: str) -> bool:
        return name in self._env_keys

    def _canary(
        self,
        item: pytest.Item,
        ctx: context.TestContext,
        marker: LLMMarker,
        count: int,
        replay_error: BaseException | None,
    ) -> None:
        """Run a sampled test again, live, in a context of its own; keep what it did in `record.canary`."""
        from pytest_llmops.experiments import canary
        from pytest_llmops.results.records import CanaryRun

        if replay_error is not None and (kind := failure_kind(replay_error, "call")) != "check":
            ctx.record.canary = CanaryRun(False, f"the replayed run did not finish ({kind})")
            return
        providers = canary.providers_of(ctx.calls)
        if not providers:
            ctx.record.canary = CanaryRun(False, "the replayed run made no LLM call")
            return
        missing = canary.missing_keys(providers, self._key_present)
        if missing:
            ctx.record.canary = CanaryRun(False, f"no {', '.join(missing)} in the environment")
            return
        record = TestRecord(nodeid=item.nodeid, base_nodeid=ctx.record.base_nodeid)
        # What the fixtures set up once (they do not run again): the parameters, prompt and variant.
        record.params, record.prompts = dict(ctx.record.params), dict(ctx.record.prompts)
        record.variant, record.tags = ctx.record.variant, list(ctx.record.tags)
        live = context.TestContext(item.nodeid, marker, record, self.make_call)
        live.prompt, live.variant = ctx.prompt, ctx.variant
        replayed = item.stash.get(CASSETTE, None)
        path = replayed.path if replayed is not None else Path(item.path)
        rerecord = self.settings.record_mode is RecordMode.REWRITE
        sink: Any = (
            self._cassette(path, RecordMode.REWRITE, self._matcher(marker)) if rerecord else LiveOnly(path)
        )
        recorder = transport.Recorder(
            cassette=sink,
            rerecord_command=lambda: self._rerecord_command(item),
            on_replay=lambda index, interaction: None,
            on_live=lambda index, interaction, ticket: self._on_live(live, index, interaction, ticket),
            before_live=self._before_live,
            unanswered=self._unanswered,
            on_unanswered=lambda index, interaction: live.add_interaction(index, interaction, "live"),
            policy=self.settings.record_policy,
        )
        previous = transport.active()
        transport.activate(recorder)
        context.set_current(live)
        try:
            why = canary.run_live(item, live, count)
        finally:
            recorder.finish_open_streams()
            if previous is not None:
                transport.activate(previous)
            context.set_current(ctx)
        record.calls = live.calls
        if rerecord:
            why = self._rerecorded(ctx, sink, why)
        ctx.record.canary = CanaryRun(why is None, why, record)

    def _rerecorded(self, ctx: context.TestContext, cassette: Cassette, why: str | None) -> str | None:
        """With --llm-record=rewrite: the live run's recordings replace the cassette's, if the run finished;
        a run cut short keeps the old file (and leaves no journal to recover)."""
        try:
            if why is not None:
                cassette.refuse()
                return why
            cassette.check_secrets()
            if cassette.save() and ctx.record.cassette is not None:
                ctx.record.cassette.recorded += cassette.saved
                ctx.record.cassette.written = True
        except (SecretLeakError, CassetteWriteError) as exc:
            cassette.refuse()
            return f"its recordings were not written: {secrets.redact(str(exc))}"
        finally:
            cassette.close()
        return None

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, None, None]:
        try:
            return (yield)
        finally:
            if item.stash.get(CTX, None) is not None:
                self._close(item)

    def _close(self, item: pytest.Item) -> None:
        ctx = item.stash[CTX]
        unrecorded = guard.end_test()
        refusals.watch(False)
        transport.deactivate()
        network.unblock()
        guard.reassert()
        context.set_current(None)
        previous = item.stash.get(JUDGE_RESTORE, None)
        if previous is not None:
            from pytest_llmops.checks import settings as check_settings

            del item.stash[JUDGE_RESTORE]
            check_settings.restore(previous)
        cassette = item.stash.get(CASSETTE, None)
        if cassette is None:
            return
        del item.stash[CASSETTE]
        self._open_cassettes.pop(item.nodeid, None)
        info = ctx.record.cassette
        assert info is not None
        info.played, info.misses = cassette.played, cassette.misses
        written = cassette.saved > 0
        try:
            written = cassette.save() or written
        except (SecretLeakError, CassetteWriteError) as exc:
            if cassette.write_error is not None:
                return  # the call phase failed on it already: one failure, not two
            raise pytest.fail.Exception(str(exc), pytrace=False) from None
        finally:
            info.recorded = cassette.saved  # what reached the cassette file, not what was sent
            info.written = written
            cassette.close()
        if unrecorded:
            self._report_unrecorded(item, unrecorded)

    def _report_unrecorded(self, item: pytest.Item, unrecorded: list[guard.Unrecorded]) -> None:
        listed = ", ".join(str(u) for u in unrecorded)
        message = (
            f"{item.nodeid} sent traffic the plugin did not record: {listed}. It went through no HTTP "
            f"library the plugin intercepts ({guard.RECORDED_LIBRARIES}), so it is not in the cassette, "
            "its spend is not counted, and a replay of this test will refuse it. Send the call through one "
            "of those libraries."
        )
        if self.settings.block_network:
            raise pytest.fail.Exception(message + " (Failing: --llm-block-network is set.)", pytrace=False)
        warnings.warn(UnrecordedTrafficWarning(message), stacklevel=1)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, Any, Any]:
        report: pytest.TestReport = yield
        ctx = item.stash.get(CTX, None)
        if ctx is None and MARKER not in item.stash:
            return report
        _redact_report(report)
        phases = item.stash.setdefault(PHASES, {})
        phases[report.when] = report
        if report.failed and ctx is not None and ctx.record.failure is None:
            ctx.record.failure = failure_kind(call.excinfo.value if call.excinfo else None, report.when)
        if report.when == "teardown":
            # The test is over: its cassette, context and phase reports must not live as long as the
            # item (pytest keeps every item to the end of the session, with its stash).
            del item.stash[PHASES]
            if ctx is not None:
                del item.stash[CTX]
                self._report_record(ctx, phases, report)
        return report

    def _report_record(
        self,
        ctx: context.TestContext,
        phases: dict[str, pytest.TestReport],
        report: pytest.TestReport,
    ) -> None:
        record = ctx.record
        record.calls = ctx.calls
        record.outcome, record.message = _outcome(phases)
        record.duration_s = sum(r.duration for r in phases.values())
        data = record.to_dict()
        setattr(report, REPORT_ATTR, data)
        # Read back in pytest_runtest_logreport of this process; a report that came from an xdist
        # worker carries only the dict.
        self._made[report.nodeid] = (record, data)
        if self.config.option.xmlpath:  # only --junitxml reads them
            from pytest_llmops.results.report.junit import junit_properties

            report.user_properties.extend(
                (name, secrets.redact(value)) for name, value in junit_properties(record)
            )

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> Generator[None, None, None]:
        if report.when != "teardown":
            return (yield)
        data = getattr(report, REPORT_ATTR, None)
        made = self._made.pop(report.nodeid, None)
        if data is not None:
            # The record this process made, when the report still carries its dict; else rebuilt from it.
            self.records[report.nodeid] = (
                made[0] if made is not None and made[1] is data else TestRecord.from_dict(data)
            )
        try:
            return (yield)
        finally:
            # Every plugin has seen it now (xdist has sent it to the controller). pytest keeps every
            # report to the end of the session; the record itself is in `records`.
            report.__dict__.pop(REPORT_ATTR, None)

    def _save_interrupted(self) -> None:
        """Ctrl-C skips teardown: write the cassettes of the tests it stopped (their journals already hold
        every finished interaction; this only spares the next run the recovery)."""
        if not self._open_cassettes:
            return
        transport.deactivate()  # streams cut by the interrupt are kept, marked truncated
        for cassette in self._open_cassettes.values():
            with contextlib.suppress(Exception):
                cassette.save(finished=False)  # marked: the test's next run records the rest
            cassette.close()
        self._open_cassettes.clear()

    def _interrupted_record(self) -> TestRecord | None:
        """The test Ctrl-C stopped gets no report from pytest, but its live calls were paid for: its record,
        an error with its calls, so the spend counts them (its recordings are kept by `_save_interrupted`)."""
        ctx = context.current()
        if ctx is None or ctx.nodeid in self.records:
            return None
        context.set_current(None)
        record = ctx.record
        record.calls = ctx.calls
        record.outcome, record.failure = "error", "error"
        live = sum(1 for call in record.calls if call.source == "live")
        record.message = (
            f"interrupted before it finished; its {len(record.calls)} call(s) ({live} live) are counted here"
            + (", and their recordings are kept, marked interrupted" if record.cassette else "")
        )
        return record

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Controller only: report, compare with the baseline, write files; fail the session by status."""
        self._save_interrupted()
        if session.exitstatus == pytest.ExitCode.INTERRUPTED and not self.is_worker:
            # Under xdist the controller stops the workers without waiting for their last words, so
            # a worker's interrupted test is in its cassette and the ledger, not in this report.
            record = self._interrupted_record()
            if record is not None:
                self.records[record.nodeid] = record
        if self.is_worker and self.config_errors:  # the controller sets the status (pytest_testnodedown)
            self.config.workeroutput["llmops_config_errors"] = list(self.config_errors)  # type: ignore[attr-defined]
        if self.config_errors and session.exitstatus in (
            pytest.ExitCode.OK,
            pytest.ExitCode.TESTS_FAILED,
            pytest.ExitCode.INTERRUPTED,
        ):
            session.exitstatus = pytest.ExitCode.USAGE_ERROR
        if self.is_worker or not self.settings.eval_enabled or session.config.option.collectonly:
            return
        from pytest_llmops.results import reporting

        ab_tables: list[Any] = []
        if any(r.variant for r in self.records.values()):
            from pytest_llmops.experiments import comparisons

            ab_tables = comparisons.tables(self.records.values(), self.settings)
        self.report_outcome = reporting.finish(
            self.records.values(),
            self.settings,
            full_run=reporting.is_full_run(session),
            duration_s=time.perf_counter() - self.started,
            comparisons=ab_tables,
            prices=self._report_prices(),
        )
        status = self.report_outcome.exit_status
        if status is not None and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = status

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        outcome = getattr(self, "report_outcome", None)
        if self.is_worker or outcome is None:
            return
        from pytest_llmops.results import reporting

        reporting.print_summary(terminalreporter, outcome, full=self.settings.report_terminal == "full")


def _relative(path: Path, root: Path) -> str:
    text, prefix = str(path), str(root).rstrip(os.sep) + os.sep
    if text.startswith(prefix):  # the usual case, without building paths (this runs for every llm test)
        return text[len(prefix) :].replace(os.sep, "/")
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _redact_report(report: pytest.TestReport) -> None:
    """Keep secrets out of what pytest prints and writes for an llm test: failure text and captured output."""
    if report.longrepr is not None:
        text = str(report.longrepr)
        clean = secrets.redact(text)
        if clean != text:
            report.longrepr = clean
    if report.sections:
        report.sections = [(title, secrets.redact(body)) for title, body in report.sections]


def _short(report: pytest.TestReport) -> str | None:
    longrepr = report.longrepr
    crash = getattr(longrepr, "reprcrash", None)
    text = crash.message if crash is not None else (str(longrepr) if longrepr else None)
    if text and len(text) > 500:
        text = text[:497] + "..."
    return text


def failure_kind(exc: BaseException | None, when: str) -> str:
    """Why a phase failed: "check" when the test's own checks or asserts said no (a result worth keeping
    in a baseline), else what stopped it (see `NOT_CHECK_FAILURES`)."""
    if isinstance(exc, transport.CassetteMiss):
        return "cassette miss"
    if isinstance(exc, CassetteUnreadable):
        return "error"
    if isinstance(exc, transport.BudgetExhausted):
        return "budget exhausted"
    if isinstance(exc, network.NetworkBlocked):
        return "network blocked"
    if when == "call" and isinstance(exc, AssertionError | pytest.fail.Exception):
        return "check"
    return "error"


def _outcome(phases: dict[str, pytest.TestReport]) -> tuple[str, str | None]:
    setup, call, teardown = phases.get("setup"), phases.get("call"), phases.get("teardown")
    if setup is not None and setup.failed:
        return "error", _short(setup)
    if setup is not None and setup.skipped:
        return "skipped", _short(setup)
    if call is not None:
        if hasattr(call, "wasxfail"):
            return ("xfailed" if call.skipped else "passed"), None
        if call.failed:
            return "failed", _short(call)
        if call.skipped:
            return "skipped", _short(call)
    if teardown is not None and teardown.failed:
        return "error", _short(teardown)
    return "passed", None


def _swallowed_message(swallowed: list[BaseException]) -> str:
    """A refusal the test never saw: raised in another thread, a task nobody awaited, or caught by the app."""
    count = len(swallowed)
    what = "a request of this test was" if count == 1 else f"{count} requests of this test were"
    return (
        f"{what} refused, but the test did not see it: the refusal was raised in another thread, in an "
        "asyncio task nobody awaited, or in code that catches every exception, so the app went on without "
        "the answer. If it is a library's tracing or telemetry export, name its collector in "
        f"llm_telemetry_urls. The first refusal: {swallowed[0]}"
    )
