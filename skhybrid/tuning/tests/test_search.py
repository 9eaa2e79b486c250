import os
import sqlite3
import subprocess
import sys
import textwrap
import time

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import optuna  # noqa: E402
import pytest  # noqa: E402
from optuna.distributions import FloatDistribution  # noqa: E402
from optuna.trial import TrialState  # noqa: E402
from sklearn.ensemble import RandomForestRegressor  # noqa: E402
from sklearn.linear_model import Ridge  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import Pipeline, make_pipeline  # noqa: E402

from skhybrid import MagpieFeaturizer, StructureGraphizer  # noqa: E402
from skhybrid.fusion import (  # noqa: E402
    EarlyFusionRegressor,
    LateFusionRegressor,
    StackingFusionRegressor,
)
from skhybrid.models import ALIGNNRegressor, CGCNNRegressor, MEGNetRegressor  # noqa: E402
from skhybrid.tuning import (  # noqa: E402
    HybridSearchCV,
    SimplexWeights,
    check_search_space,
    default_search_space,
)
from skhybrid.tuning._storage import mask_password  # noqa: E402
from skhybrid.utils._testing import synthetic_crystals

N = 40
TINY = dict(max_epochs=3, batch_size=16, random_state=0)

# the worker used by the subprocess tests: a Magpie + ridge search through a storage URL
WORKER = textwrap.dedent("""
    import sys, time
    from optuna.distributions import FloatDistribution
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from skhybrid import MagpieFeaturizer, load_matbench
    from skhybrid.tuning import HybridSearchCV

    class SlowRidge(Ridge):
        def fit(self, X, y):
            time.sleep(float(sys.argv[4]))
            return super().fit(X, y)

    storage, name, n_trials = sys.argv[1], sys.argv[2], int(sys.argv[3])
    data = load_matbench("matbench_phonons")
    X, y = data.structures[:40], data.targets.iloc[:40, 0].to_numpy()
    search = HybridSearchCV(make_pipeline(MagpieFeaturizer(), SlowRidge()),
                            {"slowridge__alpha": FloatDistribution(1e-3, 1e3, log=True)},
                            n_trials=n_trials, cv=2, storage=storage, study_name=name, refit=False)
    search.fit(X, y)
    print("ran", len(search.trials_run_), flush=True)
""")


@pytest.fixture(scope="module")
def structures():
    return synthetic_crystals(N, seed=0)[0]


@pytest.fixture(scope="module")
def target():
    return synthetic_crystals(N, seed=0)[1]


def ridge_pipeline():
    return make_pipeline(MagpieFeaturizer(), Ridge())


def ridge_space():
    return {"ridge__alpha": FloatDistribution(1e-3, 1e3, log=True)}


