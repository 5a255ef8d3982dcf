"""A/B comparisons of variants: every non-control variant of a test against its control, per metric, with
a SHIP / REVERT / INCONCLUSIVE decision.

Pure: per-test records and settings in, `ABComparison` objects (`comparison_results`) and report `Table`s
(`comparison_tables`) out. Imported lazily at the end of a session, by the controller only.

How the numbers are made:

- Groups: records of one base test (nodeid without its `[...]` ids) that carry a variant. The first
  variant listed in the marker is the control: each record carries its variant's position
  (`params["variant_index"]`); records without it fall back to the `order` given, else to the order
  they arrived in (and a note says so).
- Units: what a record is apart from its variant (its dataset case, prompt version, other parameters).
  When the variants share units the design is *paired* (per-unit values, the same case under each
  variant); a unit only one variant ran is dropped from the analysis and counted. When every variant has
  a single unit (variants but no dataset) the design is *unpaired* over the runs (repeats), which are
  independent.
- The value of a metric for a unit is what the baseline measures (`baseline.measure`): the mean over its
  runs of each run's mean score of that name; pass_rate, cost_usd and tokens per run; latency_p95 the
  95th percentile of the unit's call latencies. Unpaired designs use the per-run values instead.
- Tests (`stats.compare_samples`): paired scores Wilcoxon signed-rank, unpaired Welch's t; pass rates
  exact McNemar when paired with one run per case, Fisher's exact test on runs when unpaired, and
  Wilcoxon on per-case pass fractions when paired cases were repeated. The primary metric is the
  decision's one pre-declared hypothesis and is tested at alpha; Holm's correction runs over the other
  (secondary) metrics of one comparison; both raw and adjusted p are reported.
- Decision: SHIP when the primary metric is better with p < alpha and no guard metric
  (`llm_guard_metrics`, the `--llm-fail-on` syntax, tolerances relative to the control's mean) is worse
  beyond its tolerance; REVERT when the primary metric is significantly worse; INCONCLUSIVE otherwise,
  with the sample size that would detect the observed effect at alpha with 80% power (for secondary
  metrics, at alpha/m: Holm's strictest step).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

from pytest_llmops.experiments.comparison_results import (
    ABComparison,
    Decision,
    Design,
    GuardCheck,
    MetricResult,
    Verdict,
    format_p,
)
from pytest_llmops.results.baseline import MetricEntry, measure
from pytest_llmops.results.gates import BUILTIN_METRICS, parse_gates
from pytest_llmops.results.records import TestRecord
from pytest_llmops.results.report import numbers as fmt
from pytest_llmops.results.report.figures import metric_scale
from pytest_llmops.stats import Kind, TestName, compare_samples, holm_bonferroni
from pytest_llmops.wording import plural

if TYPE_CHECKING:
    from pytest_llmops.results.report.model import Table

__all__ = [
    "BUILTIN_ORDER",
    "DEFAULT_GUARDS",
    "ABComparison",
    "ABSettings",
    "Decision",
    "GuardCheck",
    "MetricResult",
    "Verdict",
    "compare_variants",
    "format_p",
    "tables",
]

BUILTIN_ORDER = ("pass_rate", "cost_usd", "latency_p95", "input_tokens", "output_tokens")
DEFAULT_GUARDS = ("cost_usd:+20%", "latency_p95:+25%", "safety:-0")
POWER = 0.8

_TESTS: dict[tuple[Kind, bool], TestName] = {
    ("continuous", True): "wilcoxon",
    ("continuous", False): "welch",
    ("binary", True): "mcnemar",
    ("binary", False): "fisher",
}


class ABSettings(Protocol):
    """What a comparison reads from the session's `Settings`."""

    @property
    def alpha(self) -> float: ...

    @property
    def primary_metric(self) -> str: ...

    @property
    def guard_metrics(self) -> tuple[str, ...]: ...


# -- grouping ------------------------------------------------------------------------------------------


def _variant(record: TestRecord) -> str | None:
    return record.variant or record.params.get("variant")


