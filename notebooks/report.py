# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Reproduction scorecard
#
# Every claim listed in `references/*.yaml`, against the metrics the experiment notebooks wrote
# to `data/metrics/`: the paper's value, ours, and the verdict.

# %% tags=["parameters"]
data_dir = "data"  # metrics in, scorecard out, relative to the repository root

# %%
from IPython.display import Markdown, display
from rlrepro import params
from rlrepro.experiments import report

root = params.find_params_file().parent
frame = report.write(root / data_dir / "metrics", root / "references", root / data_dir / "report")
display(Markdown(report.to_markdown(frame)))
