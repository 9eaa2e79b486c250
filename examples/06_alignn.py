"""ALIGNN: message passing on bond angles as well as bonds.

``StructureGraphizer(line_graph=True)`` adds ALIGNN's line graph: one node per bond and one edge per pair
of bonds that share an atom, carrying the bond angle. ``ALIGNNRegressor`` alternates edge-gated
convolutions on the line graph and on the atom graph (Choudhary & DeCost, npj Comput. Mater. 2021). The
line graph is large (about 130 bond pairs per atom for 12 neighbours), which is what ALIGNN pays for
its angles; on a CPU, a width of 64 instead of the paper's 256 keeps it practical.

    python examples/06_alignn.py [--smoke] [--data-dir DIR] [--out DIR]
"""

# %%
import numpy as np
from example_settings import DATA_DIR, smoke_or, subset, take
from sklearn.metrics import mean_absolute_error as mae
from sklearn.pipeline import Pipeline

from skhybrid import StructureGraphizer, load_matbench
from skhybrid.models import ALIGNNRegressor

data = load_matbench("matbench_jdft2d", data_home=DATA_DIR)
y = data.targets.iloc[:, 0].to_numpy()
train, test = data.folds[0]
train, test = subset(train, smoke_or(None, 100)), subset(test, smoke_or(None, 40))
X_train, X_test = take(data.structures, train), take(data.structures, test)

# %% What the line graph adds
graphs = StructureGraphizer(line_graph=True).fit_transform(X_test[:50])
atoms = sum(g.num_nodes for g in graphs)
bonds = sum(g.edge_index.shape[1] for g in graphs)
pairs = sum(g.lg_edge_index.shape[1] for g in graphs)
angles = np.degrees(np.arccos(np.clip(np.concatenate([g.angle_cos.numpy() for g in graphs]), -1, 1)))
print(f"{atoms} atoms, {bonds} bonds, {pairs} bond pairs ({pairs / atoms:.0f} per atom); "
      f"angles from {angles.min():.0f} to {angles.max():.0f} degrees")

# %% Train ALIGNN
model = Pipeline([
    ("graph", StructureGraphizer(line_graph=True)),
    ("gnn", ALIGNNRegressor(module__hidden_channels=64, max_epochs=smoke_or(40, 2), patience=10, random_state=0)),
])
model.fit(X_train, y[train])
gnn = model.named_steps["gnn"]
print(f"ALIGNN (width 64, {len(gnn.net_.history)} epochs): MAE {mae(y[test], model.predict(X_test)):.2f} "
      f"{data.unit} on {len(test)} test structures")
