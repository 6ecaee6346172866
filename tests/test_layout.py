"""Imports point down: core <- methods <- experiments <- notebooks (DESIGN.md's layout); every
notebook source names its kernel."""
import ast
import pathlib

import jupytext
import pytest

LIB = pathlib.Path(__file__).resolve().parents[1] / "lib" / "rlrepro"
METHODS = {"rlsp", "latent", "skills", "imitation"}


def imported_modules(path: pathlib.Path) -> set[str]:
    """The ``rlrepro`` modules a file imports, without the ``rlrepro.`` prefix (lazy imports
    inside functions included): ``from rlrepro.experiments import x`` gives ``experiments.x``."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "rlrepro":
            module = node.module.removeprefix("rlrepro").lstrip(".")
            if module in ("", "experiments"):  # the names imported are modules
                names |= {f"{module}.{a.name}".lstrip(".") for a in node.names}
            else:
                names.add(module)
        elif isinstance(node, ast.Import):
            names |= {a.name.removeprefix("rlrepro.") for a in node.names
                      if a.name.startswith("rlrepro.")}
    return names


def layer(path: pathlib.Path) -> str:
    part = path.relative_to(LIB).parts[0]
    return "experiments" if part == "experiments" else "methods" if part in METHODS else "core"


@pytest.mark.parametrize("path", sorted(LIB.rglob("*.py")), ids=lambda p: str(p.relative_to(LIB)))
def test_imports_point_down(path):
    imported = imported_modules(path)
    if layer(path) == "experiments":
        others = {n for n in imported if n.startswith("experiments.")} - {f"experiments.{path.stem}"}
        assert not others, f"an experiment imports another experiment: {others}"
    elif layer(path) == "methods":
        assert not {n for n in imported if n.startswith("experiments")}, imported
    else:
        wrong = {n for n in imported if n.split(".")[0] in METHODS | {"experiments"}}
        assert not wrong, f"core module imports methods or experiments: {wrong}"


NOTEBOOKS = LIB.parents[1] / "notebooks"


@pytest.mark.parametrize("notebook", sorted(p.name for p in NOTEBOOKS.glob("*.py")))
def test_every_notebook_source_names_its_kernel(notebook):
    """JupyterLab opens the paired .ipynb without asking for a kernel (jupytext.toml keeps only
    the kernelspec of a notebook's metadata)."""
    source = jupytext.read(NOTEBOOKS / notebook)
    assert source.metadata.get("kernelspec", {}).get("name") == "python3"
