"""What the `llm` marker does at collection: validate it, and turn prompt versions, dataset rows and
variants into test cases; and the fixtures that hand each case its prompt, row and variant."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import pytest

from pytest_llmops import context
from pytest_llmops.markers import LLMMarker, MarkerError, merge


class LLMOpsSession(Protocol):
    """What collection needs from the session (`pytest_llmops.session.LLMOpsSession`), as a protocol so
    that the session may import this module and not the other way round."""

    @property
    def eval_enabled(self) -> bool: ...
    def prompt_registry(self) -> Any: ...
    def defined_variants(self) -> Any: ...
    def marker_of(self, node: Any) -> LLMMarker | None: ...
    def note_config_error(self, message: str) -> None: ...


PROMPT, CASE, VARIANT = "llm_prompt", "llm_case", "llm_variant"


def _collect_error(message: str) -> pytest.Collector.CollectError:
    return pytest.Collector.CollectError(message)


def _parametrize(metafunc: pytest.Metafunc, name: str, values: list[Any], ids: list[str]) -> None:
    if name not in metafunc.fixturenames:
        # The marker asks for cases even if the test only reaches the fixture indirectly (or not at all).
        metafunc.fixturenames.append(name)
    metafunc.parametrize(name, values, ids=ids, indirect=True)


def generate(session: LLMOpsSession, metafunc: pytest.Metafunc) -> None:
    definition = metafunc.definition
    marks = list(definition.iter_markers(name="llm"))
    if not marks:
        return
    try:
        marker = merge(marks, definition.nodeid)
    except MarkerError as exc:
        raise _collect_error(str(exc)) from None
    where = definition.nodeid
    if not session.eval_enabled:
        return  # llm tests are skipped: their prompts, datasets and variants are not even read
    try:
        _expand(session, metafunc, marker, where)
    except pytest.UsageError as exc:  # a broken configuration file: one clean error, usage-error status
        session.note_config_error(str(exc))
        raise _collect_error(str(exc)) from None


def _expand(session: LLMOpsSession, metafunc: pytest.Metafunc, marker: LLMMarker, where: str) -> None:
    definition = metafunc.definition
    variant_spec = marker.get("variants")
    if variant_spec is not None:
        from pytest_llmops.experiments.variants import VariantError, from_marker

        try:
            chosen = from_marker(variant_spec, session.defined_variants(), where)
        except VariantError as exc:
            raise _collect_error(str(exc)) from None
        for variant in chosen:
            if variant.prompt_ref:
                _prompts(session, variant.prompt_ref, where)  # fail at collection, not at setup
        _parametrize(metafunc, VARIANT, chosen, [v.name for v in chosen])

    prompt_spec = marker.get("prompt")
    if prompt_spec is not None:
        specs = [prompt_spec] if isinstance(prompt_spec, str) else list(prompt_spec)
        refs = list(dict.fromkeys(p.ref for spec in specs for p in _prompts(session, spec, where)))
        if len(refs) > 1:
            _parametrize(metafunc, PROMPT, refs, refs)

    dataset = marker.get("dataset")
    if dataset is not None:
        from pytest_llmops.experiments.datasets import DatasetError, load

        try:
            cases = load(dataset_path(Path(str(definition.path)), dataset))
        except DatasetError as exc:  # the file the marker names is configuration: usage-error status
            session.note_config_error(f"{where}: {exc}")
            raise _collect_error(f"{where}: {exc}") from None
        _check_conversations(cases, where)
        _parametrize(metafunc, CASE, list(cases), [c.id for c in cases])


def _check_conversations(cases: Any, where: str) -> None:
    """Malformed `conversation` rows fail at collection, naming the file and row."""
    if not any("conversation" in case for case in cases):
        return
    from pytest_llmops.experiments.conversations import ConversationError, parse

    for case in cases:
        if "conversation" in case:
            try:
                parse(case["conversation"], _case_where(case))
            except ConversationError as exc:
                raise _collect_error(f"{where}: {exc}") from None


def _case_where(case: Any) -> str:
    return f"{case.source}, case {case.id}" + (f" (line {case.line})" if case.line else "")


def resolve_conversation(request: pytest.FixtureRequest) -> Any:
    """`play(reply, turns=None, system=None)`: the row's conversation (or `turns`) played against `reply`."""
    from pytest_llmops.experiments.conversations import ConversationError, parse, play

    callspec = getattr(request.node, "callspec", None)
    case = request.getfixturevalue(CASE) if callspec is not None and CASE in callspec.params else None
    nodeid = request.node.nodeid

    def run(reply: Any, turns: Any = None, system: str | None = None) -> Any:
        __tracebackhide__ = True
        raw = turns if turns is not None else (case.get("conversation") if case is not None else None)
        if raw is None:
            where = f"the dataset row {case.id}" if case is not None else "this test"
            pytest.fail(
                f"{nodeid}: llm_conversation has no conversation: {where} has no 'conversation' field; give the "
                "dataset rows one (a list of `user:` turns), or pass turns=[{'user': ...}, ...]",
                pytrace=False,
            )
        try:
            parsed = parse(raw, _case_where(case) if case is not None and turns is None else nodeid)
        except ConversationError as exc:
            pytest.fail(str(exc), pytrace=False)
        return play(parsed, reply, system=system)

    return run


