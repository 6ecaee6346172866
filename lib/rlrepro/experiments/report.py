"""The reproduction scorecard (``notebooks/report.py``): every claim of every experiment in
``references/``, against the metrics the experiment stages wrote (``rlrepro.claims``)."""
from __future__ import annotations

import json
import pathlib

import pandas as pd

from rlrepro.claims import KINDS, claim_rows


def scorecard(metrics_dir, references_dir) -> pd.DataFrame:
    """One row per claim of every experiment that has a references file."""
    rows = []
    for ref in sorted(pathlib.Path(references_dir).glob("*.yaml")):
        metrics_file = pathlib.Path(metrics_dir) / f"{ref.stem}.json"
        metrics = json.loads(metrics_file.read_text()) if metrics_file.exists() else {}
        rows += claim_rows(ref.stem, metrics, references_dir)
    return pd.DataFrame(rows)


def to_markdown(frame: pd.DataFrame) -> str:
    columns = ["claim", "paper", "ours", "verdict", "source"]
    lines = ["# Reproduction scorecard", "",
             "Claims of kind *stated* are checked against a number or sentence the paper states; "
             "claims of kind *our threshold* against a threshold we chose to read a figure or a "
             "qualitative result, shown in the 'paper' column.", ""]
    for experiment, rows in frame.groupby("experiment", sort=False):
        profile = rows["profile"].iloc[0]
        lines += [f"## {experiment} ({profile} profile)", ""]
        if profile == "smoke":
            lines += ["**Smoke profile: seconds-long runs that test the pipeline. These verdicts "
                      "are not evidence about the paper.**", ""]
        for kind, claims in rows.groupby("kind", sort=False):
            counts = claims["verdict"].value_counts().to_dict()
            lines += [f"### {KINDS[kind].capitalize()} ({len(claims)} claims: "
                      + ", ".join(f"{n} {v}" for v, n in counts.items()) + ")", "",
                      "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
            lines += ["| " + " | ".join(str(r[c]) for c in columns) + " |"
                      for _, r in claims.iterrows()]
            lines.append("")
    return "\n".join(lines)


def summary(frame: pd.DataFrame) -> dict:
    """Counts for a headline: ``{kind: {verdict: n}}``."""
    return {kind: rows["verdict"].value_counts().to_dict()
            for kind, rows in frame.groupby("kind", sort=False)}


def figure(frame: pd.DataFrame):
    """Verdict counts per experiment and kind of claim as stacked horizontal bars."""
    import matplotlib.pyplot as plt

    colours = {"reproduced": "tab:green", "not reproduced": "tab:red", "differs": "tab:orange",
               "not run": "tab:gray"}
    labels = frame["experiment"] + " (" + frame["profile"] + "): " + frame["kind"].map(
        {"stated": "stated", "our_threshold": "our threshold"})
    counts = frame.assign(label=labels).groupby(["label", "verdict"]).size().unstack(fill_value=0)
    counts = counts[[c for c in colours if c in counts.columns]]
    fig, ax = plt.subplots(figsize=(8, 0.6 * len(counts) + 1.5))
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
