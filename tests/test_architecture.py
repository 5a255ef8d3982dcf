"""The package layout as written down in pyproject.toml's import-linter contracts (docs/architecture.md)."""

from __future__ import annotations

import ast
import importlib.util
import sys
import tomllib
from pathlib import Path

import pytest

pytest.importorskip("importlinter")

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pytest_llmops"
PYPROJECT = ROOT / "pyproject.toml"


def _contracts() -> list[dict]:
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]


def _layer_names() -> set[str]:
    (layers,) = [c for c in _contracts() if c["type"] == "layers"]
    names = set()
    for layer in layers["layers"]:
        names.update(part.strip() for part in layer.replace("|", ":").split(":"))
    return names


def test_every_contract_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(PYPROJECT), no_cache=True, no_logo=True) == 0, (
        "an import breaks the layers in pyproject.toml ([tool.importlinter]); run `lint-imports` to see it"
    )


def test_a_broken_layer_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The same contract with two layers swapped must fail: the linter really reads our imports.
    text = PYPROJECT.read_text(encoding="utf-8")
    swapped = text.replace(
        '    "pytest_llmops.spend",\n    "pytest_llmops.recording",',
        '    "pytest_llmops.recording",\n    "pytest_llmops.spend",',
    )
    assert swapped != text
    config = tmp_path / "pyproject.toml"
    config.write_text(swapped, encoding="utf-8")
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(config), no_cache=True, no_logo=True) == 1


def test_every_top_level_module_has_a_layer() -> None:
    named = _layer_names()
    found = {
        f"pytest_llmops.{p.stem if p.is_file() else p.name}"
        for p in PACKAGE.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").exists())
    }
    assert found - named == set(), "add these to a layer of the import-linter contract in pyproject.toml"
    assert named - found == set(), "the contract names modules that do not exist"


def test_every_sub_package_says_what_it_holds() -> None:
    for init in sorted(PACKAGE.rglob("__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc) > 40, f"{init.relative_to(ROOT)}: say in a docstring what the package holds"


def test_no_module_imports_vcrpy() -> None:
    # vcrpy is a test dependency (to check our cassettes load in it), not a runtime one.
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not any(m == "vcr" or m.startswith("vcr.") for m in modules), path


def test_public_names_still_import() -> None:
    import pytest_llmops
    from pytest_llmops import checks, prompts, safety

    for name in pytest_llmops.__all__:
        assert getattr(pytest_llmops, name) is not None
    for module in (checks, prompts, safety):
        for name in module.__all__:
            assert getattr(module, name) is not None, f"{module.__name__}.{name}"
    assert importlib.util.find_spec("pytest_llmops.plugin") is not None
    assert "pytest_llmops" in sys.modules
