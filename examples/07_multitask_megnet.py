"""Multi-task MEGNet: formation energy and band gap from one network, with a negative-transfer check.

MEGNet carries a global state through its blocks; here it starts from each structure's Magpie vector.
With ``y`` of shape (n, 2) one network predicts both targets; ``task_weights="uncertainty"`` learns how
much each task's loss counts (Kendall et al., CVPR 2018), and NaN marks a label a structure lacks.
``negative_transfer`` then asks the question that matters: is each target better off trained alone?

    python examples/07_multitask_megnet.py [--smoke] [--data-dir DIR] [--out DIR]
"""

# %%
import numpy as np
from example_settings import DATA_DIR, smoke_or, subset, take
from sklearn.metrics import mean_absolute_error as mae
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from skhybrid import MagpieFeaturizer, StructureGraphizer, load_nomad2018
from skhybrid.inspection import negative_transfer
from skhybrid.models import MEGNetRegressor

data = load_nomad2018(data_home=DATA_DIR)
names = list(data.targets.columns)                       # formation energy (eV/atom), band gap (eV)
Y = data.targets.to_numpy()
rows = subset(np.arange(len(Y)), smoke_or(400, 80))      # NOMAD cells hold 62 atoms on average: a subset
train, test = train_test_split(rows, test_size=0.25, random_state=0)
X_train, X_test = take(data.structures, train), take(data.structures, test)

# Labels missing for some structures train together with the rest: hide a third of the band gaps.
Y_train = Y[train].copy()
Y_train[np.random.default_rng(0).random(len(train)) < 1 / 3, 1] = np.nan
print(f"{len(train)} training structures; band gap labelled for {np.isfinite(Y_train[:, 1]).sum()}")

# %% One network, two targets, learned task weights
model = Pipeline([
    ("graph", StructureGraphizer(global_features=MagpieFeaturizer())),
    ("gnn", MEGNetRegressor(task_weights="uncertainty", max_epochs=smoke_or(30, 2), patience=10, random_state=0)),
])
model.fit(X_train, Y_train)
pred = model.predict(X_test)
for j, name in enumerate(names):
    print(f"{name}: MAE {mae(Y[test, j], pred[:, j]):.4f}")
log_variance = model.named_steps["gnn"].net_.criterion_.log_variance.detach().numpy()
print("learned task weights exp(-s):", {name: round(float(w), 3) for name, w in zip(names, np.exp(-log_variance))})

# %% Negative transfer: the same estimator on both targets and on each alone
table = negative_transfer(model, X_train, Y_train, X_test, Y[test], target_names=names)
print("\n" + table[["single_task_mae", "multi_task_mae", "change", "negative_transfer"]].round(4).to_string())
