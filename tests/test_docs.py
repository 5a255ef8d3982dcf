"""Every code block of README.md and docs/*.md runs, or is checked, here: the docs cannot drift.

Each page gets a fresh project folder (pytester) in which its blocks are handled in order, so a page can
write a prompt file, then a test, record it against the provider simulator, replay it offline, and show
the output. SDK clients reach the simulator through OPENAI_BASE_URL / ANTHROPIC_BASE_URL (and
GOOGLE_GEMINI_BASE_URL, AZURE_OPENAI_ENDPOINT + OPENAI_API_VERSION, AWS_ENDPOINT_URL_BEDROCK_RUNTIME, OLLAMA_HOST
for the client pages in docs/clients/), so the examples use plain `OpenAI()` / `Anthropic()` / `genai.Client()`
as users do. No API key is in the environment unless a command sets one (`OPENAI_API_KEY=... pytest ...`, given
a fake key of the provider's shape here); a pytest command without a key must not reach the simulator at
all, so every replay shown in the docs is proven offline. Ollama takes no key: a command that sets
`OLLAMA_HOST=...` itself is the one that may reach it (the value is pointed at the simulator here).

A block's handling comes from an HTML comment on the line before its fence:

    <!-- docs-test: file PATH [check=KIND] -->   write the block to PATH in the project; it is validated by
                                                 its extension, and with check= by the real loader: prompt,
                                                 prices, variants, dataset, cassette
    <!-- docs-test: run [status=N] -->          a shell block: run each command (pytest, pytest-llmops, cat)
    <!-- docs-test: output -->                  each line appears, in order, in the previous command's
                                                 output or the previous python block's stdout ("..." matches
                                                 anything; white space is collapsed)
    <!-- docs-test: ci PATH -->                 these commands are the ones the script PATH runs, in order
    <!-- docs-test: simulator -->               a shell block that starts `python -m pytest_llmops.simulator
                                                 ... &` and exports *_BASE_URL: the harness starts that very
                                                 command (on a free port) and the page's later commands talk
                                                 to it, with the exported variables
    <!-- docs-test: skip REASON -->             not run; the reason is required

Without a directive a block is handled by its language: python is exec'd in the project folder and must
not raise (a block defining tests, fixtures or hooks needs `file`); bash/console/shell blocks run when
every command is runnable; yaml and json are parsed (CI files: every pytest and pytest-llmops command in
them must parse with the real options); ini and toml are read by pytest, every key must be known and the
plugin's settings valid. Any other block needs a directive, so a new example cannot slip through untested.
"""

from __future__ import annotations

import configparser
import contextlib
import io
import json
import os
import re
import shlex
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_llmops import cli
from pytest_llmops.simulator import ProviderSimulator
from tests.conftest import fake_key

os.environ.setdefault(
    "LITELLM_LOCAL_MODEL_COST_MAP", "True"
)  # litellm fetches its price map at import otherwise
# Imported before the in-process runs of the pages: pytester drops the modules an inner run imported, and
# litellm imported inside one leaves later runs without the plugins' entry points (`--llm-eval` then is an
# unrecognized argument for every page after docs/clients/litellm.md when the pages run in one process).
with contextlib.suppress(ImportError):
    import litellm  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "docs" / "clients").glob("*.md")])
PAGE_IDS = [p.relative_to(ROOT).as_posix() for p in PAGES]
SHELL = frozenset({"bash", "console", "shell", "sh"})
DIRECTIVE = re.compile(r"^<!--\s*docs-test:\s*(?P<action>[a-z]+)\s*(?P<args>.*?)\s*-->\s*$")
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
DEFINES_TESTS = re.compile(r"^\s*(?:def (?:test_|pytest_)|@pytest\.fixture|class Test)", re.M)


