"""Versioned prompt files: loading, validation, versions and ranges, rendering, hashes, the lock file."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_llmops.prompts import (
    Lock,
    Prompt,
    PromptError,
    PromptLockError,
    PromptNotFound,
    PromptRegistry,
    Range,
    Version,
    check_lock,
    lock_path_for,
    missing_from_disk,
    parse_ref,
    read_lock,
    unlocked,
    update_lock,
)

DATA = Path(__file__).parent / "data" / "prompts"


def write(root: Path, relpath: str, text: str) -> Path:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load_one(tmp_path: Path, text: str, relpath: str = "p.yaml") -> Prompt:
    write(tmp_path / "prompts", relpath, text)
    registry = PromptRegistry.load(tmp_path / "prompts")
    assert registry.errors == []
    (prompt,) = list(registry)
    return prompt


def load_errors(tmp_path: Path, text: str, relpath: str = "p.yaml") -> list[str]:
    write(tmp_path / "prompts", relpath, text)
    registry = PromptRegistry.load(tmp_path / "prompts")
    assert len(registry) == 0
    return [str(e) for e in registry.errors]


def simple(version: str, template: str = "Hi {who}", name: str = "greet", extra: str = "") -> str:
    return f"name: {name}\nversion: {version}\ntemplate: {json.dumps(template)}\n{extra}"


def registry_of(tmp_path: Path, versions: list[str], name: str = "greet") -> PromptRegistry:
    for v in versions:
        write(tmp_path / "prompts", f"{name}/{v}.yaml", simple(v, name=name))
    registry = PromptRegistry.load(tmp_path / "prompts")
    assert registry.errors == []
    return registry


# --- the sample file from the issue and the stored fixtures ---


def test_sample_file_loads_as_is() -> None:
    registry = PromptRegistry.load(DATA)
    assert registry.errors == []
    prompt = registry.get("rag_qa_v2@1.3.2")
    assert prompt.ref == "rag_qa_v2@1.3.2"
    assert prompt.path == DATA / "rag_qa_v2.yaml"
    assert prompt.line == 2  # the `name:` line, after the comment
    assert prompt.created_by == "vsharma"
    assert prompt.created_at == "2026-01-15"  # YAML reads a date; we keep the ISO text
    assert prompt.metadata == {"tested_on": "500 examples", "avg_accuracy": 0.87, "avg_tokens": 1250}
    assert prompt.parameters == {}
    assert prompt.variables == frozenset({"context", "query"})
    assert prompt.kind == "text"
    assert len(prompt.sha256) == 64 and prompt.short_hash == prompt.sha256[:12]
    text = prompt.format(context="Paris is in France.", query="Where is Paris?")
    assert "2. Cite sources using [Source: X]\n" in text  # square brackets are literal
    assert "Context:\nParis is in France.\nQuestion: Where is Paris?\nAnswer:\n" in text
    assert text.startswith("You are a helpful assistant")


def test_fixture_folder_holds_chat_prompts_with_parameters() -> None:
    registry = PromptRegistry.load(DATA)
    assert registry.names() == ["rag_qa_v2", "summarize"]
    assert registry.versions("summarize") == ["1.0.0", "1.1.0", "2.0.0-rc.1"]
    first = registry.get("summarize", "1.0.0")
    assert first.kind == "chat"
    assert first.parameters == {"model": "gpt-4o-mini", "temperature": 0, "max_tokens": 200}
    assert first.model == "gpt-4o-mini"
    assert first.created_at == "2026-02-01T09:30:00Z"
    assert first.description == "Summarize a support ticket for the on-call engineer."
    top_level = registry.get("summarize@1.1.0")
    assert top_level.parameters == {"model": "gpt-4o", "temperature": 0, "max_tokens": 200}
    assert registry.get("summarize").version == "1.1.0"  # latest skips 2.0.0-rc.1


# --- chat form and rendering ---


def test_chat_prompt_renders_messages(tmp_path: Path) -> None:
    prompt = load_one(
        tmp_path,
        """\
        name: triage
        version: 0.1.0
        messages:
          - role: system
            content: You route tickets for {team}.
          - role: user
            content: "{ticket}"
        """,
    )
    assert prompt.variables == {"team", "ticket"}
    assert prompt.messages(team="billing", ticket="Refund {please}") == [
        {"role": "system", "content": "You route tickets for billing."},
        {"role": "user", "content": "Refund {please}"},  # values are never re-parsed
    ]
    with pytest.raises(PromptError, match=r"triage@0\.1\.0: format\(\) needs a text prompt.*use \.messages"):
        prompt.format(team="x", ticket="y")


def test_text_prompt_as_messages_is_one_user_message(tmp_path: Path) -> None:
    prompt = load_one(tmp_path, simple("1.0.0"))
    assert prompt.messages(who="Ann") == [{"role": "user", "content": "Hi Ann"}]
    assert prompt.format(who=3) == "Hi 3"  # values are turned into text with str()


def test_variable_named_self_renders(tmp_path: Path) -> None:
    prompt = load_one(tmp_path, simple("1.0.0", "{self} and {values}"))
    assert prompt.format(self="a", values="b") == "a and b"


def test_missing_variable_names_prompt_variable_and_file(tmp_path: Path) -> None:
    prompt = load_one(tmp_path, simple("1.2.0", "{context}\n{query}"))
    with pytest.raises(PromptError) as info:
        prompt.format(context="c")
    message = str(info.value)
    assert "greet@1.2.0" in message
    assert "missing variable 'query'" in message
    assert str(tmp_path / "prompts" / "p.yaml") in message
    assert "the prompt uses: context, query" in message


def test_extra_variable_is_an_error(tmp_path: Path) -> None:
    prompt = load_one(tmp_path, simple("1.2.0", "{context}"))
    with pytest.raises(PromptError) as info:
        prompt.messages(context="c", temperature="0.2", query="q")
    message = str(info.value)
    assert "unexpected variables 'query', 'temperature' (not used by the prompt)" in message
    assert "greet@1.2.0" in message and "p.yaml" in message


def test_prompt_is_frozen_and_hands_out_copies(tmp_path: Path) -> None:
    prompt = load_one(tmp_path, simple("1.0.0", extra="parameters: {stop: [END], temperature: 0.5}\n"))
    prompt.parameters["stop"].append("X")
    prompt.parameters["temperature"] = 2
    prompt.metadata["x"] = 1
    assert prompt.parameters == {"stop": ["END"], "temperature": 0.5}
    assert prompt.metadata == {}
    with pytest.raises(AttributeError):
        prompt.version = "9.9.9"  # type: ignore[misc]


# --- braces ---


@pytest.mark.parametrize(
    ("template", "variables", "values", "expected"),
    [
        ("{{x}}", set(), {}, "{x}"),
        ("{{{x}}}", {"x"}, {"x": "1"}, "{1}"),
        ('JSON: {{"a": {n}}}', {"n"}, {"n": "2"}, 'JSON: {"a": 2}'),
        ("}} and {{", set(), {}, "} and {"),
        ("[Source: X] {q}", {"q"}, {"q": "{x.__class__}"}, "[Source: X] {x.__class__}"),
        ("{a}{b}{a}", {"a", "b"}, {"a": "1", "b": "2"}, "121"),
        ("no variables at all", set(), {}, "no variables at all"),
    ],
)
def test_escaped_braces(
    tmp_path: Path, template: str, variables: set[str], values: dict[str, str], expected: str
) -> None:
    prompt = load_one(tmp_path, simple("1.0.0", template))
    assert prompt.variables == variables
    assert prompt.format(**values) == expected


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        ("{x.__class__}", "'{x.__class__}' is not a variable"),
        ("{x[0]}", "'{x[0]}' is not a variable"),
        ("{x!r}", "'{x!r}' is not a variable"),
        ("{x:>10}", "'{x:>10}' is not a variable"),
        ("{0}", "'{0}' is not a variable"),
        ("{}", "empty braces are not a variable"),
        ("{ x }", "no spaces inside braces: write {x}"),
        ('{"a": 1}', "is not a variable"),
        ("open { brace", "unclosed '{'"),
        ("close } brace", "single '}'"),
    ],
)
def test_bad_braces_are_errors_with_file_and_line(tmp_path: Path, bad: str, fragment: str) -> None:
    errors = load_errors(
        tmp_path,
        f"""\
        name: braces
        version: 1.0.0
        template: |
          first line
          second {bad} line
        """,
    )
    assert len(errors) == 1
    assert errors[0].startswith(f"{tmp_path / 'prompts' / 'p.yaml'}:5: braces@1.0.0: template: ")
    assert fragment in errors[0]
    assert "write '{{' and '}}' for literal braces" in errors[0]
    column = len("second ") + 1 + min(i for i, c in enumerate(bad) if c in "{}")
    assert f"(template line 2, column {column})" in errors[0]


def test_every_brace_error_in_a_file_is_reported(tmp_path: Path) -> None:
    errors = load_errors(
        tmp_path,
        """\
        name: braces
        version: 1.0.0
        messages:
          - role: system
            content: |
              a {x.y}
              b {z!s}
        """,
    )
    assert [e.split(": ", 1)[0] for e in errors] == [
        f"{tmp_path / 'prompts' / 'p.yaml'}:6",
        f"{tmp_path / 'prompts' / 'p.yaml'}:7",
    ]
    assert all("messages[0].content" in e for e in errors)


# --- validation errors ---


def test_malformed_yaml_names_file_and_line_and_others_still_load(tmp_path: Path) -> None:
    write(tmp_path / "prompts", "good.yaml", simple("1.0.0"))
    bad = write(tmp_path / "prompts", "bad.yaml", "name: broken\nversion: 1.0.0\ntemplate: [unclosed\nx: 1\n")
    registry = PromptRegistry.load(tmp_path / "prompts")
    assert [p.ref for p in registry] == ["greet@1.0.0"]
    (error,) = registry.errors
    assert error.path == bad and error.line == 4
    assert str(error).startswith(f"{bad}:4: invalid YAML: ")
    assert "line 4, column 2" in str(error)


def test_missing_fields_are_all_reported(tmp_path: Path) -> None:
    errors = load_errors(tmp_path, "created_by: me\nmetadata: {a: 1}\n")
    path = tmp_path / "prompts" / "p.yaml"
    assert errors == [
        f"{path}:1: missing `name:`",
        f"{path}:1: missing `version:`",
        f"{path}:1: missing `template:` (a text prompt) or `messages:` (a chat prompt)",
    ]


def test_template_and_messages_together_is_an_error(tmp_path: Path) -> None:
    errors = load_errors(
        tmp_path, simple("1.0.0", extra="messages:\n  - {role: user, content: hi}\n"), relpath="both.yaml"
    )
    assert errors == [
        f"{tmp_path / 'prompts' / 'both.yaml'}:4: greet@1.0.0: give either `template:` (a text prompt) "
        "or `messages:` (a chat prompt), not both"
    ]


@pytest.mark.parametrize(
    ("written", "fragment"),
    [
        ("1.3", "it needs three numbers, e.g. 1.3.0"),
        ("1", "it needs three numbers, e.g. 1.0.0"),
        ("v1.2.3", "drop the leading 'v'"),
        ("01.2.3", "leading zeros"),
        ("1.2.3-01", "invalid version '1.2.3-01'"),
        ("1.2.3.4", "use MAJOR.MINOR.PATCH"),
        ("latest", "use MAJOR.MINOR.PATCH"),
    ],
)
def test_invalid_version(tmp_path: Path, written: str, fragment: str) -> None:
    (error,) = load_errors(tmp_path, simple(written))
    assert error.startswith(f"{tmp_path / 'prompts' / 'p.yaml'}:2: invalid version {written!r}")
    assert fragment in error


def test_version_is_read_as_written_not_as_a_float(tmp_path: Path) -> None:
    registry = registry_of(tmp_path, ["1.10.0", "1.9.0"])
    assert registry.versions("greet") == ["1.9.0", "1.10.0"]
    (error,) = load_errors(tmp_path / "other", simple("1.10"))
    assert "'1.10'" in error  # YAML would have read the float 1.1


def test_duplicate_name_version_names_both_files(tmp_path: Path) -> None:
    a = write(tmp_path / "prompts", "a/greet.yaml", simple("1.0.0", "A {who}"))
    b = write(tmp_path / "prompts", "b/greet_copy.yml", simple("1.0.0+build.7", "B {who}"))
    write(tmp_path / "prompts", "c.yaml", simple("1.1.0"))
    registry = PromptRegistry.load(tmp_path / "prompts")
    (error,) = registry.errors
    assert f"{a}:1" in str(error) and f"{b}:1" in str(error)
    assert "duplicate prompt version" in str(error) and "bump `version:`" in str(error)
    assert registry.versions("greet") == ["1.1.0"]  # neither duplicate is used


def test_unknown_and_duplicate_keys(tmp_path: Path) -> None:
    errors = load_errors(tmp_path, simple("1.0.0", extra="temprature: 0.2\nname: again\n"))
    path = tmp_path / "prompts" / "p.yaml"
    assert errors == [
        f"{path}:4: greet@1.0.0: unknown key `temprature`: did you mean `temperature`? free-form data goes "
        "under `metadata:`, other model parameters under `parameters:`",
        f"{path}:5: greet@1.0.0: `name` is given twice (first on line 1); keep one",
    ]


def test_duplicate_keys_anywhere_are_errors_but_merge_keys_may_override(tmp_path: Path) -> None:
    extra = "parameters:\n  temperature: 0.1\n  temperature: 0.9\n"
    assert load_errors(tmp_path, simple("1.0.0", extra=extra)) == [
        f"{tmp_path / 'prompts' / 'p.yaml'}:6: greet@1.0.0: `temperature` is given twice (first on line 5); "
        "keep one"
    ]
    extra = "parameters:\n  <<: {temperature: 0.1, seed: 1}\n  temperature: 0.5\n"
    prompt = load_one(tmp_path / "merge", simple("1.0.0", extra=extra))
    assert prompt.parameters == {"temperature": 0.5, "seed": 1}


def test_unsafe_yaml_tags_are_rejected(tmp_path: Path) -> None:
    (error,) = load_errors(
        tmp_path, simple("1.0.0", extra="metadata: !!python/object/apply:os.system [echo]\n")
    )
    assert error.startswith(f"{tmp_path / 'prompts' / 'p.yaml'}:4: invalid YAML: ")
    assert "python/object/apply:os.system" in error


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ("parameters: {temperature: 3}", "parameters.temperature: must be a number from 0 to 2, got 3"),
        ("top_p: 1.5", "top_p: must be a number from 0 to 1, got 1.5"),
        ("max_tokens: 0", "max_tokens: must be a whole number >= 1, got 0"),
        ("parameters: {max_tokens: true}", "max_tokens: must be a whole number >= 1, got True"),
        ("stop: 3", "stop: must be text or a list of texts"),
        ("model: ''", "model: must be a model name"),
        ("parameters: {temperature: .nan}", "parameters.temperature: value must be a finite number"),
        ("parameters: {logit_bias: {1: 2}}", "parameters.logit_bias: key 1 must be text"),
        ("parameters: [model, gpt]", "`parameters` must be a mapping"),
        (
            "model: a\nparameters: {model: b}",
            "`model` is given both at the top level and under `parameters:`",
        ),
        ("metadata: [1, 2]", "`metadata` must be a mapping"),
        ("created_at: yesterday", "`created_at` must be an ISO 8601 date or timestamp"),
    ],
)
def test_invalid_parameters_and_fields(tmp_path: Path, extra: str, fragment: str) -> None:
    errors = load_errors(tmp_path, simple("1.0.0", extra=extra + "\n"))
    assert len(errors) == 1 and fragment in errors[0], errors
    assert errors[0].startswith(f"{tmp_path / 'prompts' / 'p.yaml'}:")


def test_unchecked_parameters_pass_through(tmp_path: Path) -> None:
    prompt = load_one(
        tmp_path,
        simple(
            "1.0.0",
            extra="temperature: 0.2\nparameters:\n  response_format: {type: json_object}\n  user: u1\n",
        ),
    )
    assert prompt.parameters == {"response_format": {"type": "json_object"}, "user": "u1", "temperature": 0.2}


@pytest.mark.parametrize(
    ("messages", "fragment"),
    [
        ("[]", "`messages` must be a non-empty list"),
        ("[{role: sytem, content: hi}]", "messages[0]: role 'sytem' is not one of system, developer, user"),
        ("[{content: hi}]", "messages[0]: missing `role`"),
        ("[{role: user}]", "messages[0]: missing `content`"),
        ("[{role: user, content: hi, name: bob}]", "messages[0]: unknown name"),
        ("[hello]", "messages[0] must be a mapping"),
        ("[{role: user, content: ''}]", "messages[0].content` is empty"),
    ],
)
def test_invalid_messages(tmp_path: Path, messages: str, fragment: str) -> None:
    errors = load_errors(tmp_path, f"name: chat\nversion: 1.0.0\nmessages: {messages}\n")
    assert len(errors) == 1 and fragment in errors[0], errors


def test_empty_and_non_mapping_files(tmp_path: Path) -> None:
    write(tmp_path / "prompts", "empty.yaml", "# nothing yet\n")
    write(tmp_path / "prompts", "list.yaml", "- a\n- b\n")
    errors = [str(e) for e in PromptRegistry.load(tmp_path / "prompts").errors]
    assert errors == [
        f"{tmp_path / 'prompts' / 'empty.yaml'}: empty file: a prompt file needs name, version and template "
        "or messages",
        f"{tmp_path / 'prompts' / 'list.yaml'}:1: expected a mapping with name, version and template or "
        "messages, found a list",
    ]


def test_missing_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match="prompts folder does not exist"):
        PromptRegistry.load(tmp_path / "nope")


# --- layout ---


def test_layout_any_yaml_file_and_multi_document_files(tmp_path: Path) -> None:
    root = tmp_path / "prompts"
    write(root, "greet/1.0.0.yaml", simple("1.0.0"))
    write(root, "deep/er/anything.yml", simple("1.1.0"))
    write(root, "bundle.yaml", simple("2.0.0") + "---\n" + simple("2.1.0") + "---\n")
    write(root, ".hidden/skip.yaml", "not: a prompt\n")
    write(root, ".skip.yaml", "not: a prompt\n")
    write(root, "notes.txt", "ignored")
    registry = PromptRegistry.load(root)
    assert registry.errors == []
    assert registry.versions("greet") == ["1.0.0", "1.1.0", "2.0.0", "2.1.0"]
    assert registry.get("greet@2.1.0").line == 5  # the second document starts after `---` on line 4


# --- semver ---


def test_semver_precedence_follows_the_spec() -> None:
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.1.0",
        "1.10.0",
        "2.0.0",
    ]
    assert sorted((Version.parse(v) for v in reversed(ordered)), key=lambda v: v) == [
        Version.parse(v) for v in ordered
    ]
    assert [str(v) for v in sorted(Version.parse(v) for v in reversed(ordered))] == ordered
    assert Version.parse("1.0.0+a") == Version.parse("1.0.0+b")
    assert str(Version.parse("1.0.0-x.7.z.92+exp.sha.5114f85")) == "1.0.0-x.7.z.92+exp.sha.5114f85"


RANGE_CASES: list[tuple[str, list[str]]] = [
    # selector -> matching versions among VERSIONS
    ("1.3.2", ["1.3.2"]),
    ("=1.3.2", ["1.3.2"]),
    ("v1.3.2", ["1.3.2"]),
    ("2.0.0-rc.1", ["2.0.0-rc.1"]),
    ("*", ["0.1.0", "0.1.5", "0.2.0", "1.2.0", "1.3.0", "1.3.2", "1.4.0", "2.0.0", "2.1.0"]),
    ("x", ["0.1.0", "0.1.5", "0.2.0", "1.2.0", "1.3.0", "1.3.2", "1.4.0", "2.0.0", "2.1.0"]),
    ("1.x", ["1.2.0", "1.3.0", "1.3.2", "1.4.0"]),
    ("1.*", ["1.2.0", "1.3.0", "1.3.2", "1.4.0"]),
    ("1", ["1.2.0", "1.3.0", "1.3.2", "1.4.0"]),
    ("1.3.*", ["1.3.0", "1.3.2"]),
    ("1.3.x", ["1.3.0", "1.3.2"]),
    ("1.3", ["1.3.0", "1.3.2"]),
    ("^1.3", ["1.3.0", "1.3.2", "1.4.0"]),
    ("^1.3.1", ["1.3.2", "1.4.0"]),
    ("^1", ["1.2.0", "1.3.0", "1.3.2", "1.4.0"]),
    ("^0.1.0", ["0.1.0", "0.1.5"]),
    ("^0.1.5", ["0.1.5"]),
    ("^0.0.1", []),
    ("^0.x", ["0.1.0", "0.1.5", "0.2.0"]),
    ("^2.0.0-rc.0", ["2.0.0-rc.1", "2.0.0", "2.1.0"]),
    ("~1.3.0", ["1.3.0", "1.3.2"]),
    ("~1.3", ["1.3.0", "1.3.2"]),
    ("~1", ["1.2.0", "1.3.0", "1.3.2", "1.4.0"]),
    ("~0.1.2", ["0.1.5"]),
    ("~>1.3.1", ["1.3.2"]),
    (">=1.2,<2", ["1.2.0", "1.3.0", "1.3.2", "1.4.0"]),
    (">=1.2 <2", ["1.2.0", "1.3.0", "1.3.2", "1.4.0"]),
    (">= 1.3.0, < 1.4", ["1.3.0", "1.3.2"]),
    (">1.3", ["1.4.0", "2.0.0", "2.1.0"]),
    (">1.3.0", ["1.3.2", "1.4.0", "2.0.0", "2.1.0"]),
    (">1", ["2.0.0", "2.1.0"]),
    ("<=1.3", ["0.1.0", "0.1.5", "0.2.0", "1.2.0", "1.3.0", "1.3.2"]),
    ("<1.3", ["0.1.0", "0.1.5", "0.2.0", "1.2.0"]),
    ("<0.2.0", ["0.1.0", "0.1.5"]),
    ("<=0.1.5", ["0.1.0", "0.1.5"]),
    ("<2.0.0", ["0.1.0", "0.1.5", "0.2.0", "1.2.0", "1.3.0", "1.3.2", "1.4.0"]),  # not 2.0.0-rc.1
    ("1.3 - 2", ["1.3.0", "1.3.2", "1.4.0", "2.0.0", "2.1.0"]),
    ("1.3.1 - 1.4.0", ["1.3.2", "1.4.0"]),
    ("^0.1 || ^2", ["0.1.0", "0.1.5", "2.0.0", "2.1.0"]),
    (">=2.0.0-rc.1", ["2.0.0-rc.1", "2.0.0", "2.1.0"]),
    ("<*", []),
]
VERSIONS = ["0.1.0", "0.1.5", "0.2.0", "1.2.0", "1.3.0", "1.3.2", "1.4.0", "2.0.0-rc.1", "2.0.0", "2.1.0"]


@pytest.mark.parametrize(("selector", "expected"), RANGE_CASES, ids=[c[0] for c in RANGE_CASES])
def test_range_forms(selector: str, expected: list[str]) -> None:
    rng = Range.parse(selector)
    assert [v for v in VERSIONS if rng.matches(Version.parse(v))] == expected


@pytest.mark.parametrize(("selector", "expected"), [c for c in RANGE_CASES if c[1]], ids=lambda c: str(c))
def test_registry_resolves_every_range_form(tmp_path: Path, selector: str, expected: list[str]) -> None:
    registry = registry_of(tmp_path, VERSIONS)
    assert [p.version for p in registry.resolve(f"greet@{selector}")] == expected
    assert registry.get("greet", selector).version == expected[-1]


def test_prerelease_rule_follows_npm() -> None:
    rng = Range.parse("^1.2.3-beta.1")
    assert rng.matches(Version.parse("1.2.3-beta.4"))
    assert not rng.matches(Version.parse("1.2.4-beta.1"))  # a pre-release of another release
    assert rng.matches(Version.parse("1.9.0"))
    assert not Range.parse("*").matches(Version.parse("1.0.0-rc.1"))


_parts = st.integers(min_value=0, max_value=3)
_versions = st.builds(
    Version, _parts, _parts, _parts, st.sampled_from([(), ("alpha",), ("alpha", 1), ("beta",), (2,)])
)


@settings(max_examples=300, deadline=None)
@given(base=_versions, v=_versions)
def test_caret_and_tilde_agree_with_their_definitions(base: Version, v: Version) -> None:
    """An oracle written from the definitions, independent of the desugaring code."""
    # npm: a pre-release only matches when the base is a pre-release of the same MAJOR.MINOR.PATCH.
    pre_ok = not v.is_prerelease or (base.is_prerelease and base.release == v.release)
    if base.major:
        caret = v.major == base.major
    elif base.minor:
        caret = v.major == 0 and v.minor == base.minor
    else:
        caret = v.release == base.release
    assert Range.parse(f"^{base}").matches(v) == (v >= base and caret and pre_ok)
    tilde = (v.major, v.minor) == (base.major, base.minor)
    assert Range.parse(f"~{base}").matches(v) == (v >= base and tilde and pre_ok)
    assert Range.parse(str(v)).matches(base) == (base == v)
    assert (base < v) == (not v <= base) and (base == v) == (
        base.release == v.release and base.prerelease == v.prerelease
    )


@pytest.mark.parametrize("bad", ["^", ">=1.2.3.4", "1.2.3-", "latest || 1", "~>", "a.b.c", "1.2 -"])
def test_invalid_ranges(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid version range"):
        Range.parse(bad)


# --- the registry ---


def test_latest_ignores_prereleases(tmp_path: Path) -> None:
    registry = registry_of(tmp_path, ["1.0.0", "1.1.0-beta.1", "2.0.0-rc.1", "1.0.1"])
    assert registry.get("greet").version == "1.0.1"
    assert [p.version for p in registry.resolve("greet@latest")] == ["1.0.1"]
    assert [p.version for p in registry.resolve("greet")] == ["1.0.1"]
    assert registry.versions("greet") == ["1.0.0", "1.0.1", "1.1.0-beta.1", "2.0.0-rc.1"]
    assert registry.get("greet@2.0.0-rc.1").is_prerelease


def test_latest_with_only_prereleases_says_what_to_do(tmp_path: Path) -> None:
    registry = registry_of(tmp_path, ["1.0.0-alpha", "1.0.0-beta"])
    with pytest.raises(PromptNotFound) as info:
        registry.get("greet")
    assert "only pre-release versions (1.0.0-alpha, 1.0.0-beta)" in str(info.value)
    assert "greet@1.0.0-beta" in str(info.value)
    assert info.value.available == ["1.0.0-alpha", "1.0.0-beta"]


def test_not_found_lists_what_exists(tmp_path: Path) -> None:
    registry = registry_of(tmp_path, ["1.0.0", "1.2.0"])
    write(tmp_path / "prompts", "other.yaml", simple("0.1.0", name="other"))
    registry = PromptRegistry.load(tmp_path / "prompts")
    with pytest.raises(PromptNotFound) as info:
        registry.get("gret@1.0.0")
    assert "no prompt named 'gret'" in str(info.value)
    assert "did you mean 'greet'? known prompts: greet, other" in str(info.value)
    assert info.value.available == ["greet", "other"]
    with pytest.raises(PromptNotFound) as info:
        registry.resolve("greet@^2")
    assert "prompt 'greet' has no version matching '^2'; versions: 1.0.0, 1.2.0" in str(info.value)
    assert info.value.available == ["1.0.0", "1.2.0"]
    with pytest.raises(PromptNotFound):
        registry.versions("nope")


def test_get_version_argument(tmp_path: Path) -> None:
    registry = registry_of(tmp_path, ["1.0.0", "1.2.0"])
    assert registry.get("greet", "1.0.0").version == "1.0.0"
    assert registry.get("greet", "*").version == "1.2.0"
    with pytest.raises(PromptError, match="not both"):
        registry.get("greet@1.0.0", "1.0.0")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("rag_qa", ("rag_qa", "latest")),
        ("rag_qa@1.3.2", ("rag_qa", "1.3.2")),
        (" rag_qa @ ^1.3 ", ("rag_qa", "^1.3")),
        ("rag_qa@>=1.2,<2", ("rag_qa", ">=1.2,<2")),
        ("rag_qa@*", ("rag_qa", "*")),
    ],
)
def test_parse_ref(spec: str, expected: tuple[str, str]) -> None:
    assert parse_ref(spec) == expected


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("", "it needs a name"),
        ("@1.0.0", "it needs a name"),
        ("x@", "nothing after '@'"),
        ("x@^^1", "cannot read"),
    ],
)
def test_parse_ref_errors(spec: str, fragment: str) -> None:
    with pytest.raises(PromptError, match="invalid prompt reference") as info:
        parse_ref(spec)
    assert fragment in str(info.value)


# --- content hash ---

BASE = """\
name: h
version: 1.0.0
template: |
  Answer {query}
  from {context}