def dataset_path(test_file: Path, spec: str) -> Path:
    """Datasets are named relative to the test file's folder (absolute paths are taken as they are)."""
    path = Path(spec)
    return path if path.is_absolute() else test_file.parent / path


def _prompts(session: LLMOpsSession, spec: str, where: str) -> list[Any]:
    from pytest_llmops.prompts import PromptError

    registry = session.prompt_registry()
    try:
        found = registry.resolve(spec)
    except PromptError as exc:
        raise _collect_error(f"{where}: {exc}") from None
    if not found:
        raise _collect_error(f"{where}: prompt {spec!r} matches no version")
    return list(found)


def item_params(item: pytest.Item) -> dict[str, str]:
    """The ids of this item's llm cases: prompt ref, case id, variant name."""
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return {}
    out: dict[str, str] = {}
    params = callspec.params
    if PROMPT in params:
        out["prompt"] = str(params[PROMPT])
    if CASE in params:
        out["case"] = params[CASE].id
    if VARIANT in params:
        out["variant"] = params[VARIANT].name
        out["variant_index"] = str(params[VARIANT].index)  # 0: the control, whatever the run order
    return out


def _use_prompt(prompt: Any) -> None:
    ctx = context.current()
    if ctx is not None:
        ctx.use_prompt(prompt.ref, prompt.sha256, dict(prompt.metadata or {}))


def resolve_prompt(session: LLMOpsSession, request: pytest.FixtureRequest) -> Any:
    nodeid = request.node.nodeid
    if hasattr(request, "param"):
        prompt = session.prompt_registry().get(str(request.param))
    else:
        marker = session.marker_of(request.node)
        spec = marker.get("prompt") if marker is not None else None
        if spec is None:
            pytest.fail(
                f'{nodeid}: the llm_prompt fixture needs @pytest.mark.llm(prompt="name@version")',
                pytrace=False,
            )
        specs = [spec] if isinstance(spec, str) else list(spec)
        found = [p for s in specs for p in _prompts(session, s, nodeid)]
        prompt = found[0]
    _use_prompt(prompt)
    return prompt


def resolve_case(request: pytest.FixtureRequest) -> Any:
    if not hasattr(request, "param"):
        pytest.fail(
            f'{request.node.nodeid}: the llm_case fixture needs @pytest.mark.llm(dataset="file")',
            pytrace=False,
        )
    case = request.param
    ctx = context.current()
    if ctx is not None:
        ctx.record.case_id = case.id
    return case


def resolve_variant(session: LLMOpsSession, request: pytest.FixtureRequest) -> Any:
    if not hasattr(request, "param"):
        pytest.fail(
            f"{request.node.nodeid}: the llm_variant fixture needs @pytest.mark.llm(variants=...)",
            pytrace=False,
        )
    variant = request.param
    ctx = context.current()
    if ctx is not None:
        ctx.variant = variant.name
        ctx.record.variant = variant.name
        ctx.record.variant_config = variant.config
    if variant.prompt_ref:
        prompt = _prompts(session, variant.prompt_ref, request.node.nodeid)[-1]
        _use_prompt(prompt)
        variant = replace(variant, prompt=prompt)
    return variant