@dataclass
class Block:
    page: str
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    action: str | None = None
    args: str = ""

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def blocks_of(path: Path) -> list[Block]:
    """Fenced code blocks, with the directive from the line before each fence."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            body.append(lines[j][indent:] if lines[j][:indent].isspace() else lines[j])
            j += 1
        assert j < len(lines), f"{path.name}:{i + 1}: code block never closed"
        block = Block(path.name, i + 1, opening["info"].strip().split(" ")[0].lower(), "\n".join(body) + "\n")
        previous = lines[i - 1].strip() if i > 0 else ""
        directive = DIRECTIVE.match(previous)
        if directive:
            block.action, block.args = directive["action"], directive["args"]
        elif "docs-test" in previous:
            raise AssertionError(f"{block.where}: malformed directive {previous!r}")
        found.append(block)
        i = j + 1
    return found


def options(args: str) -> tuple[list[str], dict[str, str]]:
    words, named = [], {}
    for word in args.split():
        key, sep, value = word.partition("=")
        if sep and key.isidentifier():
            named[key] = value
        else:
            words.append(word)
    return words, named


# -- shell commands ------------------------------------------------------------------------------------


@dataclass
class Command:
    env: dict[str, str]
    argv: list[str]
    text: str


def commands(block: Block) -> list[Command]:
    """Commands of a shell block: `$ ` lines in console blocks, every line otherwise; `\\` continues."""
    raw: list[str] = []
    pending = ""
    for line in block.text.splitlines():
        if block.lang == "console" and not pending:
            if not line.startswith("$ "):
                continue  # output shown after a command
            line = line[2:]
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        raw.append(pending + line)
        pending = ""
    out = []
    for text in raw:
        words = shlex.split(text, comments=True)
        env: dict[str, str] = {}
        while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
            name, _, value = words.pop(0).partition("=")
            env[name] = value
        if words:
            out.append(Command(env, words, text.strip()))
    return out


RUNNABLE = frozenset({"pytest", "pytest-llmops", "cat", "rm"})


@dataclass
class Project:
    """One page's project folder, the simulator, and what the last command printed."""

    pytester: pytest.Pytester
    sim: ProviderSimulator
    monkeypatch: pytest.MonkeyPatch
    output: str | None = None
    stack: contextlib.ExitStack | None = None
    standalone_url: str | None = None  # the `python -m pytest_llmops.simulator` a page started

    def start_simulator(self, block: Block) -> None:
        """Start the page's `python -m pytest_llmops.simulator ... &` and apply its exports."""
        from tests.simulator_process import simulator_process

        found = commands(block)
        start = found[0].argv
        assert start[:3] == ["python", "-m", "pytest_llmops.simulator"] and start[-1] == "&", (
            f"{block.where}: a simulator block starts with `python -m pytest_llmops.simulator ... &`"
        )
        args = start[3:-1]
        port = args[args.index("--port") + 1] if "--port" in args else None
        if port is not None:  # the page's fixed port may be taken here: any free port, same command
            args[args.index("--port") + 1] = "0"
        assert self.stack is not None
        self.standalone_url = url = self.stack.enter_context(simulator_process(*args))
        for command in found[1:]:
            assert command.argv[0] == "export" and len(command.argv) == 2, (
                f"{block.where}: after the simulator, only `export NAME=VALUE` lines: {command.text!r}"
            )
            name, _, value = command.argv[1].partition("=")
            if port is not None:
                value = value.replace(f"http://127.0.0.1:{port}", url)
            assert value.startswith(url), f"{block.where}: {name} does not point at the simulator: {value}"
            self.monkeypatch.setenv(name, value)

    def cassettes(self) -> dict[str, bytes]:
        return {str(p): p.read_bytes() for p in sorted(self.path.rglob("*.yaml")) if "cassettes" in p.parts}

    @property
    def path(self) -> Path:
        return Path(self.pytester.path)

    @contextlib.contextmanager
    def environment(self, env: dict[str, str]) -> Iterator[None]:
        with self.monkeypatch.context() as patch:
            for name, value in env.items():
                if is_secret(name, value):
                    value = fake_key_for(name)
                elif name == "OLLAMA_HOST":
                    value = self.sim.ollama_base_url
                patch.setenv(name, value)
            yield

    def run(self, command: Command, status: int, where: str) -> None:
        program, args = command.argv[0], command.argv[1:]
        assert program in RUNNABLE, f"{where}: cannot run {command.text!r} (only {sorted(RUNNABLE)})"
        with self.environment(command.env):
            if program == "cat":
                self.output = "".join((self.path / a).read_text(encoding="utf-8") for a in args)
                code = 0
            elif program == "rm":  # files of the project only
                for name in args:
                    target = (self.path / name).resolve()
                    assert target.is_relative_to(self.path.resolve()) and target.is_file(), (
                        f"{where}: rm {name}"
                    )
                    target.unlink()
                code, self.output = 0, ""
            elif program == "pytest-llmops":
                code, self.output = run_cli(args)
            else:
                before, recorded = len(self.sim.requests), self.cassettes()
                result = self.pytester.runpytest(*args)
                code = int(result.ret)
                self.output = "\n".join([*result.outlines, *result.errlines])
                if not any(goes_live(name, value) for name, value in command.env.items()):
                    assert len(self.sim.requests) == before, (
                        f"{where}: {command.text!r} has no API key, so it must replay offline, "
                        f"but it sent {len(self.sim.requests) - before} request(s)"
                    )
                    # The standalone simulator's requests are not counted here: no cassette may change.
                    assert self.cassettes() == recorded, f"{where}: {command.text!r} changed a cassette"
        assert code == status, f"{where}: {command.text!r} exited {code}, expected {status}:\n{self.output}"


