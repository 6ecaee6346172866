"""The reproduction scorecard: each paper claim in ``references/``, against our metrics.

``references/<experiment>.yaml`` lists claims; each names a dotted path into
``data/metrics/<experiment>.json`` and the paper's value: a number (compared within
``tolerance``) or ``success`` / ``failure`` (ours counts as a success at a value of at least
``success_at``, default 0.95). Later experiments plug in by adding both files, nothing else.
"""
from __future__ import annotations

import json
import pathlib

import pandas as pd
import yaml

DEFAULT_SUCCESS_AT = 0.95
CLAIM_KEYS = {"claim", "metric", "paper", "source", "tolerance", "success_at"}


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
        missing = {"claim", "metric", "paper", "source"} - set(claim)
        unknown = set(claim) - CLAIM_KEYS
        if missing or unknown:
            raise ReferenceError(f"{path}: claim {i} ({claim.get('claim', '?')!r}): "
                                 f"missing {sorted(missing)}, unknown {sorted(unknown)}")
        if isinstance(claim["paper"], str) and claim["paper"] not in ("success", "failure"):
            raise ReferenceError(f"{path}: claim {i}: 'paper' must be a number, 'success' or "
                                 f"'failure', got {claim['paper']!r}")
        if not isinstance(claim["paper"], str) and "tolerance" not in claim:
            raise ReferenceError(f"{path}: claim {i}: a numeric 'paper' value needs a 'tolerance'")
    return claims


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


def scorecard(metrics_dir, references_dir) -> pd.DataFrame:
    """One row per claim of every experiment that has a references file."""
    rows = []
    for ref in sorted(pathlib.Path(references_dir).glob("*.yaml")):
        experiment = ref.stem
        metrics_file = pathlib.Path(metrics_dir) / f"{experiment}.json"
        metrics = json.loads(metrics_file.read_text()) if metrics_file.exists() else {}
        for claim in load_references(ref):
            value = lookup(metrics, claim["metric"])
            ours, status = verdict(claim, value)
            paper = claim["paper"]
            rows.append({"experiment": experiment, "claim": claim["claim"],
                         "paper": paper if isinstance(paper, str) else f"{paper:g} ± {claim['tolerance']:g}",
                         "ours": ours, "verdict": status, "source": claim["source"],
                         "value": value})
    return pd.DataFrame(rows)


def to_markdown(frame: pd.DataFrame) -> str:
    columns = ["claim", "paper", "ours", "verdict", "source"]
    lines = ["# Reproduction scorecard", ""]
    for experiment, rows in frame.groupby("experiment", sort=False):
        counts = rows["verdict"].value_counts().to_dict()
        lines += [f"## {experiment}", "",
                  ", ".join(f"{n} {v}" for v, n in counts.items()), "",
                  "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(str(r[c]) for c in columns) + " |" for _, r in rows.iterrows()]
        lines.append("")
    return "\n".join(lines)


def figure(frame: pd.DataFrame):
    """Verdict counts per experiment as a stacked horizontal bar chart."""
    import matplotlib.pyplot as plt

    colours = {"reproduced": "tab:green", "not reproduced": "tab:red", "differs": "tab:orange",
               "not run": "tab:gray"}
    counts = frame.groupby(["experiment", "verdict"]).size().unstack(fill_value=0)
    counts = counts[[c for c in colours if c in counts.columns]]
    fig, ax = plt.subplots(figsize=(7, 0.6 * len(counts) + 1.5))
    counts.plot.barh(stacked=True, ax=ax, color=[colours[c] for c in counts.columns])
    ax.set_xlabel("claims")
    ax.set_ylabel("")
    ax.set_title("Reproduction scorecard")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def write(metrics_dir, references_dir, out_dir):
    """Write ``scorecard.md``, ``scorecard.csv`` and ``scorecard.png`` into ``out_dir``."""
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frame = scorecard(metrics_dir, references_dir)
    (out / "scorecard.md").write_text(to_markdown(frame))
    frame.drop(columns="value").to_csv(out / "scorecard.csv", index=False)
    figure(frame).savefig(out / "scorecard.png", dpi=150, bbox_inches="tight")
    return frame
