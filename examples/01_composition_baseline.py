"""Composition baseline: Magpie features and a random forest on the official Matbench folds.

The first thing to try on a new property: 145 Magpie statistics of element properties and a random forest.
It is cheap, works with little data, and sets the bar every structure-aware model has to clear. It also
shows the limit: structures of one composition get identical features.

    python examples/01_composition_baseline.py [--smoke] [--data-dir DIR] [--out DIR]
"""

# %%
import matplotlib.pyplot as plt
import pandas as pd
from example_settings import DATA_DIR, OUT, smoke_or
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import RandomForestRegressor
from sklearn.metrics import mean_absolute_error as mae

from skhybrid import MagpieFeaturizer, load_matbench

data = load_matbench("matbench_phonons", data_home=DATA_DIR)
y = data.targets.iloc[:, 0].to_numpy()
print(f"{data.task}: {len(y)} structures, target {data.target_names[0]!r} in {data.unit}")

# %% [markdown]
# Magpie features depend on each structure alone (the featurizer learns nothing in ``fit``), so the
# whole set can be featurized once, before the folds, without leaking anything from test to training.

# %%
features = MagpieFeaturizer().set_output(transform="pandas").fit_transform(data.structures)
print(f"features: {features.shape[1]} columns, e.g. {list(features.columns[:3])}")
shared = features.duplicated(keep=False).sum()
print(f"{shared} structures share their features with another one (same composition, different structure)")

# %% The official folds: fit on each training part, score on its test part
rows = []
forest = None
for k, (train, test) in enumerate(data.folds[: smoke_or(5, 1)]):
    models = {"mean": DummyRegressor(),
              "rf-magpie": RandomForestRegressor(n_estimators=smoke_or(500, 50), n_jobs=-1, random_state=0)}
    for name, model in models.items():
        model.fit(features.iloc[train], y[train])
        rows.append({"model": name, "fold": k, "MAE": mae(y[test], model.predict(features.iloc[test]))})
    forest = models["rf-magpie"]
table = pd.DataFrame(rows).pivot(index="fold", columns="model", values="MAE")
print(f"\nMAE ({data.unit}) per official fold:\n{table.round(2)}")
print(f"mean: {table.mean().round(2).to_dict()}  (leaderboard RF-SCM/Magpie: 67.6)")

# %% What the forest relies on
importances = pd.Series(forest.feature_importances_, index=features.columns).nlargest(10)[::-1]
fig, ax = plt.subplots(figsize=(6, 4))
importances.plot.barh(ax=ax, color="tab:orange")
ax.set_xlabel("impurity importance")
ax.set_title("Random forest on Magpie features: top 10")
fig.tight_layout()
fig.savefig(OUT / "01_feature_importances.png", dpi=120)
print(f"\nTop feature: {importances.index[-1]!r}; plot in {OUT / '01_feature_importances.png'}")