def is_secret(name: str, value: str) -> bool:
    """A real credential in a command (`OPENAI_API_KEY=sk-...`, `AWS_SECRET_ACCESS_KEY=...`): the command may
    go live. `AWS_ACCESS_KEY_ID=dummy` and the like are placeholders a replay can use."""
    return name.endswith("_API_KEY") or (name.startswith("AWS_") and value.endswith("..."))


def goes_live(name: str, value: str) -> bool:
    """A command that may reach a provider: it carries a credential, or names a keyless local server."""
    return is_secret(name, value) or name == "OLLAMA_HOST"


def fake_key_for(name: str) -> str:
    """A fake key of the shape the provider named by the variable uses."""
    if name == "AWS_ACCESS_KEY_ID":
        return "AKIA" + fake_key("")[:16].upper()
    if name.startswith("AWS_"):
        return fake_key("")[:40]
    if name.startswith("ANTHROPIC"):
        return fake_key("sk-ant-api03-")
    if name.startswith(("GEMINI", "GOOGLE")):
        return "AIza" + fake_key("")[:35]
    if name.startswith("AZURE"):
        return fake_key("")[:32]
    return fake_key("sk-proj-")


def run_cli(args: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(args)
        except SystemExit as exc:  # argparse
            code = exc.code if isinstance(exc.code, int) else 2
    return code, out.getvalue() + err.getvalue()


def check_output(project: Project, block: Block) -> None:
    assert project.output is not None, (
        f"{block.where}: an output block needs a command or python block before it"
    )
    got = [" ".join(line.split()) for line in project.output.splitlines()]
    position = 0
    for wanted in block.text.splitlines():
        wanted = " ".join(wanted.split())
        if not wanted or wanted == "...":
            continue
        pattern = re.compile(".*".join(re.escape(part) for part in re.split(r"\s*\.\.\.\s*", wanted)))
        for index in range(position, len(got)):
            if pattern.fullmatch(got[index]):
                position = index + 1
                break
        else:
            raise AssertionError(
                f"{block.where}: output line not found (in order) in the output of the block before:\n"
                f"  {wanted}\noutput:\n{project.output}"
            )


# -- configuration files -------------------------------------------------------------------------------


def check_pytest_config(project: Project, folder: Path, where: str) -> None:
    """pytest reads the ini/toml file in `folder`; every key must be known and the plugin's settings valid."""
    from pytest_llmops.settings import Settings

    config = project.pytester.parseconfig(str(folder))
    assert config.inipath is not None and config.inipath.parent == folder, f"{where}: pytest did not read it"
    unknown = sorted(set(ini_keys(config.inipath)) - set(config._parser._inidict))
    assert not unknown, f"{where}: unknown ini key(s) {unknown}"
    Settings.from_config(config)  # raises UsageError on a bad value


def ini_keys(path: Path) -> list[str]:
    if path.name == "pyproject.toml":
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return list(data["tool"]["pytest"]["ini_options"])
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path, encoding="utf-8")
    section = "tool:pytest" if path.name == "setup.cfg" else "pytest"
    return list(parser[section])


def check_config_block(project: Project, block: Block, text: str) -> None:
    folder = project.path / f"_config_check_{block.line}"
    folder.mkdir()
    name = "pyproject.toml" if block.lang == "toml" else "pytest.ini"
    (folder / name).write_text(text, encoding="utf-8")
    check_pytest_config(project, folder, block.where)


def check_pytest_args(project: Project, argv: list[str], where: str) -> None:
    """A pytest command line shown in a CI file parses with the plugin's options (`$VAR` stands for a
    value, so it becomes a plain word)."""
    args = [re.sub(r"\$\{?(\w+)\}?", r"\1", a) for a in argv[1:]]
    try:
        project.pytester.parseconfig(*args)
    except pytest.UsageError as exc:
        raise AssertionError(f"{where}: {shlex.join(argv)!r} does not parse: {exc}") from None


