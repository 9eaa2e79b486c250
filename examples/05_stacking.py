"""Stacking: a final model on the bases' out-of-fold predictions and the composition features.

Where late fusion learns one weight per base, stacking learns a model of when to trust which base.
``passthrough_features=MagpieFeaturizer()`` gives that model the composition as well, so it can trust the
graph network in one part of composition space and the forest in another. ``from_late_fusion`` reuses a
fitted out-of-fold late fusion, so each stacking variant below costs only its final model.

    python examples/05_stacking.py [--smoke] [--data-dir DIR] [--out DIR]
"""

# %%
from example_settings import DATA_DIR, smoke_or, subset, take
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import RidgeCV
from sklearn.metrics import mean_absolute_error as mae
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skhybrid import MagpieFeaturizer, StructureGraphizer, load_matbench
from skhybrid.fusion import LateFusionRegressor, StackingFusionRegressor
from skhybrid.models import CGCNNRegressor

data = load_matbench("matbench_jdft2d", data_home=DATA_DIR)
y = data.targets.iloc[:, 0].to_numpy()
train, test = data.folds[0]
train, test = subset(train, smoke_or(None, 150)), subset(test, smoke_or(None, 50))
X_train, X_test = take(data.structures, train), take(data.structures, test)

bases = [
    ("rf", make_pipeline(MagpieFeaturizer(), RandomForestRegressor(smoke_or(500, 50), n_jobs=-1, random_state=0))),
    ("cgcnn", make_pipeline(StructureGraphizer(), CGCNNRegressor(max_epochs=smoke_or(300, 3), random_state=0))),
]
late = LateFusionRegressor(bases, weights="oof", cv=smoke_or(5, 2), random_state=0).fit(X_train, y[train])

# %% Three final models on the same out-of-fold predictions
finals = {
    "ridge on predictions": (make_pipeline(StandardScaler(), RidgeCV()), None),
    "ridge on predictions + Magpie": (make_pipeline(StandardScaler(), RidgeCV(alphas=[1, 10, 100, 1000])),
                                      MagpieFeaturizer()),
    "forest on predictions + Magpie": (RandomForestRegressor(smoke_or(300, 30), min_samples_leaf=5,
                                                             random_state=0), MagpieFeaturizer()),
}
print(f"late fusion (weights {late.weights_.round(2)}): MAE {mae(y[test], late.predict(X_test)):.2f} {data.unit}")
for name, (final, passthrough) in finals.items():
    stack = StackingFusionRegressor.from_late_fusion(late, X_train, y[train], final,
                                                     passthrough_features=passthrough)
    print(f"stacking, {name}: MAE {mae(y[test], stack.predict(X_test)):.2f} "
          f"({len(stack.feature_names_in_final_)} inputs)")
# On a few hundred structures, 147 inputs are too many for the final model: it overfits. And the ridge
# models minimise squared error, which the few very large exfoliation energies dominate, where late
# fusion's weights minimise the MAE itself. Stacking pays off with more data and bases that err in
# different regions; here the two weights of late fusion are the better choice.
