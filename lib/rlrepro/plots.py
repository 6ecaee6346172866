"""Shared figure style and the few figure types the notebooks reuse."""
from __future__ import annotations

import pathlib

import matplotlib.pyplot as plt
from matplotlib import ticker
import numpy as np
import seaborn as sns


def setup():
    """The project's figure style: seaborn whitegrid, readable fonts, 150 dpi."""
    sns.set_theme(style="whitegrid", context="notebook", font_scale=0.9)
    plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 150, "savefig.bbox": "tight"})


def save(fig, folder, name, data=None):
    """Save ``fig`` as ``folder/name.png``, creating the folder (returns nothing, so that a
    notebook cell ending with it shows the figure and no path). ``data``, a learning curve's
    points (:func:`curve_points`), goes beside it as ``name.csv``: what ``dvc plots show``
    draws (the experiment module's ``CURVES``)."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fig.savefig(folder / f"{name}.png")
    if data is not None:
        data[list(CURVE_COLUMNS)].to_csv(folder / f"{name}.csv", index=False, float_format="%.6g")


CURVE_COLUMNS = ("panel", "method", "step", "value", "low", "high")


def curve_points(curves: dict):
    """:func:`learning_curves`' input as rows of ``CURVE_COLUMNS`` (a panel is a task)."""
    import pandas as pd

    return pd.DataFrame([{"panel": task, "method": method, "step": step, "value": centre[i],
                          "low": low[i], "high": high[i]}
                         for task, (steps, lines) in curves.items()
                         for method, (centre, low, high) in lines.items()
                         for i, step in enumerate(steps)], columns=list(CURVE_COLUMNS))


def table_heatmap(values, annotations, *, title, vmin=0.0, vmax=1.0, cmap="RdYlGn",
                  label="fraction of max true reward"):
    """A results table as a coloured grid; ``values`` is a DataFrame (rows x columns)."""
    fig, ax = plt.subplots(figsize=(1.3 * values.shape[1] + 2, 0.55 * values.shape[0] + 1.5))
    sns.heatmap(values.astype(float), annot=annotations, fmt="", cmap=cmap, vmin=vmin, vmax=vmax,
                cbar_kws={"label": label}, linewidths=0.5, ax=ax)
    ax.tick_params(axis="y", rotation=0)
    ax.set_title(title)
    ax.set_xlabel("")
    ax.set_ylabel("")
    return fig


def line_sweep(frame, *, x, y, hue, col=None, row=None, logx=True, title="",
               ylim=(0.4, 1.05), sharey=True):
    """One line per ``hue`` value over ``x``, optionally one panel per ``col`` (and ``row``)
    value; ``ylim=None`` lets each panel fit its data."""
    grid = sns.relplot(data=frame, x=x, y=y, hue=hue, col=col, row=row, kind="line",
                       marker="o", height=3.2, aspect=1.2, facet_kws={"sharey": sharey})
    for ax in grid.axes.flat:
        if logx:
            ax.set_xscale("log", base=2)
        if ylim is not None:
            ax.set_ylim(*ylim)
    grid.figure.suptitle(title, y=1.03)
    return grid.figure


def weight_bars(weights: dict, feature_names: dict, *, title, columns=3):
    """Bar chart of inferred reward weights, one panel per problem, ``columns`` panels a row."""
    rows = int(np.ceil(len(weights) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3.3 * columns, 2.8 * rows), squeeze=False)
    for ax in axes.flat[len(weights):]:
        ax.axis("off")
    for ax, (name, theta) in zip(axes.flat, weights.items()):
        theta = np.asarray(theta)
        colours = ["tab:red" if v < 0 else "tab:green" for v in theta]
        ax.barh(range(len(theta)), theta, color=colours)
        ax.set_yticks(range(len(theta)), feature_names[name], fontsize=7)
        ax.invert_yaxis()
        ax.axvline(0, color="black", lw=0.8)
        ax.set_title(name)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def image_grid(images: dict, *, columns, title=""):
    """Images in a grid; ``images`` maps a caption to an RGB array."""
    rows = int(np.ceil(len(images) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(2.2 * columns, 2.4 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (caption, image) in zip(axes.flat, images.items()):
        ax.imshow(image)
        ax.set_title(caption, fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def learning_curves(curves: dict, *, baselines: dict | None = None,
                    references: dict | None = None, title="", ylabel="test return",
                    columns: int = 3):
    """One panel per task (``columns`` to a row): a line per method with its interval band.

    ``curves[task] = (steps, {method: (centre, low, high)})``; ``baselines[task]`` is drawn
    dashed; ``references[task]`` is a list of ``(step, value, label)`` published scores, drawn as
    marked points.
    """
    rows = -(-len(curves) // columns)
    width = min(len(curves), columns)
    fig, axes = plt.subplots(rows, width, figsize=(5.5 * width, 3.8 * rows), squeeze=False)
    for ax, (task, (steps, lines)) in zip(axes.flat, curves.items()):
        for i, (method, (centre, low, high)) in enumerate(lines.items()):
            colour = sns.color_palette("tab10")[i % 10]
            ax.plot(steps, centre, color=colour, label=method)
            ax.fill_between(steps, low, high, color=colour, alpha=0.2)
        if baselines and task in baselines:
            ax.axhline(baselines[task], color="gray", ls="--", lw=1, label="random")
        sources = {}  # label -> its steps and values, one marker per source
        for step, value, label in (references or {}).get(task, []):
            sources.setdefault(label, []).append((step, value))
        for k, (label, points) in enumerate(sources.items()):
            ax.plot(*zip(*points), marker="*^sDv"[k % 5], color="black", ls="none", ms=8,
                    label=label)
        ax.set(title=task, xlabel="environment steps", ylabel=ylabel)
        ax.xaxis.set_major_locator(ticker.MaxNLocator(5))  # 150k, not 150000 over its neighbour
        ax.xaxis.set_major_formatter(ticker.EngFormatter(sep=""))
        if references and task in references:  # their labels differ from task to task
            ax.legend(fontsize=7)
    if not references:
        axes.flat[len(curves) - 1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8)
    for ax in axes.flat[len(curves):]:
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def seed_strip(frame, *, x, y, col, order, title=""):
    """Every run as a dot, one row per ``y`` value and one panel per ``col`` value."""
    grid = sns.catplot(data=frame, x=x, y=y, col=col, order=order, kind="strip", jitter=0.15,
                       height=0.35 * len(order) + 1.5, aspect=1.4, s=40)
    for ax in grid.axes.flat:
        ax.axvline(1.0, color="gray", ls="--", lw=1)
        ax.axvline(0.0, color="gray", ls=":", lw=1)
    grid.figure.suptitle(title, y=1.03)
    return grid.figure
