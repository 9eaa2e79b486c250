"""Composition versus graph: what does an early-fusion model rely on?

Permutation importance at the level of the two branches: shuffle the composition vectors (or the graph
vectors) across held-out crystals, keep the other branch in place, and measure how much the MAE grows.
A branch the model ignores costs nothing when shuffled. Attention weights give a second, per-crystal view.

    python examples/08_contribution.py [--smoke] [--data-dir DIR] [--out DIR]
"""

# %%
import matplotlib.pyplot as plt
from example_settings import DATA_DIR, OUT, smoke_or, subset, take
from sklearn.metrics import mean_absolute_error as mae
from sklearn.pipeline import Pipeline

from skhybrid import MagpieFeaturizer, StructureGraphizer, load_matbench
from skhybrid.fusion import EarlyFusionRegressor
from skhybrid.inspection import (
    branch_importance,
    fusion_weights,
    plot_branch_importance,
    plot_fusion_weights,
)

data = load_matbench("matbench_phonons", data_home=DATA_DIR)
y = data.targets.iloc[:, 0].to_numpy()
train, test = data.folds[0]
train, test = subset(train, smoke_or(None, 150)), subset(test, smoke_or(None, 50))
X_train, X_test = take(data.structures, train), take(data.structures, test)

model = Pipeline([
    ("graph", StructureGraphizer(global_features=MagpieFeaturizer())),
    ("fusion", EarlyFusionRegressor(fusion="attention", max_epochs=smoke_or(300, 3), patience=40, random_state=0)),
]).fit(X_train, y[train])
print(f"attention early fusion: MAE {mae(y[test], model.predict(X_test)):.2f} {data.unit}")

# %% Permute each branch on the test fold (never on training data: that measures memorisation)
result = branch_importance(model, X_test, y[test], n_repeats=smoke_or(10, 2), random_state=0)
for branch, mean, std in zip(result.branches, result.importances_mean, result.importances_std):
    print(f"{branch} permuted: MAE +{mean:.1f} +/- {std:.1f} {data.unit}")
weights = fusion_weights(model, X_test)
print(f"mean attention weight on composition: {weights['composition'].mean():.2f}")

fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
plot_branch_importance(result, ax=left, unit=data.unit)
plot_fusion_weights(weights, ax=right)
fig.tight_layout()
fig.savefig(OUT / "08_contribution.png", dpi=120)
print(f"plots in {OUT / '08_contribution.png'}")