def _unit(record: TestRecord, variant: str) -> str:
    """The record's ids without its variant's: "[control-q1]" -> "q1", "[p@1-control-q1]" -> "p@1-q1"."""
    ids = record.nodeid[len(record.base_nodeid) :]
    if record.nodeid.startswith(record.base_nodeid) and ids.startswith("[") and ids.endswith("]"):
        inner = ids[1:-1]
        found = re.search(rf"(?:^|-){re.escape(variant)}(?=-|$)", inner)
        if found is not None:
            rest = inner[: found.start()] + inner[found.end() :]
            return rest[1:] if found.start() == 0 and rest.startswith("-") else rest
    params = {k: v for k, v in record.params.items() if k not in ("variant", "variant_index")}
    if record.case_id is not None:
        params.setdefault("case", record.case_id)
    return "-".join(params[k] for k in sorted(params))


@dataclass(slots=True)
class _Arm:
    """One variant of one base test: measured units, and what was left out."""

    name: str
    position: int
    units: dict[str, dict[str, MetricEntry]] = field(default_factory=dict)
    runs: dict[str, int] = field(default_factory=dict)
    skipped: int = 0
    duplicates: int = 0


@dataclass(slots=True)
class _Group:
    arms: dict[str, _Arm] = field(default_factory=dict)
    guessed: bool = False  # some record was not in the collection order: the control is a guess


def _groups(records: Iterable[TestRecord], order: Sequence[str]) -> dict[str, _Group]:
    """Base test -> its variants (two or more), by position: the control first."""
    position = {nodeid: i for i, nodeid in enumerate(order)}
    groups: dict[str, _Group] = {}
    for arrival, record in enumerate(records):
        name = _variant(record)
        if name is None:
            continue
        group = groups.setdefault(record.base_nodeid, _Group())
        index = record.params.get("variant_index")
        place = int(index) if index is not None and index.isdigit() else position.get(record.nodeid)
        if place is None:
            group.guessed = True
            place = len(position) + arrival
        arm = group.arms.setdefault(name, _Arm(name, place))
        arm.position = min(arm.position, place)
        measured = measure(record)
        if not measured:  # skipped or xfailed: not part of any comparison
            arm.skipped += 1
            continue
        key = _unit(record, name)
        if key in arm.units:
            arm.duplicates += 1
            continue
        arm.units[key] = measured
        arm.runs[key] = max(1, record.run_count)
    return {test: g for test, g in groups.items() if len(g.arms) > 1}


# -- one comparison ------------------------------------------------------------------------------------


def _metric_names(control: _Arm, treatment: _Arm, primary: str) -> list[str]:
    names = {n for arm in (control, treatment) for unit in arm.units.values() for n in unit}
    scores = sorted(n for n in names if n not in BUILTIN_METRICS)
    ordered = scores + [n for n in BUILTIN_ORDER if n in names]
    ordered += sorted(n for n in names if n not in ordered)
    if primary in ordered:
        ordered.remove(primary)
        ordered.insert(0, primary)
    return ordered


def _higher_is_better(name: str, entries: Iterable[MetricEntry]) -> bool:
    builtin = BUILTIN_METRICS.get(name)
    if builtin is not None:
        return builtin
    return next((e.higher_is_better for e in entries), True)


