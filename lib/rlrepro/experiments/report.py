"""The results pages and the reproduction scorecard (``notebooks/report.py``, the ``report``
stage), written into ``results/`` and tracked by git, so that a fresh clone shows every result
without running anything.

Each experiment's page (``results/<name>.md``) is generated from what its stage wrote: the
claims of ``references/<name>.yaml`` against ``data/results/<name>.json``, the analysis and the
deviation table the notebook computed, its figures (shrunk into ``results/<name>/``) and the
run record of its executed notebook (commit, profile, machine, minutes). ``results/README.md``
lists the pages; ``results/scorecard.md`` gathers every claim. A stage whose code, parameters
or data changed since its run (``dvc status``) is marked stale on its page and in both lists.
Nothing here is edited by hand: ``dvc repro`` rewrites it with the run it describes.
"""
from __future__ import annotations

import io
import json
import pathlib
import shutil
import subprocess
import sys

import pandas as pd

from rlrepro import runs
from rlrepro.claims import KINDS, claim_rows

FIGURE_WIDTH = 1000  # pixels: a page's figures are shrunk to this width at most
FIGURE_BYTES = 300_000  # each figure on a page at most, so that the pages stay small in git
STALE_CHANGES = ("changed deps", "changed command")  # dvc status entries that make a run stale


def experiments(references_dir) -> list[str]:
    """Every experiment with a references file, in name order."""
    return sorted(p.stem for p in pathlib.Path(references_dir).glob("*.yaml"))


def load_results(results_dir, name) -> dict:
    path = pathlib.Path(results_dir) / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def scorecard(results_dir, references_dir) -> pd.DataFrame:
    """One row per claim of every experiment that has a references file."""
    rows = []
    for name in experiments(references_dir):
        rows += claim_rows(name, load_results(results_dir, name), references_dir)
    return pd.DataFrame(rows)


def stale_stages(root, stages: list[str]) -> dict[str, list[str]] | None:
    """``{stage: what changed}`` for each of ``stages`` whose dependencies, parameters or
    command changed since its last run, from ``dvc status`` (which needs no outputs, so it works
    on a fresh clone); None where DVC cannot tell (not a DVC repository). Only the stages named:
    the running report stage's outputs are locked."""
    done = subprocess.run([sys.executable, "-m", "dvc", "status", "--json", *stages], cwd=root,
                          capture_output=True, text=True)
    if done.returncode != 0:
        return None
    stale = {}
    for stage, entries in json.loads(done.stdout or "{}").items():
        changed = []
        for entry in entries:
            if isinstance(entry, dict):
                for kind in STALE_CHANGES:
                    # a missing dependency is another stage's output not made here (a fresh
                    # clone has none): not a change
                    changed += (sorted(path for path, how in entry[kind].items()
                                       if how != "deleted")
                                if isinstance(entry.get(kind), dict)
                                else [kind] if kind in entry else [])
            elif entry in STALE_CHANGES:
                changed.append(entry)
        if changed:
            stale[stage.split(":")[-1]] = changed
    return stale


def run_record(notebook) -> dict:
    """The run record of an executed notebook: ``python -m rlrepro run``'s (commit, machine) and
    papermill's (end time, duration); empty where the notebook is missing or still running."""
    path = pathlib.Path(notebook)
    metadata = json.loads(path.read_text()).get("metadata", {}) if path.is_file() else {}
    if runs.RUN_RECORD not in metadata:  # no notebook, or one still running
        return {}
    timing = metadata.get("papermill", {})
    return {**metadata[runs.RUN_RECORD], "minutes": (timing.get("duration") or 0) / 60,
            "finished": (timing.get("end_time") or "")[:10]}


def title(notebook_source) -> str:
    """The notebook's first heading (``# # Title`` in its tracked source)."""
    for line in pathlib.Path(notebook_source).read_text().splitlines():
        if line.startswith("# # "):
            return line[4:].strip()
    return pathlib.Path(notebook_source).stem


