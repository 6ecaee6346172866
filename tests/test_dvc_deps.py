"""Each DVC stage depends on every library file its notebook really imports.

A stage whose deps miss an imported module is not re-run when that module changes, and its
cached figures silently go stale; this test imports each notebook's imports in a fresh process
and checks every loaded ``rlrepro`` file against the stage's deps.
"""
import ast
import json
import pathlib
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def notebook_source(stage) -> pathlib.Path:
    sources = [d for d in stage.get("deps", []) if d.startswith("notebooks/")]
    assert len(sources) == 1, f"expected one notebook among the deps, got {sources}"
    return ROOT / sources[0]


def import_lines(path: pathlib.Path) -> list[str]:
    if path.suffix == ".ipynb":
        cells = [("".join(c["source"])) for c in json.loads(path.read_text())["cells"]
                 if c["cell_type"] == "code"]
    else:
        cells = [path.read_text()]
    lines = []
    for cell in cells:
        tree = ast.parse("\n".join(line for line in cell.splitlines()
                                   if not line.lstrip().startswith(("%", "!"))))
        lines += [ast.unparse(node) for node in tree.body
                  if isinstance(node, (ast.Import, ast.ImportFrom))]
    return lines


def loaded_library_files(lines: list[str]) -> set[str]:
    script = "\n".join(lines + [
        "import sys, pathlib",
        "root = pathlib.Path(sys.argv[1])",
        "for m in list(sys.modules.values()):",
        "    f = getattr(m, '__file__', None) or ''",
        "    if m.__name__.startswith('rlrepro') and f:",
        "        print(pathlib.Path(f).resolve().relative_to(root))"])
    out = subprocess.run([sys.executable, "-c", script, str(ROOT)], capture_output=True,
                         text=True, check=True, cwd=ROOT).stdout
    return set(out.split())


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_deps_cover_every_imported_library_file(name):
    stage = STAGES[name]
    deps = [d.rstrip("/") for d in stage.get("deps", [])]
    files = loaded_library_files(import_lines(notebook_source(stage)))
    assert files, "the notebook imports nothing from rlrepro?"
    missing = sorted(f for f in files
                     if not any(f == d or f.startswith(d + "/") for d in deps))
    assert not missing, f"stage {name!r} imports {missing} but does not depend on them"
    if "lib/rlrepro/report.py" in files:  # scorecard rows: the stage's claims, or all of them
        assert f"references/{name}.yaml" in deps or "references" in deps, \
            f"stage {name!r} renders scorecard rows: depend on references/{name}.yaml"
