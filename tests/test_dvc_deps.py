"""dvc.yaml is derived from the experiments (``python -m rlrepro stages``), and each stage
depends on every library file its notebook loads.

A stage whose deps miss an imported module is not re-run when that module changes, and its
cached figures silently go stale. The deps come from the static import closure; the check is
what a fresh process really loads.
"""
import concurrent.futures
import pathlib

import pytest
import yaml

from rlrepro import pipeline
from rlrepro.params import experiments

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def derived():
    return pipeline.stages()


def test_dvc_yaml_is_the_derived_pipeline(derived):
    committed = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    assert committed == derived, "dvc.yaml is stale: run `python -m rlrepro stages` and commit it"


def test_one_name_per_experiment_in_every_place(derived):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    notebooks = {p.stem for p in (ROOT / "notebooks").glob("*.py")}
    assert set(derived["stages"]) == set(experiments()) | {pipeline.REPORT} == notebooks
    for name in experiments():
        assert name in params, f"params.yaml has no section {name!r}"
        assert (ROOT / "references" / f"{name}.yaml").is_file()
        metrics = derived["stages"][name]["metrics"]
        # tracked by git: `dvc metrics show` answers on a fresh clone
        assert metrics == [{f"data/metrics/{name}.json": {"cache": False, "persist": True}}]
        assert all(list(out.values()) == [{"persist": True}]  # kept until the stage rewrites it
                   for out in derived["stages"][name]["outs"])


@pytest.fixture(scope="module")
def loaded():
    """{stage: the library files its notebook's imports load in a fresh process}, two processes
    at a time."""
    names = experiments() + [pipeline.REPORT]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        files = pool.map(lambda n: pipeline.loaded_files(
            pipeline.notebook_imports(ROOT / "notebooks" / f"{n}.py")), names)
    return dict(zip(names, files))


@pytest.mark.parametrize("name", experiments() + [pipeline.REPORT])
def test_stage_deps_cover_every_loaded_library_file(name, derived, loaded):
    deps = derived["stages"][name]["deps"]
    files = loaded[name]
    assert f"lib/rlrepro/experiments/{name}.py" in files or name == pipeline.REPORT
    missing = [f for f in files if not any(f == d or f.startswith(d + "/") for d in deps)]
    assert not missing, f"stage {name!r} loads {missing} but does not depend on them"
    other_experiments = [d for d in deps if d.startswith("lib/rlrepro/experiments/")
                         and pathlib.Path(d).stem not in (name, "__init__")]
    assert not other_experiments, f"stage {name!r} depends on another experiment's module"


def test_a_method_package_is_a_folder_and_an_experiment_module_a_file():
    assert pipeline.code_deps(["lib/rlrepro/models/mlp.py", "lib/rlrepro/experiments/x.py",
                               "lib/rlrepro/params.py"]) == [
        "lib/rlrepro/experiments/x.py", "lib/rlrepro/models", "lib/rlrepro/params.py"]


def test_the_report_stage_rewrites_the_pages_of_whatever_stage_reran(derived):
    """A parameter change reruns its stage, and so the report stage, which reads every stage's
    results, figures and executed notebook: `dvc repro` rewrites the page and the metrics in one
    go. The pages are tracked by git (not cached), and each curve a module declares is a plot."""
    report = derived["stages"][pipeline.REPORT]
    for name in experiments():
        stage = derived["stages"][name]
        produced = {next(iter(out)) for out in stage["outs"]}
        for read in (f"data/results/{name}.json", f"data/figures/{name}",
                     f"data/notebooks/{name}.ipynb"):
            assert read in report["deps"] and read in produced, read
    assert {pipeline.RESULTS: {"cache": False, "persist": True}} in report["outs"]
    plotted = {next(iter(p)) for p in derived["plots"] if isinstance(p, dict)}
    assert "data/figures/mujoco_rlsp/evaluation_curves.csv" in plotted
    assert len(plotted) == 7 and all(p.endswith(".csv") for p in plotted)
