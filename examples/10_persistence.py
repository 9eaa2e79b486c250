"""Saving and loading models: joblib in Python, ``skhybrid fit`` and ``skhybrid predict`` on the command line.

A fitted Pipeline (graphizer settings, Magpie vector scaling, network weights) is one object; joblib saves
it whole and the loaded copy predicts exactly the same numbers, on a machine without a GPU too.

    python examples/10_persistence.py [--smoke] [--data-dir DIR] [--out DIR]
"""

# %%
import joblib
import numpy as np
import pandas as pd
from example_settings import DATA_DIR, OUT, SMOKE, smoke_or, subset, take
from sklearn.pipeline import Pipeline

from skhybrid import MagpieFeaturizer, StructureGraphizer, load_matbench
from skhybrid.cli import main as skhybrid_cli
from skhybrid.models import MEGNetRegressor

data = load_matbench("matbench_jdft2d", data_home=DATA_DIR)
y = data.targets.iloc[:, 0].to_numpy()
train, test = data.folds[0]
train, test = subset(train, smoke_or(None, 100)), subset(test, smoke_or(None, 20))
X_train, X_test = take(data.structures, train), take(data.structures, test)

# %% Python: joblib round trip
model = Pipeline([("graph", StructureGraphizer(global_features=MagpieFeaturizer())),
                  ("gnn", MEGNetRegressor(max_epochs=smoke_or(100, 2), random_state=0))]).fit(X_train, y[train])
path = OUT / "10_megnet.joblib"
joblib.dump(model, path)
loaded = joblib.load(path)
same = np.array_equal(loaded.predict(X_test), model.predict(X_test))
print(f"saved {path} ({path.stat().st_size / 1e6:.1f} MB); identical predictions after loading: {same}")
assert same

# %% The command line: a folder of CIF files with a targets.csv is all `skhybrid fit` needs
folder = OUT / "10_cifs"
folder.mkdir(exist_ok=True)
ids = take(list(data.ids), train)
for structure, name in zip(X_train, ids):
    structure.to(filename=str(folder / f"{name}.cif"))
pd.DataFrame({"file": [f"{name}.cif" for name in ids], "exfoliation_en": y[train]}).to_csv(
    folder / "targets.csv", index=False)
skhybrid_cli(["fit", "rf-magpie", "--data", str(folder), "--target", "exfoliation_en",
              "--out", str(OUT / "10_rf.joblib"), "--no-progress"] + (["--quick"] if SMOKE else []))
skhybrid_cli(["predict", str(OUT / "10_rf.joblib"), *[str(folder / f"{name}.cif") for name in ids[:3]],
              "--out", str(OUT / "10_predictions.csv"), "--no-progress"])
print(pd.read_csv(OUT / "10_predictions.csv"))
# The same from a shell:
#   skhybrid fit rf-magpie --data example-output/10_cifs --target exfoliation_en --out rf.joblib
#   skhybrid predict rf.joblib new_structures/ --out predictions.csv
