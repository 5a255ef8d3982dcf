"""`rubric`: an LLM judge scoring an output against your own criteria (G-Eval style), 0-1.

    checks.rubric(
        "tone",
        answer,
        criteria="The reply is polite, apologizes for the delay, and offers a concrete next step.",
        steps=["Check for an apology.", "Check for a next step the customer can take."],
        inputs={"question": question},
        threshold=0.75,
    )

The judge rates 1-5 with the shipped `custom_criteria` rubric, which frames
the criteria (and the evaluation steps, when given) and asks for a reason;
the value is (score - 1) / 4, the reason is the score's reason.

Criteria can live in a versioned prompt file, like any prompt: pass
`criteria="prompt:order_answer@1.0.0"` (resolved in `llm_prompts_dir`, any
selector the prompts registry takes, e.g. `prompt:order_answer@latest`) or a
`Prompt` object. The file's `template` is the criteria; its variables are
filled from `inputs`.

The rubric's identity, a SHA-256 of its name, criteria and steps (the prompt
file's content hash for a file), goes into the score's details as
`rubric_sha256`, and the baseline treats it like the judge's own prompt: a
score made under other criteria is "not comparable", never compared.

Custom criteria have no local scorer. Word overlap with the criteria says
nothing about meeting them ("never mentions refunds" shares its key word with
a reply that does), so in `cascade` mode a rubric always goes to the judge,
and without a judge (`llm_judge` unset, or `llm_judge_mode = off`) it raises
`JudgeError` rather than invent a score. Judge calls are recorded and
replayed with the test's cassette like every judge call.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from pytest_llmops.checks import core
from pytest_llmops.checks import settings as _settings
from pytest_llmops.checks.cascade import from_five, judged
from pytest_llmops.checks.judge import JudgeError, tag_safe
from pytest_llmops.results.scores import Score

PROMPT_PREFIX = "prompt:"


def rubric(
    name: str,
    output: str,
    criteria: Any,
    steps: Sequence[str] | None = None,
    inputs: Mapping[str, Any] | None = None,
    *,
    threshold: float | None = None,
) -> Score:
    """The judge's 0-1 score of `output` against `criteria` (text, `"prompt:name@version"` or a Prompt)."""
    __tracebackhide__ = True
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"rubric: name must be a non-empty string, got {name!r}")
    limit = core.check_threshold(name, threshold, 0.0, 1.0)
    if not isinstance(output, str):
        raise TypeError(f"rubric {name!r}: output must be text, got {type(output).__name__}")
    if isinstance(steps, str):
        raise TypeError(f"rubric {name!r}: steps must be a list of strings, not one string")
    values = {
        str(k): v if isinstance(v, str) else json.dumps(v, default=str) for k, v in (inputs or {}).items()
    }
    text, identity = _criteria(name, criteria, values, list(steps or []))
    config = _settings.current()
    if not config.uses_judge:
        why = "no LLM judge is configured" if config.judge is None else "llm_judge_mode is off"
        raise JudgeError(
            f"rubric {name!r}: custom criteria are scored only by an LLM judge, and {why}; set llm_judge = "
            "provider:model (and llm_judge_mode = always or cascade)"
        )
    variables = {
        "name": name,
        "criteria": text,
        "steps": "\n".join(f"{i}. {s}" for i, s in enumerate(steps or [], 1)) or "(none: judge the criteria)",
        "inputs": "\n".join(f'<input name="{k}">\n{v}\n</input>' for k, v in tag_safe(values).items())
        or "(none)",
        "output": output,
    }
    result, _ = judged("custom_criteria", variables, from_five, tagged=frozenset({"inputs"}))
    result.details.update(identity)
    result.details["scale"] = [0, 1]
    if config.mode == "cascade":
        result.details["cascade"] = "always judged: custom criteria have no local scorer"
    return core.finish(name, result, limit)


def _criteria(
    name: str, criteria: Any, inputs: Mapping[str, str], steps: list[str]
) -> tuple[str, dict[str, Any]]:
    """The criteria text and the rubric's identity for the details."""
    prompt = criteria
    if isinstance(criteria, str) and criteria.startswith(PROMPT_PREFIX):
        prompt = _settings.load_prompt(criteria[len(PROMPT_PREFIX) :].strip())
    if isinstance(prompt, str):
        if not prompt.strip():
            raise ValueError(f"rubric {name!r}: criteria is empty")
        material = json.dumps({"name": name, "criteria": prompt.strip(), "steps": steps}, sort_keys=True)
        return prompt.strip(), {
            "rubric": name,
            "rubric_sha256": hashlib.sha256(material.encode()).hexdigest(),
        }
    template = getattr(prompt, "template", None)
    if template is None or not hasattr(prompt, "sha256"):
        raise TypeError(
            f"rubric {name!r}: criteria must be text, 'prompt:name@version', or a text Prompt (with a "
            f"`template:`), got {type(prompt).__name__}"
        )
    missing = sorted(set(prompt.variables) - set(inputs))
    if missing:
        raise ValueError(f"rubric {name!r}: prompt {prompt.ref} needs inputs {', '.join(missing)}")
    text = prompt.format(**{k: v for k, v in inputs.items() if k in prompt.variables})
    sha = prompt.sha256
    if steps:
        sha = hashlib.sha256(json.dumps({"prompt": sha, "steps": steps}).encode()).hexdigest()
    return text.strip(), {"rubric": name, "rubric_prompt": prompt.ref, "rubric_sha256": sha}
