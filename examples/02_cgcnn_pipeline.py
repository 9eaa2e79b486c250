"""CGCNN in a scikit-learn Pipeline: crystal graphs in, a trained graph network out.

``StructureGraphizer`` builds periodic crystal graphs (12 nearest neighbours within 8 A); ``CGCNNRegressor``
trains Xie & Grossman's network on them with early stopping on a held-out split. Together they are one
estimator on Structures.

    python examples/02_cgcnn_pipeline.py [--smoke] [--data-dir DIR] [--out DIR]
"""

# %%
import matplotlib.pyplot as plt
from example_settings import DATA_DIR, OUT, smoke_or, subset, take
from sklearn.base import clone
from sklearn.metrics import mean_absolute_error as mae
from sklearn.pipeline import Pipeline

import skhybrid
from skhybrid import StructureGraphizer, load_matbench
from skhybrid.models import CGCNNRegressor

data = load_matbench("matbench_phonons", data_home=DATA_DIR)
y = data.targets.iloc[:, 0].to_numpy()
train, test = data.folds[0]
train, test = subset(train, smoke_or(None, 150)), subset(test, smoke_or(None, 50))
X_train, X_test = take(data.structures, train), take(data.structures, test)

# %% One estimator: graphs, then the network
model = Pipeline([
    ("graph", StructureGraphizer(cutoff=8.0, max_neighbors=12)),
    ("gnn", CGCNNRegressor(max_epochs=smoke_or(300, 3), patience=40, random_state=0)),
])
with skhybrid.config_context(show_progress=True):       # bars for graph building and epochs
    model.fit(X_train, y[train])
pred = model.predict(X_test)
gnn = model.named_steps["gnn"]
print(f"CGCNN on fold 0: MAE {mae(y[test], pred):.2f} {data.unit} "
      f"(best epoch {gnn.best_epoch_} of {len(gnn.net_.history)}; leaderboard CGCNN: 57.8)")

# %% The learning curve and a parity plot
history = gnn.net_.history
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.8))
left.plot(history[:, "train_loss"], label="training")
left.plot(history[:, "valid_loss"], label="validation (early stopping)")
left.axvline(gnn.best_epoch_ - 1, color="gray", ls=":", label="weights kept")
left.set(xlabel="epoch", ylabel="MAE on standardised target", title="Learning curve")
left.legend()
right.scatter(y[test], pred, s=8, alpha=0.6)
lims = [min(y[test].min(), pred.min()), max(y[test].max(), pred.max())]
right.plot(lims, lims, color="gray", lw=1)
right.set(xlabel=f"true ({data.unit})", ylabel=f"predicted ({data.unit})", title="Test structures")
fig.tight_layout()
fig.savefig(OUT / "02_cgcnn.png", dpi=120)
print(f"plots in {OUT / '02_cgcnn.png'}")

# %% Everything is a parameter: the same model, wider, in one line
wider = clone(model).set_params(gnn__module__hidden_channels=128)   # unfitted, ready for fit
print("gnn__module__hidden_channels =", wider.get_params()["gnn__module__hidden_channels"])
