# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Reproduction scorecard and results pages
#
# Every claim listed in `references/*.yaml`, against the results the experiment notebooks wrote
# to `data/results/`: the paper's value, ours, and the verdict. The `results/` folder it writes
# (tracked by git) holds a page per experiment, its figures, and this scorecard; a stage whose
# code or parameters changed since its run (`dvc status`) is marked stale.

# %% tags=["parameters"]
data_dir = "data"  # the stages' results, figures and executed notebooks, from the repository root
out_dir = "results"  # the pages, the scorecard and their figures

# %%
from IPython.display import Markdown, display
from rlrepro import params
from rlrepro.experiments import report

root = params.find_params_file().parent
stale = report.stale_stages(root, report.experiments(root / "references"))
frame = report.write(root, data_dir, out_dir, stale)
display(Markdown((root / out_dir / "README.md").read_text()))
display(Markdown(report.to_markdown(frame, stale)))