parameters:
  model: gpt-4o
  temperature: 0.2
  stop: [END]
metadata:
  accuracy: 0.8
"""

SAME_CONTENT = {
    "comments and key order": """\
# a comment
metadata: {accuracy: 0.8}   # trailing comment
parameters: {stop: ["END"], temperature: 0.20, model: "gpt-4o"}
template: "Answer {query}\\nfrom {context}\\n"
version: 1.0.0
name: h
""",
    "metadata and authorship": BASE.replace("accuracy: 0.8", "accuracy: 0.95\n  runs: 3")
    + "created_by: someone\ncreated_at: 2026-03-01\ndescription: edited notes\n",
    "top-level parameters": BASE.replace("parameters:\n  model: gpt-4o\n", "model: gpt-4o\nparameters:\n"),
    "a new version number": BASE.replace("1.0.0", "1.0.1"),
}

OTHER_CONTENT = {
    "template text": BASE.replace("Answer {query}", "Answer briefly {query}"),
    "trailing newline": BASE.replace("template: |", "template: |-"),
    "a parameter value": BASE.replace("temperature: 0.2", "temperature: 0.3"),
    "a new parameter": BASE.replace("stop: [END]", "stop: [END]\n  seed: 1"),
    "a stop sequence": BASE.replace("stop: [END]", "stop: [END, STOP]"),
}


def hash_of(tmp_path: Path, text: str) -> str:
    return load_one(tmp_path / str(abs(hash(text))), text).sha256


@pytest.mark.parametrize("variant", SAME_CONTENT, ids=list(SAME_CONTENT))
def test_hash_ignores_formatting_comments_metadata(tmp_path: Path, variant: str) -> None:
    assert hash_of(tmp_path, SAME_CONTENT[variant]) == hash_of(tmp_path, BASE)


@pytest.mark.parametrize("variant", OTHER_CONTENT, ids=list(OTHER_CONTENT))
def test_hash_changes_with_content(tmp_path: Path, variant: str) -> None:
    assert hash_of(tmp_path, OTHER_CONTENT[variant]) != hash_of(tmp_path, BASE)


def test_hash_treats_integral_floats_as_integers(tmp_path: Path) -> None:
    one = hash_of(tmp_path, simple("1.0.0", extra="temperature: 1\n"))
    assert one == hash_of(tmp_path, simple("1.0.0", extra="temperature: 1.0\n"))
    assert one != hash_of(tmp_path, simple("1.0.0", extra="temperature: 1.5\n"))


def test_text_and_chat_with_same_text_hash_differently(tmp_path: Path) -> None:
    text = hash_of(tmp_path, simple("1.0.0", "Hi {who}"))
    chat = hash_of(tmp_path, "name: greet\nversion: 1.0.0\nmessages: [{role: user, content: 'Hi {who}'}]\n")
    assert text != chat


# --- the lock file ---


def test_lock_path_is_beside_the_folder(tmp_path: Path) -> None:
    assert lock_path_for(tmp_path / "prompts") == tmp_path / "prompts.lock"
    assert lock_path_for(Path("prompts")) == Path("prompts.lock")
    assert lock_path_for(tmp_path / "prompts" / ".") == tmp_path / "prompts.lock"


def test_update_lock_adds_versions_deterministically(tmp_path: Path) -> None:
    root = tmp_path / "prompts"
    for v in ["1.10.0", "1.9.0", "1.0.0-rc.1"]:
        write(root, f"greet/{v}.yaml", simple(v, f"v{v} {{who}}"))
    write(root, "alpha.yaml", simple("0.1.0", name="alpha"))
    registry = PromptRegistry.load(root)
    path = lock_path_for(root)
    assert update_lock(registry, path) == ["alpha@0.1.0", "greet@1.0.0-rc.1", "greet@1.9.0", "greet@1.10.0"]
    data = json.loads(path.read_text())
    assert data["lockfile_version"] == 1
    assert list(data["prompts"]) == ["alpha", "greet"]
    assert list(data["prompts"]["greet"]) == ["1.0.0-rc.1", "1.9.0", "1.10.0"]  # semver order
    assert data["prompts"]["greet"]["1.9.0"] == registry.get("greet@1.9.0").sha256
    assert path.read_text().endswith("}\n")
    assert len(path.read_text().splitlines()) == 13  # one line per version
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prompts", "prompts.lock"]  # no temp file left
    assert path.stat().st_mode & 0o777 == 0o644

    before = path.read_text()
    mtime = path.stat().st_mtime_ns
    assert update_lock(PromptRegistry.load(root), path) == []
    assert path.read_text() == before and path.stat().st_mtime_ns == mtime  # untouched when nothing is new
    lock = read_lock(path)
    assert lock.exists and len(lock) == 4 and check_lock(registry, lock) == []


def test_changed_locked_version_is_a_violation_and_never_relocked(tmp_path: Path) -> None:
    root = tmp_path / "prompts"
    file = write(root, "greet.yaml", simple("1.3.2", "Hello {who}", extra="metadata: {runs: 1}\n"))
    path = lock_path_for(root)
    update_lock(PromptRegistry.load(root), path)
    locked = read_lock(path).sha256("greet", "1.3.2")
    assert locked is not None

    write(root, "greet.yaml", simple("1.3.2", "Hello {who}", extra="# notes\nmetadata: {runs: 2}\n"))
    assert check_lock(PromptRegistry.load(root), read_lock(path)) == []  # metadata is not content

    write(root, "greet.yaml", simple("1.3.2", "Hello there {who}"))
    write(root, "new.yaml", simple("0.1.0", name="new"))
    registry = PromptRegistry.load(root)
    assert update_lock(registry, path) == ["new@0.1.0"]
    lock = read_lock(path)
    assert lock.sha256("greet", "1.3.2") == locked  # the changed version keeps its locked hash
    (violation,) = check_lock(registry, lock)
    current = registry.get("greet@1.3.2").sha256
    assert (violation.path, violation.line, violation.ref) == (file, 1, "greet@1.3.2")
    assert (violation.locked_sha256, violation.current_sha256) == (locked, current)
    assert str(violation) == (
        f"{file}:1: greet@1.3.2 changed after it was locked in {path} (locked sha256 {locked[:12]}, "
        f"now {current[:12]}). Released versions are immutable: restore the file, or bump `version:` "
        "(e.g. to 1.3.3) and run `pytest-llmops prompts lock`."
    )


def test_deleted_version_is_information_not_a_violation(tmp_path: Path) -> None:
    root = tmp_path / "prompts"
    write(root, "greet/1.0.0.yaml", simple("1.0.0"))
    old = write(root, "greet/0.9.0.yaml", simple("0.9.0"))
    path = lock_path_for(root)
    update_lock(PromptRegistry.load(root), path)
    old.unlink()
    registry = PromptRegistry.load(root)
    lock = read_lock(path)
    assert check_lock(registry, lock) == []
    assert missing_from_disk(registry, lock) == ["greet@0.9.0"]
    assert update_lock(registry, path) == []
    assert read_lock(path).sha256("greet", "0.9.0") is not None  # kept: the version may not come back changed
    update_lock(registry, path, prune=True)
    assert read_lock(path).refs() == ["greet@1.0.0"]


def test_unlocked_versions(tmp_path: Path) -> None:
    registry = registry_of(tmp_path, ["1.0.0", "1.1.0"])
    assert [p.ref for p in unlocked(registry, Lock())] == ["greet@1.0.0", "greet@1.1.0"]
    lock = Lock(entries={"greet": {"1.0.0": registry.get("greet@1.0.0").sha256}}, exists=True)
    assert [p.ref for p in unlocked(registry, lock)] == ["greet@1.1.0"]


def test_read_lock_missing_file_is_empty(tmp_path: Path) -> None:
    lock = read_lock(tmp_path / "prompts.lock")
    assert not lock.exists and len(lock) == 0 and lock.refs() == []


@pytest.mark.parametrize(
    ("text", "fragment", "line"),
    [
        ('{\n  "lockfile_version": 1,\n  "prompts": {\n}', "invalid JSON", 4),
        ('{\n<<<<<<< HEAD\n"a": 1\n=======\n>>>>>>> b\n}\n', "merge conflict markers", 2),
        ('{"lockfile_version": 2, "prompts": {}}', "lockfile_version 2 is newer", None),
        ('{"lockfile_version": "1"}', "unsupported lockfile_version '1'", None),
        ("[]", "expected a JSON object", None),
        (
            '{"lockfile_version": 1, "prompts": {"a": {"1.0.0": "abc"}}}',
            "a@1.0.0: 'abc' is not a sha256",
            None,
        ),
        ('{"lockfile_version": 1, "prompts": {"a": "x"}}', "prompts.a must be an object", None),
    ],
)
def test_read_lock_errors(tmp_path: Path, text: str, fragment: str, line: int | None) -> None:
    path = tmp_path / "prompts.lock"
    path.write_text(text)
    with pytest.raises(PromptLockError) as info:
        read_lock(path)
    assert fragment in str(info.value)
    assert info.value.path == path and info.value.line == line
    assert str(info.value).startswith(f"{path}:{line}: " if line else f"{path}: ")


# -- provider-ready keyword arguments ----------------------------------------------------------------

SUPPORT = """
name: support
version: 1.0.0
model: {model}
temperature: 0
max_tokens: 200
stop: "END"
messages:
  - role: system
    content: "Answer from the article: {{article}}"
  - role: user
    content: "{{question}}"