def check_cli_args(argv: list[str], where: str) -> None:
    try:
        cli.build_parser().parse_args(argv[1:])
    except SystemExit:
        raise AssertionError(f"{where}: {shlex.join(argv)!r} does not parse") from None


def ci_commands(data: Any) -> list[str]:
    """Shell lines of a GitHub Actions workflow (`run:`) or a GitLab CI file (`script:`)."""
    lines: list[str] = []
    if not isinstance(data, dict):
        return lines
    jobs = data.get("jobs")
    if isinstance(jobs, dict):  # GitHub Actions
        for job in jobs.values():
            for step in job.get("steps", []) if isinstance(job, dict) else []:
                if isinstance(step, dict) and isinstance(step.get("run"), str):
                    lines += step["run"].splitlines()
    for job in data.values():  # GitLab CI
        if isinstance(job, dict):
            for key in ("before_script", "script", "after_script"):
                value = job.get(key)
                lines += [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
    return lines


def check_yaml(project: Project, block: Block, text: str) -> None:
    documents = list(yaml.safe_load_all(text))
    shell = "\n".join(line for doc in documents for line in ci_commands(doc))
    for command in commands(Block(block.page, block.line, "bash", shell)):
        if command.argv[0] == "pytest":
            check_pytest_args(project, command.argv, block.where)
        elif command.argv[0] == "pytest-llmops":
            check_cli_args(command.argv, block.where)


LOADERS = ("prompt", "prices", "variants", "dataset", "cassette")


def check_file(project: Project, block: Block, path: Path, kind: str | None) -> None:
    suffix = path.suffix.lower()
    if kind == "prompt":
        from pytest_llmops.prompts.loader import load_file

        result = load_file(path)
        assert result.prompts and not result.errors, f"{block.where}: {[str(e) for e in result.errors]}"
    elif kind == "prices":
        from pytest_llmops.spend.pricing import PriceTable

        assert PriceTable.load(path).models, f"{block.where}: no prices"
    elif kind == "variants":
        from pytest_llmops.experiments.variants import load_file as load_variants

        assert load_variants(path), f"{block.where}: no variants"
    elif kind == "dataset":
        from pytest_llmops.experiments import datasets

        datasets.load.cache_clear()
        assert datasets.load(path), f"{block.where}: no cases"
    elif kind == "cassette":
        from pytest_llmops.recording.formats import load_interactions

        assert load_interactions(path), f"{block.where}: no interactions"
    elif kind is not None:
        raise AssertionError(f"{block.where}: unknown check={kind}; use one of {', '.join(LOADERS)}")
    elif suffix in (".yaml", ".yml"):
        check_yaml(project, block, block.text)
    elif suffix == ".json":
        json.loads(block.text)
    elif suffix == ".py":
        compile(block.text, block.where, "exec")
    if path.name in ("pytest.ini", "tox.ini", "pyproject.toml", "setup.cfg") and (
        path.name != "pyproject.toml" or "[tool.pytest.ini_options]" in block.text
    ):
        check_pytest_config(project, path.parent, block.where)


# -- python blocks -------------------------------------------------------------------------------------


def exec_python(project: Project, block: Block) -> None:
    out = io.StringIO()
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    code = compile(block.text, block.where, "exec")
    old_cwd = os.getcwd()
    sys.path.insert(0, str(project.path))
    try:
        os.chdir(project.path)
        with contextlib.redirect_stdout(out):
            exec(code, namespace)
    finally:
        os.chdir(old_cwd)
        sys.path.remove(str(project.path))
    project.output = out.getvalue()


# -- one block -----------------------------------------------------------------------------------------


def handle(project: Project, block: Block) -> None:
    action = block.action
    words, named = options(block.args)
    if action == "skip":
        assert block.args, f"{block.where}: say why a block is skipped: <!-- docs-test: skip REASON -->"
    elif action == "file":
        assert len(words) == 1, f"{block.where}: file needs one PATH"
        path = project.path / words[0]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block.text, encoding="utf-8")
        check_file(project, block, path, named.get("check"))
    elif action == "run":
        assert block.lang in SHELL, f"{block.where}: run is for shell blocks"
        found = commands(block)
        assert found, f"{block.where}: no command in the block"
        for command in found:
            project.run(command, int(named.get("status", 0)), block.where)
    elif action == "output":
        check_output(project, block)
    elif action == "ci":
        check_ci(block, words)
    elif action == "simulator":
        project.start_simulator(block)
    elif action is not None:
        raise AssertionError(f"{block.where}: unknown directive {action!r}")
    elif block.lang == "python":
        assert not DEFINES_TESTS.search(block.text), (
            f"{block.where}: this block defines tests, fixtures or hooks: write it to a file with "
            "<!-- docs-test: file PATH --> and run it"
        )
        exec_python(project, block)
    elif block.lang in SHELL:
        found = commands(block)
        blocked = [c.text for c in found if c.argv[0] not in RUNNABLE]
        assert found and not blocked, (
            f"{block.where}: {blocked or 'no command'} cannot run here: add <!-- docs-test: skip REASON --> "
            "or make every command runnable"
        )
        for command in found:
            project.run(command, 0, block.where)
    elif block.lang in ("yaml", "yml"):
        check_yaml(project, block, block.text)
    elif block.lang == "json":
        json.loads(block.text)
    elif block.lang in ("ini", "toml"):
        check_config_block(project, block, block.text)
    else:
        raise AssertionError(
            f"{block.where}: a {block.lang or 'plain'} block runs only with a directive; add one "
            "(<!-- docs-test: output -->, <!-- docs-test: skip REASON -->, ...)"
        )


