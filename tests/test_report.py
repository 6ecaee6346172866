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

def test_scorecard_reads_metrics_against_references(tmp_path):
    (tmp_path / "refs").mkdir()
    (tmp_path / "metrics").mkdir()
    (tmp_path / "refs" / "toy.yaml").write_text(
        "claims:\n"
        "  - {claim: works, metric: a.b, paper: success, source: T1, kind: our_threshold}\n"
        "  - {claim: exact, metric: c, paper: 2.0, tolerance: 0.1, source: T2, kind: stated}\n")
    (tmp_path / "metrics" / "toy.json").write_text(json.dumps({"a": {"b": 1.0}, "c": 2.5,
                                                              "profile": "smoke"}))
    frame = report.write(tmp_path / "metrics", tmp_path / "refs", tmp_path / "out")
    assert list(frame.verdict) == ["reproduced", "differs"]
    text = (tmp_path / "out" / "scorecard.md").read_text()
    assert "| works | success at >= 0.95 | 1.000 (success) | reproduced | T1 |" in text
    assert "## toy (smoke profile)" in text and "not evidence about the paper" in text
    stated, ours = text.index("The paper states it"), text.index("our threshold (1 claims")
    assert text.index("| exact |") > stated and ours < text.index("| works |") < stated
    assert report.summary(frame) == {"our_threshold": {"reproduced": 1}, "stated": {"differs": 1}}
    assert (tmp_path / "out" / "scorecard.png").stat().st_size > 0


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
