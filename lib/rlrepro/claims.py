"""Paper claims (``references/<experiment>.yaml``) checked against an experiment's metrics.

``references/<experiment>.yaml`` lists claims; each names a dotted path into
``data/results/<experiment>.json`` and the paper's value: a number (compared within
``tolerance``) or ``success`` / ``failure`` (ours counts as a success at a value of at least
``success_at``, default 0.95). Each claim says what it is checked against (``kind``):
``stated`` — a number or sentence the paper states; ``our_threshold`` — the paper shows it only
qualitatively (a figure, a table of ticks) and the threshold that turns it into a check is ours.
Later experiments plug in by adding both files, nothing else; ``rlrepro.experiments.report``
collects every experiment's rows into the scorecard.
"""
from __future__ import annotations

import json
import pathlib

import pandas as pd
import yaml

DEFAULT_SUCCESS_AT = 0.95
CLAIM_KEYS = {"claim", "metric", "paper", "source", "kind", "tolerance", "success_at"}
KINDS = {"stated": "the paper states it", "our_threshold": "the paper's figure or table; our threshold"}


class ReferenceError(ValueError):
    """A references/*.yaml file is malformed."""


def lookup(metrics: dict, dotted: str):
    value = metrics
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def load_references(path: pathlib.Path):
    document = yaml.safe_load(path.read_text())
    claims = document.get("claims") if isinstance(document, dict) else None
    if not isinstance(claims, list) or not claims:
        raise ReferenceError(f"{path}: expected a top-level 'claims:' list")
    for i, claim in enumerate(claims):
        missing = {"claim", "metric", "paper", "source", "kind"} - set(claim)
        unknown = set(claim) - CLAIM_KEYS
        if missing or unknown:
            raise ReferenceError(f"{path}: claim {i} ({claim.get('claim', '?')!r}): "
                                 f"missing {sorted(missing)}, unknown {sorted(unknown)}")
        if isinstance(claim["paper"], str) and claim["paper"] not in ("success", "failure"):
            raise ReferenceError(f"{path}: claim {i}: 'paper' must be a number, 'success' or "
                                 f"'failure', got {claim['paper']!r}")
        if claim["kind"] not in KINDS:
            raise ReferenceError(f"{path}: claim {i} ({claim['claim']!r}): 'kind' must be one of "
                                 f"{sorted(KINDS)}, got {claim['kind']!r}")
        if not isinstance(claim["paper"], str) and "tolerance" not in claim:
            raise ReferenceError(f"{path}: claim {i}: a numeric 'paper' value needs a 'tolerance'")
    return claims


def write_experiment(details: dict, setup, analysis: str) -> pd.DataFrame:
    """Write a notebook's results and its metrics; return its scorecard rows.

    ``data/results/<experiment>.json`` holds every number of the run (``details``, with
    ``profile``), the analysis computed from it (markdown) and the run's deviation table: what
    the results page (``rlrepro.experiments.report``) and later stages read.
    ``data/metrics/<experiment>.json`` (tracked by git) holds only the verdict counts under names
    every experiment shares, so that ``dvc metrics show`` is one short row per experiment.
    ``setup`` is the notebook's ``rlrepro.params.NotebookSetup``.
    """
    references = setup.root / "references"
    rows = claim_rows(setup.experiment, details, references)
    setup.results_file.parent.mkdir(parents=True, exist_ok=True)
    setup.results_file.write_text(json.dumps(
        details | {"analysis": analysis, "deviations": setup.deviations()}, indent=1))
    verdicts = [row["verdict"] for row in rows]
    counts = {"profile": setup.profile, "claims": len(verdicts),
              "reproduced": verdicts.count("reproduced")}
    setup.metrics_file.parent.mkdir(parents=True, exist_ok=True)
    setup.metrics_file.write_text(json.dumps(counts, indent=1, sort_keys=True) + "\n")
    return pd.DataFrame(rows)


def verdict(claim: dict, ours):
    """``(our value as text, verdict)`` for one claim."""
    if ours is None:
        return "—", "not run"
    paper = claim["paper"]
    if isinstance(paper, str):
        threshold = claim.get("success_at", DEFAULT_SUCCESS_AT)
        outcome = "success" if ours >= threshold else "failure"
        return f"{ours:.3f} ({outcome})", "reproduced" if outcome == paper else "not reproduced"
    close = abs(ours - paper) <= claim["tolerance"]
    return f"{ours:.3f}", "reproduced" if close else "differs"


def _threshold(claim) -> str:
    if isinstance(claim["paper"], str):
        return f"{claim['paper']} at >= {claim.get('success_at', DEFAULT_SUCCESS_AT):g}"
    return f"{claim['paper']:g} ± {claim['tolerance']:g}"


def claim_rows(experiment: str, metrics: dict, references_dir) -> list[dict]:
    """One row per claim of ``references/<experiment>.yaml`` against ``metrics``."""
    rows = []
    for claim in load_references(pathlib.Path(references_dir) / f"{experiment}.yaml"):
        value = lookup(metrics, claim["metric"])
        ours, status = verdict(claim, value)
        rows.append({"experiment": experiment, "profile": metrics.get("profile", "—"),
                     "claim": claim["claim"], "kind": claim["kind"], "paper": _threshold(claim),
                     "ours": ours, "verdict": status, "source": claim["source"], "value": value})
    return rows
