"""Early fusion: one network on the crystal graph and the composition vector together.

The graphizer stores each structure's Magpie vector as ``u``; ``EarlyFusionRegressor`` encodes the graph
with a CGCNN backbone and joins the two, either by concatenation or by per-crystal attention weights that
say how much each prediction leans on composition versus structure.

    python examples/03_early_fusion.py [--smoke] [--data-dir DIR] [--out DIR]
"""

# %%
import matplotlib.pyplot as plt
from example_settings import DATA_DIR, OUT, smoke_or, subset, take
from sklearn.metrics import mean_absolute_error as mae
from sklearn.pipeline import Pipeline

from skhybrid import MagpieFeaturizer, StructureGraphizer, load_matbench
from skhybrid.fusion import EarlyFusionRegressor
from skhybrid.inspection import fusion_weights, plot_fusion_weights

data = load_matbench("matbench_jdft2d", data_home=DATA_DIR)
y = data.targets.iloc[:, 0].to_numpy()
train, test = data.folds[0]
train, test = subset(train, smoke_or(None, 150)), subset(test, smoke_or(None, 50))
X_train, X_test = take(data.structures, train), take(data.structures, test)


def early_fusion(fusion):
    return Pipeline([
        ("graph", StructureGraphizer(global_features=MagpieFeaturizer())),   # the graph carries u
        ("fusion", EarlyFusionRegressor(backbone="cgcnn", fusion=fusion, max_epochs=smoke_or(300, 3),
                                        patience=40, random_state=0)),
    ])


# %% Concatenation and attention, same backbone, same data
models = {fusion: early_fusion(fusion).fit(X_train, y[train]) for fusion in ("concat", "attention")}
for fusion, model in models.items():
    print(f"early fusion ({fusion}): MAE {mae(y[test], model.predict(X_test)):.2f} {data.unit}")

# %% The learned weights: per crystal, how much the prediction rests on each branch
weights = fusion_weights(models["attention"], X_test)
print("\nattention weights on the test structures:\n", weights.describe().loc[["mean", "min", "max"]].round(3))
formulas = [s.composition.reduced_formula for s in X_test]
leaning = weights.assign(formula=formulas).sort_values("graph", ascending=False).head(5)
print("\nmost structure-driven predictions:\n", leaning.round(3).to_string(index=False))

ax = plot_fusion_weights(weights)
ax.set_title("Attention early fusion, jdft2d fold 0")
ax.figure.tight_layout()
ax.figure.savefig(OUT / "03_fusion_weights.png", dpi=120)
plt.close(ax.figure)
print(f"plot in {OUT / '03_fusion_weights.png'}")
