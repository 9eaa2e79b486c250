"""A Dask cluster through joblib's backend: featurization, cross-validation folds and benchmark fits.

A ``distributed.LocalCluster`` of two worker processes stands in for a real cluster; every result must
equal the local run's, digit for digit.
"""

import joblib
import numpy as np
import pytest
from sklearn.ensemble import RandomForestRegressor
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import make_pipeline

from skhybrid import MagpieFeaturizer, StructureFeaturizer, StructureGraphizer
from skhybrid.benchmark import run_benchmark
from skhybrid.utils._testing import synthetic_crystals, write_crystal_folder

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def dask_backend():
    """Run the body under joblib's Dask backend, on a local two-worker cluster."""
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = distributed.Client(cluster)
    yield lambda: joblib.parallel_config(backend="dask")
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def crystals():
    return synthetic_crystals(40, seed=7)


def test_featurization_on_the_cluster_equals_the_local_run(dask_backend, crystals):
    structures, _ = crystals
    for featurizer in (MagpieFeaturizer, StructureFeaturizer):
        local = featurizer().fit_transform(structures)
        with dask_backend():
            remote = featurizer(n_jobs=2).fit_transform(structures)
        np.testing.assert_array_equal(remote, local)
    local = StructureGraphizer(max_neighbors=8).fit_transform(structures)
    with dask_backend():
        remote = StructureGraphizer(max_neighbors=8, n_jobs=2).fit_transform(structures)
    for a, b in zip(local, remote):
        assert a.keys() == b.keys() and all(np.array_equal(np.asarray(a[k]), np.asarray(b[k])) for k in a.keys())


def test_cross_validation_folds_on_the_cluster_equal_the_local_run(dask_backend, crystals):
    structures, y = crystals
    # n_jobs=1: a forest's n_jobs=None inside a Dask task means the whole cluster, summing trees in arrival order
    model = make_pipeline(MagpieFeaturizer(), RandomForestRegressor(50, n_jobs=1, random_state=0))
    cv = KFold(4, shuffle=True, random_state=0)
    local = cross_val_predict(model, structures, y, cv=cv)
    with dask_backend():
        remote = cross_val_predict(model, structures, y, cv=cv, n_jobs=2)
    np.testing.assert_array_equal(remote, local)


def test_benchmark_fits_on_the_cluster_equal_the_local_run(dask_backend, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    write_crystal_folder(folder, n=30, seed=2)
    settings = dict(data=folder, target="y", cv=3, models=["rf-magpie", "hybrid-light"], folds=[1], quick=True,
                    progress=False)
    local = run_benchmark(out=tmp_path / "local", **settings).sort_values(["model", "fold"])
    with dask_backend():
        remote = run_benchmark(out=tmp_path / "dask", n_jobs=2, **settings).sort_values(["model", "fold"])
    np.testing.assert_array_equal(remote["mae"].to_numpy(), local["mae"].to_numpy())
    for name in ("rf-magpie", "hybrid-light"):
        a = (tmp_path / "local" / "predictions" / f"{name}__fold1.csv").read_text()
        assert (tmp_path / "dask" / "predictions" / f"{name}__fold1.csv").read_text() == a