def check_ci(block: Block, words: list[str]) -> None:
    """The commands shown are the ones the CI script runs: same pytest commands in the same order, and
    every extra the docs install is installed there."""
    assert len(words) == 1, f"{block.where}: ci needs the script's path"
    script = (ROOT / words[0]).read_text(encoding="utf-8")

    def split(text: str) -> tuple[list[list[str]], set[str]]:
        runs: list[list[str]] = []
        extras: set[str] = set()
        for line in text.splitlines():
            for part in line.split("&&"):
                argv = shlex.split(part, comments=True)
                if argv[:1] == ["pytest"]:
                    runs.append(argv)
                if "pip" in argv and "install" in argv:
                    for arg in argv:
                        found = re.fullmatch(r"\.?\[([\w,-]+)\]|.*\.\[([\w,-]+)\]", arg)
                        if found:
                            extras.update((found[1] or found[2]).split(","))
        return runs, extras

    shown_runs, shown_extras = split(block.text)
    ci_runs, ci_extras = split(script)
    assert shown_runs, f"{block.where}: no pytest command in the block"
    assert shown_runs == ci_runs, f"{block.where}: the docs run {shown_runs}, {words[0]} runs {ci_runs}"
    assert shown_extras <= ci_extras, (
        f"{block.where}: extras {shown_extras - ci_extras} not installed by {words[0]}"
    )


# -- the tests -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def docs_sim() -> Iterator[ProviderSimulator]:
    """The simulator with its LLM judge, so pages can show judged checks too. A fixed latency keeps the
    recorded latencies' jitter far inside the latency gates when a page re-records."""
    from pytest_llmops.simulator.judge_responder import with_judge

    with ProviderSimulator(responder=with_judge(), latency_ms=30, idle_timeout_s=120) as sim:
        yield sim