def _mean(values: Sequence[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def _arm_mean(arm: _Arm, name: str) -> float | None:
    return _mean([e.value for unit in arm.units.values() if (e := unit.get(name)) is not None])


def _values(
    name: str, control: _Arm, treatment: _Arm, design: Design, common: Sequence[str]
) -> tuple[list[float], list[float], list[MetricEntry]]:
    if design == "paired":
        keys = [k for k in common if name in control.units[k] and name in treatment.units[k]]
        xs = [control.units[k][name].value for k in keys]
        ys = [treatment.units[k][name].value for k in keys]
        entries = [control.units[k][name] for k in keys] + [treatment.units[k][name] for k in keys]
        return xs, ys, entries
    a = [e for u in control.units.values() if (e := u.get(name)) is not None]
    b = [e for u in treatment.units.values() if (e := u.get(name)) is not None]
    return [x for e in a for x in e.runs], [x for e in b for x in e.runs], a + b


def _kind(name: str, design: Design, control: _Arm, treatment: _Arm) -> Kind:
    """pass_rate is binary where each value is one run's pass/fail; with repeated paired cases a case's
    value is its pass fraction, compared as a continuous score."""
    if name != "pass_rate":
        return "continuous"
    if design == "unpaired":
        return "binary"
    repeated = any(n > 1 for arm in (control, treatment) for n in arm.runs.values())
    return "continuous" if repeated else "binary"


def _measure_metric(
    name: str, control: _Arm, treatment: _Arm, design: Design, common: Sequence[str], alpha: float
) -> MetricResult:
    xs, ys, entries = _values(name, control, treatment, design, common)
    kind = _kind(name, design, control, treatment)
    paired = design == "paired"
    hib = _higher_is_better(name, entries)
    a, b = _mean(xs), _mean(ys)
    base = MetricResult(name, hib, kind, paired, len(xs), len(ys), a, b)
    if a is None or b is None:
        # Say which variant has it at all: a guard on a metric only one variant measured must block.
        a, b = _arm_mean(control, name), _arm_mean(treatment, name)
        lacking = [arm.name for arm, m in ((control, a), (treatment, b)) if m is None]
        why = (
            f"{' and '.join(lacking)} did not measure it" if lacking else "no case has it under both variants"
        )
        return replace(base, mean_control=a, mean_treatment=b, note=why)
    base = replace(base, lift=b - a, relative_lift=(b - a) / abs(a) if a != 0 else None)
    minimum = 2 if kind == "continuous" else 1
    if min(len(xs), len(ys)) < minimum:
        what = "cases run under both variants" if paired else "runs per variant (set repeat=N)"
        return replace(base, note=f"needs at least {minimum} {what}")
    test = _TESTS[(kind, paired)]
    scale = metric_scale(name, xs + ys, next((e.scale for e in entries if e.scale is not None), None))
    try:
        result = compare_samples(
            xs,
            ys,
            paired=paired,
            kind=kind,
            alpha=alpha,
            test=test,
            power=POWER,
            scale=None if math.isinf(scale[0]) else scale,
        )
    except (ValueError, ArithmeticError) as exc:  # one odd metric must not take the others with it
        return replace(base, note=f"the {test} test failed: {exc}")
    return MetricResult(
        metric=name,
        higher_is_better=hib,
        kind=kind,
        paired=paired,
        n_control=result.n_a,
        n_treatment=result.n_b,
        mean_control=result.mean_a,
        mean_treatment=result.mean_b,
        ci_control=result.ci_a,
        ci_treatment=result.ci_b,
        lift=result.lift,
        relative_lift=result.relative_lift,
        lift_ci=result.lift_ci,
        test=test,
        method=result.test.method,
        p_value=result.p_value,
        needed_n=result.needed_n,
    )


def _adjust(
    metrics: list[MetricResult],
    control: _Arm,
    treatment: _Arm,
    design: Design,
    common: Sequence[str],
    alpha: float,
    primary: str,
) -> list[MetricResult]:
    """Adjusted p and the sample size needed: the primary metric alone, the others as one Holm family.

    The primary metric is the one pre-declared hypothesis the decision rests on, so it is tested at
    alpha (its adjusted p is its p). Every other metric is secondary: Holm over them keeps the chance
    of any false "significant" among them at alpha, and adding a diagnostic score never makes the
    decision harder to reach.
    """
    out = list(metrics)
    for family in (
        [i for i, m in enumerate(metrics) if m.p_value is not None and m.metric == primary],
        [i for i, m in enumerate(metrics) if m.p_value is not None and m.metric != primary],
    ):
        if family:
            out = _adjust_family(out, family, control, treatment, design, common, alpha)
    return out


def _adjust_family(
    metrics: list[MetricResult],
    tested: list[int],
    control: _Arm,
    treatment: _Arm,
    design: Design,
    common: Sequence[str],
    alpha: float,
) -> list[MetricResult]:
    """Holm-adjusted p over `tested`, and the sample size needed at Holm's strictest level."""
    holm = holm_bonferroni([metrics[i].p_value or 0.0 for i in tested], alpha)
    strict = alpha / len(tested)
    out = list(metrics)
    for i, adjusted in zip(tested, holm.adjusted, strict=True):
        m = metrics[i]
        xs, ys, _ = _values(m.metric, control, treatment, design, common)
        needed = m.needed_n
        if len(tested) > 1:
            try:
                needed = compare_samples(
                    xs, ys, paired=m.paired, kind=m.kind, alpha=strict, test=m.test, power=POWER
                ).needed_n
            except (ValueError, ArithmeticError):
                needed = None
        if needed is not None and m.test is not None:
            needed = max(needed, _exact_floor(m.test, strict, xs, ys))
        out[i] = replace(m, p_adjusted=adjusted, needed_n=needed)
    return out


def _exact_floor(test: TestName, alpha: float, xs: Sequence[float], ys: Sequence[float]) -> int:
    """The fewest examples with which the exact test could reach p < alpha at all, given the observed
    share of informative pairs.

    The power formulas are normal approximations; with no spread in the differences (common in
    replayed runs) they answer 2, while an exact test's smallest two-sided p is 2 / 2^k for k
    informative pairs (Wilcoxon: non-zero differences; McNemar: discordant pairs) and
    2 / C(2n, n) for Fisher with n per arm.
    """
    if test == "fisher":
        n = 1
        while 2.0 / math.comb(2 * n, n) >= alpha:
            n += 1
        return n
    if test not in ("wilcoxon", "mcnemar"):
        return 0
    k = 1
    while 2.0 ** (1 - k) >= alpha:
        k += 1
    informative = sum(1 for x, y in zip(xs, ys, strict=True) if x != y) / len(xs)
    return math.ceil(k / informative - 1e-9) if informative else 0


def _guards(
    specs: Sequence[str], metrics: Sequence[MetricResult], control: str, treatment: str
) -> tuple[tuple[GuardCheck, ...], str | None]:
    """Each active guard against the means; a spec that does not parse comes back as the error text."""
    try:
        gates = parse_gates(" ".join(specs)).named
    except ValueError as exc:
        return (), f"llm_guard_metrics is invalid ({exc}), so no variant can SHIP until it is fixed"
    out: list[GuardCheck] = []
    for gate in gates:
        if gate.direction is None:
            continue
        m = next((r for r in metrics if r.metric == gate.metric), None)
        a = m.mean_control if m is not None else None
        b = m.mean_treatment if m is not None else None
        if a is None and b is None:
            out.append(GuardCheck(gate, measured=False))
        elif a is None or b is None:
            out.append(GuardCheck(gate, True, a, b, missing=control if a is None else treatment))
        else:
            out.append(GuardCheck(gate, True, a, b, exceeded=gate.exceeded(a, b)))
    return tuple(out), None


# -- decision ------------------------------------------------------------------------------------------


def _needed_text(m: MetricResult, unit: str, have: int) -> str:
    if m.needed_n is None:
        return "no effect observed, so no sample size would detect one"
    return f"about {m.needed_n:,} {unit} would detect a change this size (have {have:,})"


def _decide(
    m: MetricResult | None,
    guards: Sequence[GuardCheck],
    guard_error: str | None,
    *,
    primary: str,
    alpha: float,
    treatment: str,
    unit: str,
    have: int,
) -> Decision:
    if m is None or m.mean_control is None or m.mean_treatment is None:
        return Decision("INCONCLUSIVE", f"the primary metric {primary} was not measured in both variants")
    values = f"{primary} {fmt.metric(primary, m.mean_control)} -> {fmt.metric(primary, m.mean_treatment)}"
    if m.p_adjusted is None:
        return Decision("INCONCLUSIVE", f"{values} could not be tested: {m.note}")
    p_text = f"p={format_p(m.p_adjusted)}"  # the primary metric is tested alone: its adjusted p is its p
    moved = f"{treatment} {'raises' if (m.lift or 0.0) > 0 else 'lowers'} {values} ({p_text})"
    if m.p_adjusted < alpha and m.direction == "worse":
        return Decision("REVERT", moved)
    if m.p_adjusted < alpha and m.direction == "better":
        if guard_error is not None:
            return Decision("INCONCLUSIVE", f"{moved}, but {guard_error}")
        active = [g for g in guards if g.measured and g.metric != primary]
        blocking = [g for g in active if g.blocks]
        if blocking:
            return Decision("INCONCLUSIVE", f"{moved}, but " + ", ".join(g.text for g in blocking))
        within = ", ".join(g.text for g in active)
        return Decision("SHIP", moved + (f"; {within}" if within else ""))
    reason = f"{values} is not significant ({p_text}, alpha={alpha:g}); {_needed_text(m, unit, have)}"
    return Decision("INCONCLUSIVE", reason, m.needed_n, unit)


def _compare(
    test: str,
    control: _Arm,
    treatment: _Arm,
    guessed: bool,
    *,
    alpha: float,
    primary: str,
    guard_specs: Sequence[str],
) -> ABComparison:
    if not control.units or not treatment.units:
        empty = " and ".join(arm.name for arm in (control, treatment) if not arm.units)
        return ABComparison(
            test,
            control.name,
            treatment.name,
            "unpaired",
            "runs",
            alpha,
            primary,
            (),
            (),
            Decision("INCONCLUSIVE", f"no measured runs for {empty} (skipped, or not selected)"),
            n_control=0,
            n_treatment=0,
            skipped=_skipped(control, treatment),
        )
    design: Design = "unpaired" if len(control.units) == len(treatment.units) == 1 else "paired"
    common = [k for k in control.units if k in treatment.units] if design == "paired" else []
    names = _metric_names(control, treatment, primary)
    metrics = [_measure_metric(n, control, treatment, design, common, alpha) for n in names]
    metrics = _adjust(metrics, control, treatment, design, common, alpha, primary)
    guards, guard_error = _guards(guard_specs, metrics, control.name, treatment.name)
    if design == "paired":
        n_control = n_treatment = len(common)
        unit = "cases"
    else:
        n_control, n_treatment = sum(control.runs.values()), sum(treatment.runs.values())
        unit = "runs per variant"
    notes: list[str] = []
    if guessed:
        notes.append(
            f"{control.name} is taken as the control because it reported first: the collection order "
            "was not available (e.g. under xdist)"
        )
    if guard_error is not None:
        notes.append(guard_error)
    for arm in (control, treatment):
        if arm.duplicates:
            notes.append(
                f"{plural(arm.duplicates, arm.name + ' record')} "
                f"{'repeats' if arm.duplicates == 1 else 'repeat'} a case already seen: left out"
            )
    primary_result = next((m for m in metrics if m.metric == primary), None)
    decision = _decide(
        primary_result,
        guards,
        guard_error,
        primary=primary,
        alpha=alpha,
        treatment=treatment.name,
        unit=unit,
        have=min(n_control, n_treatment),
    )
    return ABComparison(
        test=test,
        control=control.name,
        treatment=treatment.name,
        design=design,
        unit="cases" if design == "paired" else "runs",
        alpha=alpha,
        primary_metric=primary,
        metrics=tuple(metrics),
        guards=guards,
        decision=decision,
        n_control=n_control,
        n_treatment=n_treatment,
        only_control=tuple(k for k in control.units if k not in treatment.units) if common else (),
        only_treatment=tuple(k for k in treatment.units if k not in control.units) if common else (),
        skipped=_skipped(control, treatment),
        notes=tuple(notes),
    )


def _skipped(*arms: _Arm) -> dict[str, int]:
    return {arm.name: arm.skipped for arm in arms if arm.skipped}


def compare_variants(
    records: Iterable[TestRecord],
    *,
    alpha: float = 0.05,
    primary_metric: str = "pass_rate",
    guard_metrics: Sequence[str] = DEFAULT_GUARDS,
    order: Sequence[str] = (),
) -> list[ABComparison]:
    """Each non-control variant of each base test against its control, by test, then as listed.

    `order`: the session's nodeids in collection order, which says which variant the marker lists first
    (the control); for records not in it, the first variant to appear in `records` is taken.
    """
    out: list[ABComparison] = []
    groups = _groups(records, order)
    for test in sorted(groups):
        group = groups[test]
        control, *treatments = sorted(group.arms.values(), key=lambda a: a.position)
        for treatment in treatments:
            out.append(
                _compare(
                    test,
                    control,
                    treatment,
                    group.guessed,
                    alpha=alpha,
                    primary=primary_metric,
                    guard_specs=guard_metrics,
                )
            )
    return out


def tables(records: Iterable[TestRecord], settings: ABSettings, *, order: Sequence[str] = ()) -> list[Table]:
    """The report tables of every comparison (see `comparison_tables`). Never raises: a failure comes back
    as one table that says what went wrong, so the rest of the report is still written."""
    from pytest_llmops.experiments.comparison_tables import error_table, to_table

    try:
        found = compare_variants(
            records,
            alpha=settings.alpha,
            primary_metric=settings.primary_metric,
            guard_metrics=settings.guard_metrics,
            order=order,
        )
        return [to_table(c) for c in found]
    except Exception as exc:  # a bug here must not cost the user the rest of the report
        return [error_table(exc)]