def _worker(data_home, storage, name, n_trials, sleep=0.0):
    env = {**os.environ, "SKHYBRID_DATA_DIR": str(data_home)}
    return subprocess.Popen([sys.executable, "-c", WORKER, storage, name, str(n_trials), str(sleep)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


# --- search spaces ------------------------------------------------------------------------------


def every_estimator():
    """One of each, with default settings (never fitted)."""
    rf = make_pipeline(MagpieFeaturizer(), RandomForestRegressor())
    return {
        "cgcnn": Pipeline([("graph", StructureGraphizer()), ("gnn", CGCNNRegressor())]),
        "alignn": Pipeline([("graph", StructureGraphizer(line_graph=True)), ("gnn", ALIGNNRegressor())]),
        "megnet": Pipeline([("graph", StructureGraphizer()), ("gnn", MEGNetRegressor())]),
        "early": Pipeline([("graph", StructureGraphizer(global_features=MagpieFeaturizer())),
                           ("fusion", EarlyFusionRegressor("alignn", "attention"))]),
        "late": LateFusionRegressor([("rf", rf), ("cgcnn", Pipeline([("graph", StructureGraphizer()),
                                                                     ("gnn", CGCNNRegressor())]))]),
        "stacking": StackingFusionRegressor([("rf", rf), ("ridge", ridge_pipeline())]),
    }


@pytest.mark.parametrize("name", list(every_estimator()))
def test_default_search_space_is_valid_for_every_estimator(name):
    estimator = every_estimator()[name]
    space = default_search_space(estimator)
    check_search_space(estimator, space)
    expected = {
        "cgcnn": {"gnn__lr", "gnn__weight_decay", "gnn__batch_size", "gnn__module__hidden_channels",
                  "gnn__module__num_layers", "graph__cutoff", "graph__max_neighbors"},
        "alignn": {"gnn__module__num_alignn_layers", "gnn__module__num_gcn_layers"},
        "megnet": {"gnn__module__hidden_channels", "gnn__module__num_layers"},
        "early": {"fusion__module__fusion_channels", "fusion__module__dropout", "fusion__module__num_alignn_layers"},
        "late": {"weights", "rf__randomforestregressor__n_estimators", "rf__randomforestregressor__max_features",
                 "cgcnn__gnn__lr", "cgcnn__graph__cutoff"},
        "stacking": {"rf__randomforestregressor__min_samples_leaf"},
    }[name]
    assert expected <= set(space)
    if name == "late":
        assert space["weights"] == SimplexWeights(2)
    # every key is settable
    estimator.set_params(**{key: (dist.choices[0] if hasattr(dist, "choices") else
                                  [0.5, 0.5] if isinstance(dist, SimplexWeights) else dist.low)
                            for key, dist in space.items()})


def test_unknown_search_space_key_lists_the_valid_keys(structures, target):
    with pytest.raises(ValueError, match=r"'ridge__alphaa' is not a parameter of Pipeline; valid keys: .*ridge__alpha"):
        HybridSearchCV(ridge_pipeline(), {"ridge__alphaa": FloatDistribution(0.1, 1)}).fit(structures, target)
    with pytest.raises(ValueError, match="must be an optuna distribution"):
        HybridSearchCV(ridge_pipeline(), {"ridge__alpha": [0.1, 1]}).fit(structures, target)


def test_unreachable_storage_names_the_url_with_the_password_masked(structures, target):
    url = "postgresql+psycopg2://bob:s3cret@127.0.0.1:1/nowhere"
    start = time.perf_counter()
    with pytest.raises(ValueError) as info:
        HybridSearchCV(ridge_pipeline(), ridge_space(), storage=url).fit(structures, target)
    message = str(info.value)
    assert "postgresql+psycopg2://bob:***@127.0.0.1:1/nowhere" in message and "s3cret" not in message
    assert time.perf_counter() - start < 30
    assert mask_password("sqlite:///study.db") == "sqlite:///study.db"


# --- searching ----------------------------------------------------------------------------------


def test_search_finds_refits_and_reports(structures, target, tmp_path):
    search = HybridSearchCV(ridge_pipeline(), ridge_space(), n_trials=6, cv=3, random_state=0).fit(structures,
                                                                                                    target)
    assert search.n_trials_ == 6 and len(search.trials_run_) == 6
    best = search.best_params_["ridge__alpha"]
    assert search.best_estimator_.named_steps["ridge"].alpha == best
    table = search.trials_table()
    assert len(table) == 6 and set(table["state"]) == {"COMPLETE"}
    assert table["mean_test_score"].max() == pytest.approx(search.best_score_)
    np.testing.assert_allclose(search.predict(structures[:3]), search.best_estimator_.predict(structures[:3]))
    paths = search.save_plots(tmp_path)
    assert [p.name.rsplit("_", 2)[-2:] for p in paths] == [["optimization", "history.png"],
                                                           ["param", "importances.png"]]
    assert all(p.stat().st_size > 1000 for p in paths)
    # same seed, same trials
    again = HybridSearchCV(ridge_pipeline(), ridge_space(), n_trials=6, cv=3, random_state=0).fit(structures, target)
    assert again.best_params_ == search.best_params_
    np.testing.assert_array_equal(again.trials_table()["mean_test_score"], table["mean_test_score"])


def test_first_trial_is_the_current_configuration(structures, target):
    search = HybridSearchCV(ridge_pipeline(), ridge_space(), n_trials=3, cv=2, random_state=0).fit(structures, target)
    assert search.study_.trials[0].params == {"ridge__alpha": 1.0}
    assert search.best_score_ >= search.study_.trials[0].value
    pipe = Pipeline([("graph", StructureGraphizer()), ("gnn", CGCNNRegressor(lr=3e-3))])
    current = HybridSearchCV(pipe, default_search_space(pipe))._current_values(default_search_space(pipe))
    assert current == {"graph__cutoff": 8.0, "graph__max_neighbors": 12, "gnn__lr": 3e-3, "gnn__weight_decay": 0.0,
                       "gnn__batch_size": 64, "gnn__module__hidden_channels": 64, "gnn__module__num_layers": 3}
    # every estimator's defaults are a point of its default space
    for name, estimator in every_estimator().items():
        space = default_search_space(estimator)
        assert HybridSearchCV(estimator, space)._current_values(space) is not None, name
    out_of_range = HybridSearchCV(ridge_pipeline(), {"ridge__alpha": FloatDistribution(10, 100)}, n_trials=2, cv=2)
    assert out_of_range.fit(structures, target).study_.trials[0].params["ridge__alpha"] != 1.0


def test_late_fusion_weights_are_tuned_as_a_simplex(structures, target):
    late = LateFusionRegressor([("rf", make_pipeline(MagpieFeaturizer(), RandomForestRegressor(10, random_state=0))),
                                ("ridge", ridge_pipeline())])
    search = HybridSearchCV(late, {"weights": SimplexWeights(2)}, n_trials=4, cv=2, random_state=0)
    search.fit(structures, target)
    weights = search.best_params_["weights"]
    assert len(weights) == 2 and min(weights) >= 0 and sum(weights) == pytest.approx(1)
    np.testing.assert_allclose(search.best_estimator_.weights_, weights)


def test_pruning_stops_unpromising_gnn_trials(structures, target):
    pipe = Pipeline([("graph", StructureGraphizer()),
                     ("gnn", CGCNNRegressor(max_epochs=15, batch_size=16, random_state=0, lr_schedule="constant",
                                            module__hidden_channels=8, module__head_channels=(8,)))])
    search = HybridSearchCV(pipe, {"gnn__lr": FloatDistribution(1e-7, 3e-2, log=True)}, n_trials=10, cv=2,
                            random_state=0, pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=2))
    search.fit(structures, target)
    table = search.trials_table()
    assert (table["state"] == "PRUNED").sum() > 0
    assert (table["state"] == "COMPLETE").sum() >= 2
    # pruning saves work: pruned trials stop before the last epoch of their last fold
    assert (table.loc[table["state"] == "PRUNED", "last_step"] < 100_000 + 15).any()
    # the callback is gone from the refit model
    assert search.best_estimator_.named_steps["gnn"].callbacks is None


def test_sqlite_study_resumes_after_a_killed_worker(tmp_path, data_home, structures, target):
    db = tmp_path / "study.db"
    url = f"sqlite:///{db}"
    worker = _worker(data_home, url, "resume", 40, sleep=0.15)
    deadline = time.time() + 120
    finished = 0
    while time.time() < deadline and finished < 3:
        time.sleep(0.5)
        if db.exists():
            try:
                with sqlite3.connect(db) as connection:
                    finished = connection.execute("SELECT COUNT(*) FROM trials WHERE state = 'COMPLETE'").fetchone()[0]
            except sqlite3.OperationalError:
                pass
    worker.kill()
    worker.wait()
    assert finished >= 3, worker.stderr.read()
    before = optuna.load_study(study_name="resume", storage=url)
    done_before = {t.number: t.params for t in before.trials if t.state == TrialState.COMPLETE}
    assert len(done_before) < 40  # killed mid-study
    total = len(done_before) + 3
    search = HybridSearchCV(ridge_pipeline(), {"ridge__alpha": FloatDistribution(1e-3, 1e3, log=True)},
                            n_trials=total, cv=2, storage=url, study_name="resume", refit=False)
    search.fit(structures, target)
    after = {t.number: t for t in search.study_.trials}
    assert len(search.trials_run_) == 3
    assert sum(t.state == TrialState.COMPLETE for t in after.values()) == total
    for number, params in done_before.items():  # nothing finished was lost or redone
        assert after[number].state == TrialState.COMPLETE and after[number].params == params
    assert min(search.trials_run_) > max(done_before)
    # run again: the study is complete, nothing more runs
    assert HybridSearchCV(ridge_pipeline(), ridge_space(), n_trials=total, cv=2, storage=url, study_name="resume",
                          refit=False).fit(structures, target).trials_run_ == []


def test_two_workers_share_one_postgresql_study(postgres_url, data_home):
    workers = [_worker(data_home, postgres_url, "shared", 16, sleep=0.05) for _ in range(2)]
    outputs = [w.communicate(timeout=300) for w in workers]
    for worker, (out, err) in zip(workers, outputs):
        assert worker.returncode == 0, err
    ran = [int(out.split()[-1]) for out, _ in outputs]
    assert all(n > 0 for n in ran), ran  # both workers did trials
    study = optuna.load_study(study_name="shared", storage=postgres_url)
    numbers = [t.number for t in study.trials]
    assert len(numbers) == len(set(numbers)) == sum(ran)  # every trial recorded once
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert 16 <= len(complete) <= 17  # the two may both start the 16th
    assert all("mean_test_score" in t.user_attrs for t in complete)


# --- GridSearchCV keeps working -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["cgcnn", "alignn", "megnet", "early", "late", "stacking"])
def test_grid_search_on_every_estimator(name, structures, target):
    small = dict(module__hidden_channels=8)
    gnn_grid = {"gnn__lr": [1e-3, 3e-3]}
    cases = {
        "cgcnn": (Pipeline([("graph", StructureGraphizer()), ("gnn", CGCNNRegressor(**TINY, **small))]), gnn_grid),
        "alignn": (Pipeline([("graph", StructureGraphizer(line_graph=True)),
                             ("gnn", ALIGNNRegressor(**TINY, **small, module__num_alignn_layers=1,
                                                     module__num_gcn_layers=1))]), gnn_grid),
        "megnet": (Pipeline([("graph", StructureGraphizer()), ("gnn", MEGNetRegressor(**TINY, module__hidden_channels=8))]),
                   gnn_grid),
        "early": (Pipeline([("graph", StructureGraphizer(global_features=MagpieFeaturizer())),
                            ("gnn", EarlyFusionRegressor(**TINY, **small))]), {"gnn__fusion": ["concat", "attention"]}),
        "late": (LateFusionRegressor([("rf", make_pipeline(MagpieFeaturizer(), RandomForestRegressor(10))),
                                      ("ridge", ridge_pipeline())]), {"weights": [[1, 0], [0.5, 0.5]]}),
        "stacking": (StackingFusionRegressor([("ridge", ridge_pipeline())], cv=2),
                     {"ridge__ridge__alpha": [0.1, 10.0]}),
    }
    estimator, grid = cases[name]
    search = GridSearchCV(estimator, grid, cv=2, scoring="neg_mean_absolute_error").fit(structures, target)
    assert len(search.cv_results_["params"]) == 2
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.predict(structures[:3]).shape == (3,)
