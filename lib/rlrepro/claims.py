"""Paper claims (``references/<experiment>.yaml``) checked against an experiment's metrics.

``references/<experiment>.yaml`` lists claims; each names a dotted path into
``data/metrics/<experiment>.json`` and the paper's value: a number (compared within
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


def headline(results: dict, experiment: str, references_dir) -> dict:
    """The numbers ``references/<experiment>.yaml`` checks, nested as in ``results``.

    Written as ``data/metrics/<experiment>.json`` so that ``dvc metrics show`` lists a few
    headline numbers; every run and sweep point goes to ``data/results/`` instead.
    """
    out = {}
    for claim in load_references(pathlib.Path(references_dir) / f"{experiment}.yaml"):
        *parents, last = claim["metric"].split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = lookup(results, claim["metric"])
    return out


def write_experiment(details: dict, setup, shared: tuple[str, ...] = ()) -> pd.DataFrame:
    """Write a notebook's results (every number) and headline metrics; return its scorecard rows.

    ``setup`` is the notebook's ``rlrepro.params.NotebookSetup``; ``shared`` names entries of
    ``details`` copied whole into the metrics file, for later stages to read (a stage depends on
    another's data, never on its executed notebook).
    """
    references = setup.root / "references"
    setup.results_file.parent.mkdir(parents=True, exist_ok=True)
    setup.results_file.write_text(json.dumps(details, indent=1))
    headline_numbers = {"profile": setup.profile,
                        **headline(details, setup.experiment, references),
                        **{key: details[key] for key in shared}}  # whole, claimed or not
    setup.metrics_file.parent.mkdir(parents=True, exist_ok=True)
    setup.metrics_file.write_text(json.dumps(headline_numbers, indent=1))
    return pd.DataFrame(claim_rows(setup.experiment, headline_numbers, references))


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
