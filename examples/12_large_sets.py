"""Large sets in bounded memory: descriptors and graphs on disk, computed once, streamed to training.

A Materials Project-sized set does not fit in memory as crystal graphs (132k cells of ~30 atoms are about
15 GB), and its local-environment descriptors take hours of one core. On-disk stores keep both: each
structure is featurized once, whatever fold, model or run asks again, and a graph network reads its graphs
batch by batch, so the process's memory does not grow with the set. Shown here on the 2,400 NOMAD 2018
cells; `skhybrid benchmark --store FOLDER` does the same for every model of a benchmark.

    python examples/12_large_sets.py [--smoke] [--data-dir DIR] [--out DIR]
"""

# %%
import resource
import shutil
import time

import numpy as np
from example_settings import DATA_DIR, OUT, smoke_or, subset, take
from lightgbm import LGBMRegressor
from sklearn.metrics import mean_absolute_error
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline

from skhybrid import StructureFeaturizer, StructureGraphizer
from skhybrid.datasets import load_nomad2018
from skhybrid.featurizers import GraphStore, write_graph_store
from skhybrid.models import CGCNNRegressor

data = load_nomad2018(data_home=DATA_DIR)
chosen = subset(np.arange(len(data.structures)), smoke_or(None, 120))
structures = take(data.structures, chosen)
y = data.targets["formation_energy_ev_natom"].to_numpy()[chosen]
train, test = next(KFold(5, shuffle=True, random_state=0).split(structures))
stores = OUT / "12_stores"
shutil.rmtree(stores, ignore_errors=True)  # start from empty stores, so the first pass really computes

# %% Descriptors: an on-disk table, computed once and read back by every later transform
features = StructureFeaturizer(level="local", store=stores / "descriptors")
start = time.perf_counter()
X_train = features.fit_transform(take(structures, train))
computed = time.perf_counter() - start
start = time.perf_counter()
X_again = features.transform(take(structures, train))  # another fold, model or run: read, not computed
read = time.perf_counter() - start
assert np.array_equal(X_train, X_again)
print(f"{len(train)} structures: descriptors computed in {computed:.1f} s, read back in {read:.2f} s")
gbm = LGBMRegressor(n_estimators=smoke_or(500, 50), learning_rate=0.05, num_leaves=15, verbose=-1, n_jobs=1,
                    random_state=0).fit(X_train, y[train])
gbm_mae = mean_absolute_error(y[test], gbm.predict(features.transform(take(structures, test))))
print(f"LightGBM on stored descriptors: test MAE {gbm_mae:.4f} eV/atom")

# %% Graphs: a chunked store, written from any iterable (a generator reading files works too)
path = write_graph_store(iter(structures), stores / "graphs", chunk_size=smoke_or(512, 32),
                         n_structures=len(structures), progress=False)
store = GraphStore(path)
disk = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
print(f"graph store: {len(store)} graphs, {disk / 1e6:.0f} MB on disk, {len(store.manifest['chunks'])} chunks")

# %% Training from the store: the graphizer finds every structure already there and returns a view of it,
# which the network reads batch by batch
model = Pipeline([("graph", StructureGraphizer(store=path)),
                  ("gnn", CGCNNRegressor(max_epochs=smoke_or(8, 1), batch_size=64, random_state=0))])
model.fit(take(structures, train), y[train])
cgcnn_mae = mean_absolute_error(y[test], model.predict(take(structures, test)))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
print(f"CGCNN streamed from the store ({smoke_or(8, 1)} epochs): test MAE {cgcnn_mae:.4f} eV/atom; "
      f"peak memory of this process {peak:.2f} GB")

# %% The same for a whole benchmark, from a shell:
#   skhybrid benchmark matbench_mp_e_form --models hybrid gbm-descriptors --store stores/
# every StructureFeaturizer and StructureGraphizer of those models gets a store in stores/ (one per kind and
# settings), so the five folds and any later run featurize each structure once.
