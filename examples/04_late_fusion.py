"""Late fusion: a composition model and a graph network, averaged with weights chosen out of fold.

``LateFusionRegressor(weights="oof")`` predicts every training structure with models that never saw it
(an internal cross-validation), picks the non-negative weights summing to one that minimise the MAE of
those out-of-fold predictions, and refits every base on all the training data. The test fold plays no part.

    python examples/04_late_fusion.py [--smoke] [--data-dir DIR] [--out DIR]
"""

# %%
import numpy as np
from example_settings import DATA_DIR, smoke_or, subset, take
from sklearn.ensemble import RandomForestRegressor
from sklearn.metrics import mean_absolute_error as mae
from sklearn.pipeline import make_pipeline

from skhybrid import MagpieFeaturizer, StructureGraphizer, load_matbench
from skhybrid.fusion import LateFusionRegressor
from skhybrid.inspection import late_fusion_summary
from skhybrid.models import CGCNNRegressor

data = load_matbench("matbench_jdft2d", data_home=DATA_DIR)
y = data.targets.iloc[:, 0].to_numpy()
train, test = data.folds[0]
train, test = subset(train, smoke_or(None, 150)), subset(test, smoke_or(None, 50))
X_train, X_test = take(data.structures, train), take(data.structures, test)
print(f"{data.task}: {len(train)} training and {len(test)} test structures ({data.unit})")

# %% Two bases, each a Pipeline that takes Structures
bases = [
    ("rf", make_pipeline(MagpieFeaturizer(), RandomForestRegressor(smoke_or(500, 50), n_jobs=-1, random_state=0))),
    ("cgcnn", make_pipeline(StructureGraphizer(), CGCNNRegressor(max_epochs=smoke_or(300, 3), random_state=0))),
]
late = LateFusionRegressor(bases, weights="oof", cv=smoke_or(5, 2), random_state=0, verbose=1)
late.fit(X_train, y[train])

# %% The weights and the out-of-fold errors that chose them
print("\n", late_fusion_summary(late).round(3))

# %% On the test fold: each base alone and the blend
per_base = late.transform(X_test)               # (n_test, n_bases)
for j, (name, _) in enumerate(bases):
    print(f"{name:>6}: MAE {mae(y[test], per_base[:, j]):.2f}")
print(f"{'blend':>6}: MAE {mae(y[test], late.predict(X_test)):.2f}  (weights {np.round(late.weights_, 2)})")