def describe_run(results: dict, record: dict) -> str:
    """One line: profile, commit, machine, minutes, date."""
    if not record:
        return f"Profile **{results.get('profile', '?')}**; no run record."
    commit = record.get("commit", "")[:10] or "unknown"
    if record.get("uncommitted"):
        commit += " with uncommitted changes"
    machine = f"{record.get('cores', '?')} cores ({record.get('cpu', '?')})"
    if record.get("gpu"):
        machine += f", {record['gpu']}"
    return (f"Profile **{results.get('profile', '?')}**, commit `{commit}`, {machine}, "
            f"{record['minutes']:.1f} minutes, finished {record['finished'] or '?'} "
            f"(torch {record.get('torch', '?')}).")


def shrink(source, target, width=FIGURE_WIDTH, limit=FIGURE_BYTES):
    """Copy a PNG figure at ``width`` pixels at most, as a 256-colour PNG of ``limit`` bytes at
    most (narrower until it fits): figures of a few hundred KB instead of MBs in git."""
    from PIL import Image

    image = Image.open(source).convert("RGB")
    while True:
        scaled = image if image.width <= width else image.resize(
            (width, max(1, round(image.height * width / image.width))), Image.LANCZOS)
        buffer = io.BytesIO()
        scaled.quantize(256).save(buffer, "PNG", optimize=True)
        if buffer.tell() <= limit:
            break
        width = int(width * 0.8)
    pathlib.Path(target).write_bytes(buffer.getvalue())


def cell(value) -> str:
    """A markdown table cell: no line breaks, ``|`` escaped."""
    return " ".join(str(value).split()).replace("|", "\\|")


