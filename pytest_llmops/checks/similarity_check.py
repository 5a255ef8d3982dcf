"""`similarity`: how close an output is to a reference text, by a named, standard measure (0-1).

| method      | what it measures                                   | computed by                                 |
|-------------|----------------------------------------------------|---------------------------------------------|
| `edit`      | 1 - normalized Levenshtein distance of the texts   | rapidfuzz (a core dependency)               |
| `rouge_l`   | ROUGE-L F1: longest common subsequence of words    | here, as the `rouge-score` package does it  |
| `bleu`      | sentence BLEU-4 with exponential smoothing         | here, as `sacrebleu.sentence_bleu` does it  |
| `embedding` | cosine of WordLlama embeddings                     | the `semantic` extra (bundled weights)      |

ROUGE-L and BLEU are implemented here rather than imported: `rouge-score`
pulls in nltk and absl, `sacrebleu` lxml, numpy and more, for a few dozen
lines of arithmetic. Both follow the reference implementations' definitions
(ROUGE-L: lowercased alphanumeric tokens, no stemming, F1 of LCS precision
and recall; BLEU: the mteval 13a tokenizer, modified n-gram precisions up to
4, brevity penalty, the `exp` smoothing of Chen & Cherry 2014), and the tests
compare them with values those packages print. BLEU is reported on 0-1, not
sacrebleu's 0-100.

With several references the best one counts (BLEU uses them all, as BLEU does).
An embedding cosine is not a probability: unrelated sentences score around
0-0.25 and paraphrases 0.45-0.95, so set its threshold from your own data.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from pytest_llmops.checks import core
from pytest_llmops.results.scores import Score

METHODS = ("edit", "rouge_l", "bleu", "embedding")


def similarity(
    output: str,
    reference: str | Sequence[str],
    *,
    method: str = "rouge_l",
    threshold: float | None = None,
    name: str | None = None,
) -> Score:
    """Similarity of `output` to `reference` (or the closest of several references) by `method`, 0-1."""
    __tracebackhide__ = True
    if method not in METHODS:
        raise ValueError(f"similarity: method must be one of {', '.join(METHODS)}, got {method!r}")
    label = name or f"similarity_{method}"
    limit = core.check_threshold(label, threshold, 0.0, 1.0)
    if not isinstance(output, str):
        raise TypeError(f"similarity: output must be text, got {type(output).__name__}")
    references = [reference] if isinstance(reference, str) else list(reference)
    if not references or not all(isinstance(r, str) for r in references):
        raise TypeError("similarity: reference must be a text or a non-empty list of texts")
    details: dict[str, object] = {"method": method}
    if method == "bleu":
        value, parts = bleu(output, references)
        details.update(parts)
    else:
        measure = {"edit": edit_similarity, "rouge_l": rouge_l, "embedding": embedding_similarity}[method]
        values = [measure(output, r) for r in references]
        best = max(range(len(values)), key=values.__getitem__)
        value = values[best]
        if len(references) > 1:
            details.update(best_reference=best, per_reference=[round(v, 4) for v in values])
    reason = f"{method} similarity {core.fmt(value)} to the reference"
    scorer = "semantic" if method == "embedding" else "rule"
    return core.finish(label, core.Assessment(value, scorer, reason, details=details), limit)


def edit_similarity(output: str, reference: str) -> float:
    from rapidfuzz.distance import Levenshtein

    return float(Levenshtein.normalized_similarity(output, reference))


# -- ROUGE-L ----------------------------------------------------------------------------------------


def rouge_tokens(text: str) -> list[str]:
    """rouge-score's default tokenization: lowercase, runs of [a-z0-9], no stemming."""
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).split()


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    if not a or not b:
        return 0
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def rouge_l(output: str, reference: str) -> float:
    """ROUGE-L F1 of `output` (candidate) against `reference` (target)."""
    candidate, target = rouge_tokens(output), rouge_tokens(reference)
    common = _lcs(target, candidate)
    if not candidate or not target or common == 0:
        return 0.0
    precision, recall = common / len(candidate), common / len(target)
    return 2 * precision * recall / (precision + recall)


# -- BLEU -------------------------------------------------------------------------------------------

_13A_RULES = (
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),  # punctuation and symbols
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),  # period, comma not after a digit
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),  # period, comma not before a digit
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),  # dash after a digit
)


def tokenize_13a(text: str) -> list[str]:
    """The mteval-v13a tokenizer, BLEU's standard (sacrebleu's default)."""
    text = text.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in text:
        text = text.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    text = f" {text} "
    for pattern, replacement in _13A_RULES:
        text = pattern.sub(replacement, text)
    return text.split()


def _ngrams(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def bleu(output: str, references: Sequence[str], max_order: int = 4) -> tuple[float, dict[str, object]]:
    """Sentence BLEU (0-1) with `exp` smoothing, and its parts (precisions, brevity penalty, lengths)."""
    hypothesis = tokenize_13a(output)
    refs = [tokenize_13a(r) for r in references]
    hyp_len = len(hypothesis)
    # The reference length closest to the hypothesis length; the shorter one on a tie.
    ref_len = min((abs(len(r) - hyp_len), len(r)) for r in refs)[1]
    matches, totals = [0] * max_order, [0] * max_order
    for n in range(1, max_order + 1):
        counts = _ngrams(hypothesis, n)
        best: Counter[tuple[str, ...]] = Counter()
        for ref in refs:
            best |= _ngrams(ref, n)
        matches[n - 1] = sum(min(count, best[gram]) for gram, count in counts.items())
        totals[n - 1] = max(0, hyp_len - n + 1)
    precisions: list[float] = []
    smooth = 1.0
    for n in range(max_order):
        if totals[n] == 0:  # a hypothesis shorter than n words: its effective order is lower
            break
        if matches[n] == 0:
            smooth *= 2
            precisions.append(1.0 / (smooth * totals[n]))
        else:
            precisions.append(matches[n] / totals[n])
    parts: dict[str, object] = {
        "precisions": [round(p, 4) for p in precisions],
        "hypothesis_length": hyp_len,
        "reference_length": ref_len,
    }
    if hyp_len == 0 or matches[0] == 0:
        parts["brevity_penalty"] = 0.0 if hyp_len == 0 else round(_brevity(hyp_len, ref_len), 4)
        return 0.0, parts
    penalty = _brevity(hyp_len, ref_len)
    parts["brevity_penalty"] = round(penalty, 4)
    value = penalty * math.exp(sum(math.log(p) for p in precisions) / len(precisions))
    return min(1.0, value), parts


def _brevity(hyp_len: int, ref_len: int) -> float:
    if hyp_len >= ref_len:
        return 1.0
    return math.exp(1 - ref_len / hyp_len) if hyp_len > 0 else 0.0


# -- embeddings -------------------------------------------------------------------------------------


def embedding_similarity(output: str, reference: str) -> float:
    """Cosine of the WordLlama embeddings (clipped at 0); needs the `semantic` extra."""
    from pytest_llmops.checks.semantic import SemanticScorer

    if not output.strip() or not reference.strip():
        return 1.0 if output.strip() == reference.strip() else 0.0
    [[cos]] = SemanticScorer.shared()._cosines([output], [reference])
    return max(0.0, min(1.0, cos))