"""


def test_anthropic_kwargs_split_the_system_message_and_carry_max_tokens(tmp_path: Path) -> None:
    prompt = load_one(tmp_path, SUPPORT.format(model="claude-haiku-4-5"))
    kwargs = prompt.anthropic_kwargs(article="Refunds take 5 days.", question="How long?")
    assert kwargs == {
        "model": "claude-haiku-4-5",
        "max_tokens": 200,
        "system": "Answer from the article: Refunds take 5 days.",
        "messages": [{"role": "user", "content": "How long?"}],
        "stop_sequences": ["END"],
        "extra_body": {"temperature": 0},
    }


def test_openai_kwargs_hold_model_messages_and_parameters(tmp_path: Path) -> None:
    prompt = load_one(tmp_path, SUPPORT.format(model="gpt-4o-mini"))
    kwargs = prompt.openai_kwargs(article="A.", question="Q?")
    assert kwargs == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "Answer from the article: A."},
            {"role": "user", "content": "Q?"},
        ],
        "temperature": 0,
        "max_tokens": 200,
        "stop": "END",
    }


def test_provider_kwargs_errors_name_the_file_and_the_fix(tmp_path: Path) -> None:
    no_limit = load_one(tmp_path, 'name: a\nversion: 1.0.0\nmodel: claude-haiku-4-5\ntemplate: "Hi {who}"\n')
    with pytest.raises(PromptError, match=r"p\.yaml.*Anthropic needs max_tokens.*max_tokens: N"):
        no_limit.anthropic_kwargs(who="x")
    seeded = load_one(
        tmp_path / "s", 'name: s\nversion: 1.0.0\nmodel: m\nseed: 7\nmax_tokens: 5\ntemplate: "Hi"\n'
    )
    with pytest.raises(PromptError, match=r"parameter 'seed' is not available in Anthropic's Messages API"):
        seeded.anthropic_kwargs()
    top_k = load_one(tmp_path / "k", 'name: b\nversion: 1.0.0\nmodel: m\ntop_k: 5\ntemplate: "Hi"\n')
    with pytest.raises(PromptError, match=r"'top_k' is not available in OpenAI"):
        top_k.openai_kwargs()
    with pytest.raises(PromptError, match="missing variable 'who'"):
        no_limit.openai_kwargs()


def test_openai_function_tools_become_anthropic_tools(tmp_path: Path) -> None:
    prompt = load_one(
        tmp_path,
        textwrap.dedent(
            """
            name: t
            version: 1.0.0
            model: claude-haiku-4-5
            max_tokens: 100
            tools:
              - type: function
                function:
                  name: get_weather
                  description: Weather of a city
                  parameters: {type: object, properties: {city: {type: string}}, required: [city]}
            tool_choice: required
            template: "Weather in Paris?"
            """
        ),
    )
    kwargs = prompt.anthropic_kwargs()
    assert kwargs["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather of a city",
            "input_schema": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        }
    ]
    assert kwargs["tool_choice"] == {"type": "any"}


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_kwargs_work_with_the_real_sdk(tmp_path: Path, sim: object, stream: bool) -> None:
    """messages.create(**...) and messages.stream(**...) of the installed anthropic SDK accept them."""
    import anthropic

    from pytest_llmops.simulator import ProviderSimulator

    assert isinstance(sim, ProviderSimulator)
    prompt = load_one(tmp_path, SUPPORT.format(model="claude-haiku-4-5"))
    kwargs = prompt.anthropic_kwargs(
        article="Refunds take 5 business days.", question="How long do refunds take?"
    )
    client = anthropic.Anthropic(base_url=sim.anthropic_base_url, api_key="test-key", max_retries=0)
    if stream:
        with client.messages.stream(**kwargs) as events:
            text = events.get_final_text()
    else:
        message = client.messages.create(**kwargs)
        text = "".join(block.text for block in message.content if block.type == "text")
    assert text
    body = sim.requests[-1].json
    assert body["system"].startswith("Answer from the article") and body["temperature"] == 0
    assert body["max_tokens"] == 200 and [m["role"] for m in body["messages"]] == ["user"]


def test_openai_kwargs_work_with_the_real_sdk(tmp_path: Path, sim: object) -> None:
    import openai

    from pytest_llmops.simulator import ProviderSimulator

    assert isinstance(sim, ProviderSimulator)
    prompt = load_one(tmp_path, SUPPORT.format(model="gpt-4o-mini"))
    client = openai.OpenAI(base_url=sim.openai_base_url, api_key="test-key", max_retries=0)
    response = client.chat.completions.create(
        **prompt.openai_kwargs(article="Refunds take 5 days.", question="How long?")
    )
    assert response.choices[0].message.content