def table(rows: list[dict], columns: list[str]) -> list[str]:
    return (["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
            + ["| " + " | ".join(cell(r.get(c, "")) for c in columns) + " |" for r in rows])


def counts(rows: pd.DataFrame) -> str:
    return f"{int((rows.verdict == 'reproduced').sum())} of {len(rows)} reproduced"


def stale_note(changed: list[str] | None) -> str:
    if changed is None:
        return ""
    return ("**Stale**: changed since this run (`dvc status`): " + ", ".join(
        f"`{c}`" for c in changed) + ". `dvc repro` reruns it and rewrites this page.")


def page(name, heading, results, rows, record, figures, changed) -> str:
    """The markdown of one experiment's results page."""
    lines = [f"# {heading}", "",
             f"*Generated by the `report` stage from the `{name}` stage's run; `dvc repro` "
             f"rewrites it. Notebook: `notebooks/{name}.py`, parameters: `params.yaml` section "
             f"`{name}`, claims: `references/{name}.yaml`.*", ""]
    if results:
        lines += [describe_run(results, record), ""]
    if results.get("profile") == "smoke":
        lines += ["**Smoke profile: seconds-long runs that test the pipeline. Nothing here is "
                  "evidence about the paper.**", ""]
    if changed:
        lines += [stale_note(changed), ""]
    if not results:
        return "\n".join(lines + [f"This stage has not run yet: `dvc repro {name}`.", ""])
    lines += [f"## Claims ({counts(rows)})", "",
              *table(rows.to_dict("records"), ["claim", "kind", "paper", "ours", "verdict",
                                               "source"]), "",
              "Kinds: *stated*: " + KINDS["stated"] + "; *our_threshold*: "
              + KINDS["our_threshold"] + ".", "",
              "## Analysis (computed from this run)", "", results.get("analysis", ""), ""]
    if figures:
        lines += ["## Figures", ""]
        lines += [f"![{f.stem.replace('_', ' ')}]({name}/{f.name})\n" for f in figures]
    deviations = results.get("deviations", [])
    lines += ["## Deviations from the original (from this run's configuration)", ""]
    lines += (table(deviations, ["setting", "original", "this run", "why"]) if deviations
              else ["None: this run used the original's settings."])
    return "\n".join(lines) + "\n"


def index(frame: pd.DataFrame, headings: dict, records: dict, stale) -> str:
    """``results/README.md``: one row per experiment, linking its page."""
    lines = ["# Results", "",
             "*Generated by the `report` stage; `dvc repro` rewrites it.* One page per "
             "experiment, each with its claims, analysis, figures and deviations; every claim "
             "in one table: [the scorecard](scorecard.md). The executed notebooks: `make site`.",
             ""]
    if stale is None:
        lines += ["Whether a stage's code changed since its run is unknown (no DVC status).", ""]
    rows = []
    for name, heading in headings.items():
        claims = frame[frame.experiment == name]
        record = records.get(name, {})
        ran = len(claims) and not (claims.verdict == "not run").all()
        rows.append({"experiment": f"[{heading}]({name}.md)",
                     "profile": claims.profile.iloc[0] if ran else "—",
                     "claims": counts(claims) if ran else "—",
                     "minutes": f"{record['minutes']:.1f}" if record else "—",
                     "commit": f"`{record.get('commit', '')[:10]}`" if record else "—",
                     "status": "stale" if stale and name in stale else
                               "not run" if not record else "current"})
    return "\n".join(lines + table(rows, ["experiment", "profile", "claims", "minutes",
                                          "commit", "status"])) + "\n"


def to_markdown(frame: pd.DataFrame, stale=None) -> str:
    """``results/scorecard.md``: every claim, by experiment and kind."""
    columns = ["claim", "paper", "ours", "verdict", "source"]
    lines = ["# Reproduction scorecard", "",
             "*Generated by the `report` stage; `dvc repro` rewrites it.* Claims of kind "
             "*stated* are checked against a number or sentence the paper states; claims of "
             "kind *our threshold* against a threshold we chose to read a figure or a "
             "qualitative result, shown in the 'paper' column.", ""]
    for experiment, rows in frame.groupby("experiment", sort=False):
        profile = rows["profile"].iloc[0]
        lines += [f"## [{experiment}]({experiment}.md) ({profile} profile)", ""]
        if profile == "smoke":
            lines += ["**Smoke profile: seconds-long runs that test the pipeline. These verdicts "
                      "are not evidence about the paper.**", ""]
        if stale and experiment in stale:
            lines += [stale_note(stale[experiment]), ""]
        for kind, claims in rows.groupby("kind", sort=False):
            tally = claims["verdict"].value_counts().to_dict()
            lines += [f"### {KINDS[kind].capitalize()} ({len(claims)} claims: "
                      + ", ".join(f"{n} {v}" for v, n in tally.items()) + ")", "",
                      *table(claims.to_dict("records"), columns), ""]
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
    counted = frame.assign(label=labels).groupby(["label", "verdict"]).size().unstack(fill_value=0)
    counted = counted[[c for c in colours if c in counted.columns]]
    fig, ax = plt.subplots(figsize=(8, 0.6 * len(counted) + 1.5))
    counted.plot.barh(stacked=True, ax=ax, color=[colours[c] for c in counted.columns])
    ax.set_xlabel("claims")
    ax.set_ylabel("")
    ax.set_title("Reproduction scorecard")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def write(root, data_dir="data", out_dir="results", stale=None) -> pd.DataFrame:
    """Rewrite ``out_dir`` (relative to the repository ``root``): a page per experiment with its
    figures, ``README.md``, ``scorecard.md``, ``.csv`` and ``.png``. ``stale`` is
    :func:`stale_stages`' answer."""
    root = pathlib.Path(root)
    data, out, references = root / data_dir, root / out_dir, root / "references"
    shutil.rmtree(out, ignore_errors=True)  # every file here comes from this run
    out.mkdir(parents=True)
    frame = scorecard(data / "results", references)
    headings, records = {}, {}
    for name in experiments(references):
        headings[name] = title(root / "notebooks" / f"{name}.py")
        records[name] = run_record(data / "notebooks" / f"{name}.ipynb")
        figures = sorted((data / "figures" / name).glob("*.png"))
        if figures:
            (out / name).mkdir()
        for figure_file in figures:
            shrink(figure_file, out / name / figure_file.name)
        (out / f"{name}.md").write_text(page(
            name, headings[name], load_results(data / "results", name),
            frame[frame.experiment == name], records[name], figures,
            None if stale is None else stale.get(name, [])))
    (out / "README.md").write_text(index(frame, headings, records, stale))
    (out / "scorecard.md").write_text(to_markdown(frame, stale))
    frame.drop(columns="value").to_csv(out / "scorecard.csv", index=False)
    figure(frame).savefig(out / "scorecard.png", dpi=150, bbox_inches="tight")
    return frame