@pytest.fixture
def project(
    pytester: pytest.Pytester, docs_sim: ProviderSimulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Project]:
    docs_sim.reset()
    for name in (
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "AZURE_OPENAI_API_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", docs_sim.openai_base_url)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", docs_sim.anthropic_base_url)
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", docs_sim.gemini_base_url)
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", docs_sim.azure_endpoint)
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
    monkeypatch.setenv("ANTHROPIC_BEDROCK_BASE_URL", docs_sim.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", docs_sim.bedrock_endpoint_url)  # boto3
    monkeypatch.setenv("OLLAMA_HOST", docs_sim.ollama_base_url)  # the ollama client
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    with contextlib.ExitStack() as stack:
        yield Project(pytester, docs_sim, monkeypatch, stack=stack)


def preload(blocks: list[Block]) -> None:
    """Import, in this process, the libraries the page's Python imports (litellm, boto3, langchain, ...).

    The page's pytest commands run in-process, and each run drops the modules first imported during
    it: a client library imported afresh by every run is slow, and one that is not re-importable (C
    extensions, litellm) breaks the next run's plugin loading. tests/conftest.py does the same for the
    SDKs every page uses.
    """
    import ast
    import importlib
    import importlib.util

    names: set[str] = set()
    for block in blocks:
        if block.lang != "python":
            continue
        try:
            tree = ast.parse(block.text)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
    for name in sorted(names):
        if name.split(".")[0] in sys.modules and name in sys.modules:
            continue
        with contextlib.suppress(ImportError):
            if importlib.util.find_spec(name.split(".")[0]) is not None:
                importlib.import_module(name)


@pytest.mark.parametrize("page", PAGES, ids=PAGE_IDS)
def test_every_block_of_the_page_runs(page: Path, project: Project) -> None:
    blocks = blocks_of(page)
    preload(blocks)
    for block in blocks:
        handle(project, block)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    inside = False
    found: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            inside = not inside
        elif not inside and line.startswith("#"):
            found.add(slug(line.lstrip("#")))
    return found


@pytest.mark.parametrize("page", PAGES, ids=PAGE_IDS)
def test_links_point_at_files_and_headings_that_exist(page: Path) -> None:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # a URL
        file, _, anchor = target.partition("#")
        path = (page.parent / file).resolve() if file else page
        if not path.exists() or (anchor and path.suffix == ".md" and anchor not in anchors(path)):
            broken.append(target)
    assert not broken, f"{page.name}: broken links {broken}"


MOVED = {"report-format.md"}  # kept as a pointer for links from code and older docs


def test_every_page_is_linked_from_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    unlinked = [
        p.name
        for p in PAGES
        if p.parent.name == "docs" and p.name not in MOVED and f"docs/{p.name}" not in readme
    ]
    assert not unlinked, f"README.md does not link {unlinked}"


def test_every_client_page_is_linked_from_the_clients_index() -> None:
    index = (ROOT / "docs" / "clients.md").read_text(encoding="utf-8")
    unlinked = [p.name for p in PAGES if p.parent.name == "clients" and f"clients/{p.name}" not in index]
    assert not unlinked, f"docs/clients.md does not link {unlinked}"


def test_the_cassette_that_shows_what_a_cassette_holds_is_laid_out_as_the_writer_writes() -> None:
    """docs/cassettes.md shows the layout of a new recording: it must be the writer's own output."""
    from pytest_llmops.recording.formats import dump_interactions, loads_interactions

    page = (ROOT / "docs" / "cassettes.md").read_text(encoding="utf-8")
    shown = page.split("<!-- docs-test: file examples/hello.yaml check=cassette -->\n```yaml\n")[1]
    shown = shown.split("```")[0]
    assert dump_interactions(loads_interactions(shown, path=Path("hello.yaml"))) == shown


def test_blocks_are_found_with_their_directives(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "text\n\n<!-- docs-test: file tests/test_x.py -->\n```python\nx = 1\n```\n\n"
        "````markdown\n```python\nnot a block of its own\n```\n````\n\n  ```bash\n  pytest -q\n  ```\n",
        encoding="utf-8",
    )
    found = blocks_of(page)
    assert [(b.line, b.lang, b.action, b.args) for b in found] == [
        (4, "python", "file", "tests/test_x.py"),
        (8, "markdown", None, ""),
        (14, "bash", None, ""),
    ]
    assert found[1].text == "```python\nnot a block of its own\n```\n"
    assert found[2].text == "pytest -q\n"


def test_shell_commands_are_split_with_env_and_continuations() -> None:
    block = Block(
        "p",
        1,
        "console",
        "$ OPENAI_API_KEY=sk-... pytest --llm-eval \\\n    --llm-record=once  # record\nok\n$ cat x\n",
    )
    found = commands(block)
    assert [(c.env, c.argv) for c in found] == [
        ({"OPENAI_API_KEY": "sk-..."}, ["pytest", "--llm-eval", "--llm-record=once"]),
        ({}, ["cat", "x"]),
    ]


def test_a_block_without_directive_that_cannot_run_fails(project: Project) -> None:
    for lang, text in [
        ("", "some text\n"),
        ("bash", "pip install x\n"),
        ("python", "def test_x():\n    pass\n"),
    ]:
        with pytest.raises(AssertionError, match=r"directive|cannot run|defines tests"):
            handle(project, Block("p", 1, lang, text))


def test_output_blocks_must_match_in_order(project: Project) -> None:
    project.output = "first line\n  second   line 12 ms\nthird\n"
    check_output(project, Block("p", 1, "", "first line\nsecond line ... ms\n...\nthird\n", "output"))
    with pytest.raises(AssertionError, match="not found"):
        check_output(project, Block("p", 1, "", "third\nfirst line\n", "output"))
