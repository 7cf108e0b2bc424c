# %% [markdown]
# # Two routing policies, side by side, in a notebook
#
# A script in cells (`# %%`): run it as `python docs/compare_policies.py`, or open it as a
# notebook (VS Code, or Jupyter with jupytext). It loads a scenario, runs two policies on
# the same contacts, compares them in pandas and plots the result. Needs
# `pip install 'ccsim[pandas]'`; the tests run it (tests/test_notebook_api.py).
#
# `CCSIM_REPLICATIONS` (default 10) and `CCSIM_FIGURE` (default `compare_policies.png`)
# change how many replications run and where the figure goes.

# %%
import os
import warnings
from pathlib import Path

import matplotlib

if "MPLBACKEND" not in os.environ:
    matplotlib.use("Agg")  # a script writes the figure to a file; a notebook shows it
import matplotlib.pyplot as plt

from reports.compare import compare
from sim import FewReplicationsWarning, load_scenario, run

ROOT = Path(__file__).resolve().parents[1]
REPLICATIONS = int(os.environ.get("CCSIM_REPLICATIONS", "10"))
FIGURE = Path(os.environ.get("CCSIM_FIGURE", "compare_policies.png"))

# %% [markdown]
# ## Load a scenario and run both policies on common random numbers
# Replication `r` of `fcfs` and of `priority` sees the same arrivals, patience and work.

# %%
scenario = load_scenario(ROOT / "scenarios" / "quickstart.yaml")
results = run(scenario, ["fcfs", "priority"], replications=REPLICATIONS, seed=1)
results  # a one-line repr: scenario, policies, replications, seed

# %% [markdown]
# ## A tidy table: one row per policy, scope, key and metric
# `to_frame(scope)` takes the scope names of `ccsim run --by` (`type`, `group`, `interval`,
# `tier`, `channel`, `campaign`, or `overall`); `None` gives all of them.

# %%
frame = results.to_frame("type")
wide = frame[frame.metric.isin(["service_level", "asa_s"])].pivot_table(
    index=["key", "metric"], columns="policy", values="mean")
print(wide.round(3))

# %% [markdown]
# ## The paired difference per contact type
# Two policies' own intervals overlap more than their difference varies: on common random
# numbers the difference is taken per replication, and its interval is the one to read.

# %%
for key in ("general", "vip"):
    comparison = compare(results, ["asa_s", "service_level"], scope="type", key=key)
    for row in comparison.rows:
        diff = row.differences["priority"]
        print(f"{key:8} {row.info.name:14} priority - fcfs = {diff.mean:+.3f} "
              f"[{diff.low:+.3f}, {diff.high:+.3f}] {row.verdict('priority')}")

# %% [markdown]
# ## Plot: ASA and service level per contact type, with 95% intervals

# %%
figure, axes = plt.subplots(1, 2, figsize=(9, 3.5), layout="constrained")
for ax, metric, label in zip(axes, ("asa_s", "service_level"), ("ASA (s)", "Service level")):
    rows = frame[frame.metric == metric]
    keys = list(dict.fromkeys(rows.key))
    for offset, (policy, group) in zip((-0.15, 0.15), rows.groupby("policy", sort=False)):
        group = group.set_index("key").loc[keys]
        ax.errorbar([i + offset for i in range(len(keys))], group["mean"],
                    yerr=[group["mean"] - group["ci95_low"], group["ci95_high"] - group["mean"]],
                    fmt="o", capsize=4, label=policy)
    ax.set_xticks(range(len(keys)), keys)
    ax.set_title(label)
axes[0].legend()
figure.savefig(FIGURE, dpi=100)
print(f"figure: {FIGURE}")

# %% [markdown]
# ## Per-contact rows, in memory
# `contacts=True` keeps one row per contact (the columns of `--trace`) without a file.

# %%
with warnings.catch_warnings():
    # One replication is plenty of rows; its warning is about intervals, not drawn here.
    warnings.simplefilter("ignore", FewReplicationsWarning)
    one = run(scenario, ["fcfs", "priority"], replications=1, seed=1, contacts=True)
contacts = one.contacts_frame()
answered = contacts[(contacts.outcome == "answered") & (contacts.in_warmup == 0)]
print(answered.groupby(["policy", "type"])["wait_s"].describe()[["count", "mean", "50%", "max"]]
      .round(1))
