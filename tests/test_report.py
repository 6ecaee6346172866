"""The scorecard: verdicts, and clear errors for malformed reference files."""
import json

import pytest

from rlrepro import claims
from rlrepro.experiments import report


def test_verdicts():
    assert claims.verdict({"paper": "success"}, 0.97)[1] == "reproduced"
    assert claims.verdict({"paper": "success", "success_at": 0.99}, 0.97)[1] == "not reproduced"
    assert claims.verdict({"paper": "failure"}, 0.5)[1] == "reproduced"
    assert claims.verdict({"paper": 1.0, "tolerance": 0.01}, 0.95)[1] == "differs"
    assert claims.verdict({"paper": 1.0, "tolerance": 0.01}, None)[1] == "not run"



def test_every_references_file_of_the_repository_is_well_formed():
    """The report stage reads them all; a YAML slip (a ': ' in an unquoted claim) stops it."""
    import pathlib

    files = sorted((pathlib.Path(__file__).parents[1] / "references").glob("*.yaml"))
    assert len(files) >= 8
    for path in files:
        assert claims.load_references(path), path

def toy_repository(root, *, analysis="The toy works.", figure_width=2400):
    """A repository with one experiment's stage outputs (toy) and one that has not run (later)."""
    import nbformat
    import numpy as np
    from PIL import Image

    for folder in ("references", "notebooks", "data/results", "data/figures/toy",
                   "data/notebooks"):
        (root / folder).mkdir(parents=True)
    claims_ = ("claims:\n"
               "  - {claim: works, metric: a.b, paper: success, source: T1, kind: our_threshold}\n"
               "  - {claim: exact | sharp, metric: c, paper: 2.0, tolerance: 0.1, source: T2, "
               "kind: stated}\n")
    for name in ("toy", "later"):
        (root / "references" / f"{name}.yaml").write_text(claims_)
        (root / "notebooks" / f"{name}.py").write_text(f"# %% [markdown]\n# # The {name} paper\n")
    (root / "data/results/toy.json").write_text(json.dumps({
        "a": {"b": 1.0}, "c": 2.5, "profile": "smoke", "analysis": analysis,
        "deviations": [{"setting": "steps", "original": 1000, "this run": 10, "why": "budget"}]}))
    noise = np.random.default_rng(0).integers(0, 255, (1200, figure_width, 3), dtype=np.uint8)
    Image.fromarray(noise).save(root / "data/figures/toy/curves.png")
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["rlrepro"] = {"commit": "0123456789abcdef", "uncommitted": False,
                                    "cpu": "Toy CPU", "cores": 2, "gpu": "", "torch": "2.13.0"}
    notebook.metadata["papermill"] = {"duration": 90.0, "end_time": "2026-12-06T12:00:00"}
    nbformat.write(notebook, root / "data/notebooks/toy.ipynb")
    running = nbformat.v4.new_notebook()  # papermill writes as it goes; the record comes last
    running.metadata["papermill"] = {"duration": None, "end_time": None}
    nbformat.write(running, root / "data/notebooks/later.ipynb")


def test_results_pages_carry_claims_analysis_figures_deviations_and_the_run(tmp_path):
    toy_repository(tmp_path)
    frame = report.write(tmp_path, stale={})
    assert list(frame.verdict) == ["not run", "not run", "reproduced", "differs"]
    out = tmp_path / "results"
    page = (out / "toy.md").read_text()
    assert page.startswith("# The toy paper\n")
    assert "| works | our_threshold | success at >= 0.95 | 1.000 (success) | reproduced | T1 |" in page
    assert "| exact \\| sharp | stated | 2 ± 0.1 | 2.500 | differs | T2 |" in page  # | escaped
    assert "## Claims (1 of 2 reproduced)" in page and "The toy works." in page
    assert "| steps | 1000 | 10 | budget |" in page
    assert "commit `0123456789`, 2 cores (Toy CPU), 1.5 minutes, finished 2026-12-06" in page
    assert "![curves](toy/curves.png)" in page and "is evidence about the paper" in page
    assert "Stale" not in page
    from PIL import Image

    shrunk = out / "toy" / "curves.png"  # noise: the worst case for PNG's compression
    assert shrunk.stat().st_size <= report.FIGURE_BYTES
    assert Image.open(shrunk).width <= report.FIGURE_WIDTH
    assert "This stage has not run yet: `dvc repro later`." in (out / "later.md").read_text()
    index = (out / "README.md").read_text()
    assert "| [The toy paper](toy.md) | smoke | 1 of 2 reproduced | 1.5 | `0123456789` | current |" \
        in index
    assert "| [The later paper](later.md) | — | — | — | — | not run |" in index
    text = (out / "scorecard.md").read_text()
    assert "| works | success at >= 0.95 | 1.000 (success) | reproduced | T1 |" in text
    assert "## [toy](toy.md) (smoke profile)" in text and "not evidence about the paper" in text
    stated, ours = text.index("The paper states it"), text.index("our threshold (1 claims")
    assert text.index("| exact") > stated and ours < text.index("| works |") < stated
    assert report.summary(frame) == {"our_threshold": {"not run": 1, "reproduced": 1},
                                     "stated": {"not run": 1, "differs": 1}}
    assert (out / "scorecard.png").stat().st_size > 0
    (out / "stray.md").write_text("by hand")
    report.write(tmp_path, stale={"toy": ["notebooks/toy.py"]})
    assert not (out / "stray.md").exists(), "results/ holds only what the run wrote"
    for name in ("toy.md", "README.md", "scorecard.md"):
        text = (out / name).read_text()
        assert "stale" in text.lower() and ("`notebooks/toy.py`" in text or name == "README.md")
    assert "| `0123456789` | stale |" in (out / "README.md").read_text()


def test_stale_stages_are_those_whose_dependencies_changed_since_their_run(tmp_path, shell):
    plain, tmp_path = tmp_path / "plain", tmp_path / "repo"
    plain.mkdir()
    tmp_path.mkdir()
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n"
        "  copy:\n    cmd: cp a.txt b.txt\n    deps: [a.txt]\n    outs: [b.txt]\n"
        "  other:\n    cmd: cp a.txt c.txt\n    deps: [a.txt]\n    outs: [c.txt]\n"
        "  later:\n    cmd: cp b.txt d.txt\n    deps: [b.txt]\n    outs: [d.txt]\n")
    shell.git("init", "-q", cwd=tmp_path)
    shell.dvc("init", "-q", cwd=tmp_path)
    shell.dvc("repro", "-q", cwd=tmp_path)
    assert report.stale_stages(tmp_path, ["copy", "other"]) == {}
    (tmp_path / "b.txt").unlink()  # a missing output is not a stale run (a fresh clone has none)
    assert report.stale_stages(tmp_path, ["copy", "other", "later"]) == {}  # nor a missing dep
    (tmp_path / "a.txt").write_text("changed")
    assert report.stale_stages(tmp_path, ["copy", "other"]) == {"copy": ["a.txt"], "other": ["a.txt"]}
    assert report.stale_stages(tmp_path, ["copy"]) == {"copy": ["a.txt"]}
    assert report.stale_stages(plain, ["copy"]) is None  # not a DVC repository


@pytest.mark.parametrize("body, message", [
    ("claims: []", "expected a top-level 'claims:' list"),
    ("claims:\n  - {claim: x, metric: m, paper: success, kind: stated}", "missing ['source']"),
    ("claims:\n  - {claim: x, metric: m, paper: success, source: s}", "missing ['kind']"),
    ("claims:\n  - {claim: x, metric: m, paper: success, source: s, kind: maybe}",
     "'kind' must be one of ['our_threshold', 'stated']"),
    ("claims:\n  - {claim: x, metric: m, paper: great, source: s, kind: stated}",
     "'paper' must be a number"),
    ("claims:\n  - {claim: x, metric: m, paper: 1.0, source: s, kind: stated}",
     "needs a 'tolerance'"),
])
def test_malformed_references_are_named(tmp_path, body, message):
    (tmp_path / "bad.yaml").write_text(body)
    with pytest.raises(claims.ReferenceError, match="bad.yaml") as error:
        claims.load_references(tmp_path / "bad.yaml")
    assert message in str(error.value)
