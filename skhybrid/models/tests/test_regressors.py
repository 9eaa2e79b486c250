import re
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.ensemble import RandomForestRegressor, StackingRegressor, VotingRegressor
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import GridSearchCV, KFold, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import (
    check_estimator_cloneable,
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_set_params,
)
from skorch.callbacks import Callback

from skhybrid import MagpieFeaturizer, StructureGraphizer
from skhybrid.models import (
    ALIGNNRegressor,
    CGCNNRegressor,
    GraphRegressor,
    MaskedMultiTaskLoss,
    MEGNetRegressor,
)
from skhybrid.utils._testing import synthetic_crystals

N_SAMPLES = 48
# small and fast: a few seconds per fit on two cores
FAST = dict(max_epochs=4, batch_size=16, random_state=0)
SMALL_MODULE = {
    CGCNNRegressor: dict(module__hidden_channels=16, module__head_channels=(16,)),
    ALIGNNRegressor: dict(module__hidden_channels=16, module__embedding_channels=8, module__num_alignn_layers=1,
                          module__num_gcn_layers=1),
    MEGNetRegressor: dict(module__hidden_channels=8, module__dense_channels=16),
}
ESTIMATORS = list(SMALL_MODULE)


def small(cls, **params):
    return cls(**{**FAST, **SMALL_MODULE[cls], **params})


@pytest.fixture(scope="module")
def structures():
    return synthetic_crystals(N_SAMPLES, seed=0)[0]


@pytest.fixture(scope="module")
def target():
    return synthetic_crystals(N_SAMPLES, seed=0)[1]


@pytest.fixture(scope="module")
def graphs(structures):
    """Graphs with everything: line graph and a Magpie global state."""
    graphizer = StructureGraphizer(line_graph=True, global_features=MagpieFeaturizer())
    return graphizer.fit_transform(structures)


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize(
    "check",
    [check_no_attributes_set_in_init, check_estimator_cloneable, check_get_params_invariance, check_set_params],
)
def test_sklearn_data_free_checks(cls, check):
    check(cls.__name__, cls())


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_fit_predict_shapes_and_learning(cls, graphs, target):
    """One target: 1-D predictions in the target's units, better than the mean after training."""
    model = small(cls, max_epochs=30, validation_fraction=0, lr=3e-3).fit(graphs, target)
    pred = model.predict(graphs)
    assert pred.shape == (N_SAMPLES,) and np.isfinite(pred).all()
    assert model.n_targets_ == 1 and model.best_epoch_ == 30
    mean_error = np.abs(target - target.mean()).mean()
    assert np.abs(pred - target).mean() < 0.8 * mean_error


def test_same_random_state_gives_identical_predictions(graphs, target):
    first = small(CGCNNRegressor).fit(graphs, target).predict(graphs)
    again = small(CGCNNRegressor).fit(graphs, target).predict(graphs)
    other = small(CGCNNRegressor, random_state=1).fit(graphs, target).predict(graphs)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


def test_fit_leaves_the_global_torch_rng_alone(graphs, target):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    small(CGCNNRegressor).fit(graphs, target)
    torch.testing.assert_close(torch.rand(3), expected)


def test_module_parameters_through_get_set_params_and_clone(graphs, target):
    model = CGCNNRegressor(module__hidden_channels=8, optimizer__betas=(0.8, 0.9))
    assert model.get_params()["module__hidden_channels"] == 8
    model.set_params(module__hidden_channels=12, module__num_layers=2, lr=0.01)
    cloned = clone(model)
    assert cloned.get_params()["module__hidden_channels"] == 12 and cloned.lr == 0.01
    cloned.set_params(max_epochs=1, batch_size=16).fit(graphs, target)
    convs = cloned.net_.module_.convs
    assert len(convs) == 2 and convs[0].channels == 12
    assert cloned.net_.optimizer_.param_groups[0]["betas"] == (0.8, 0.9)


def test_bad_parameters_are_named():
    with pytest.raises(TypeError, match="hidden_channels"):
        CGCNNRegressor(hidden_channels=8)
    with pytest.raises(ValueError, match=r"module__width: CGCNN has no parameter 'width'.*hidden_channels"):
        CGCNNRegressor(module__width=3).fit([], [])
    with pytest.raises(ValueError, match="module__n_targets is set from the training data"):
        CGCNNRegressor(module__n_targets=3).fit([], [])
    with pytest.raises(ValueError, match="loss"):
        CGCNNRegressor(loss="l3").fit([], [])


def test_raw_structures_get_a_clear_error(structures, target):
    with pytest.raises(ValueError, match=r"X\[0\] is a Structure.*StructureGraphizer"):
        CGCNNRegressor().fit(structures, target)


def test_graphs_with_other_feature_sizes_are_rejected(graphs, structures, target):
    model = small(CGCNNRegressor, max_epochs=1).fit(graphs, target)
    other = StructureGraphizer(n_gaussians=20).fit_transform(structures[:3])
    with pytest.raises(ValueError, match="20 edge.*41 edge"):
        model.predict(other)
    mixed = list(graphs[:3]) + other[:1]
    with pytest.raises(ValueError, match=r"X\[3\] has .*20 edge.*X\[0\]"):
        small(CGCNNRegressor).fit(mixed, target[:4])


def test_alignn_without_line_graph_says_how_to_fix(structures, target):
    plain = StructureGraphizer().fit_transform(structures[:4])
    with pytest.raises(ValueError, match=r"X\[0\] has no lg_edge_index.*line_graph=True"):
        small(ALIGNNRegressor).fit(plain, target[:4])


def test_bad_targets_are_named(graphs, target):
    y = target.copy()
    y[[3, 7]] = np.inf
    with pytest.raises(ValueError, match=r"infinite values in rows \[3, 7\]"):
        small(CGCNNRegressor).fit(graphs, y)
    with pytest.raises(ValueError, match="X has 48 samples but y has 47"):
        small(CGCNNRegressor).fit(graphs, target[:-1])
    with pytest.raises(ValueError, match=r"column\(s\) \[1\] have no label"):
        small(CGCNNRegressor).fit(graphs, np.c_[target, np.full(N_SAMPLES, np.nan)])
    with pytest.raises(ValueError, match="task_weights has 3 entries but y has 1"):
        small(CGCNNRegressor, task_weights=[1, 1, 1]).fit(graphs, target)


def test_non_finite_global_features_are_named(graphs, target):
    broken = [g.clone() for g in graphs]
    broken[5].u[0, 3] = float("nan")
    with pytest.raises(ValueError, match=r"X\[5\] have non-finite global features"):
        small(MEGNetRegressor).fit(broken, target)


class _DivergingModule(torch.nn.Module):
    input_fields = ("x", "edge_index", "edge_attr")

    def __init__(self, n_node_features, n_edge_features, n_targets=1, **sizes):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(1))

    def forward(self, data):
        return (self.weight * float("nan")).expand(data.num_graphs, 1)


def test_divergent_loss_stops_training_with_an_error(graphs, target):
    model = GraphRegressor(module=_DivergingModule, max_epochs=3, batch_size=16)
    with pytest.raises(FloatingPointError, match=r"loss is nan in epoch 1, batch 1 .*Lower lr"):
        model.fit(graphs, target)


def test_multi_output_with_missing_labels(graphs, target):
    """Two targets labelled on different samples train together; predictions come back 2-D in units."""
    y = np.c_[target, 1000.0 + 2 * target]
    y[:20, 0] = np.nan
    y[30:, 1] = np.nan
    model = small(MEGNetRegressor, max_epochs=25, validation_fraction=0, lr=3e-3).fit(graphs, y)
    pred = model.predict(graphs)
    assert pred.shape == (N_SAMPLES, 2) and np.isfinite(pred).all()
    np.testing.assert_allclose(model.target_mean_, np.nanmean(y, axis=0))
    # predictions of the second target sit on its scale, far from the first
    assert np.abs(pred[:, 1] - 1000 - 2 * target).mean() < np.abs(pred[:, 0] - 1000 - 2 * target).mean()


def test_masked_loss_ignores_missing_labels():
    loss = MaskedMultiTaskLoss(2, loss="mse")
    pred = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    true = torch.tensor([[0.0, float("nan")], [float("nan"), 4.0], [5.0, 8.0]])
    # task 0: rows 0, 2 -> (1 + 0) / 2; task 1: rows 1, 2 -> (0 + 4) / 2
    torch.testing.assert_close(loss(pred, true), torch.tensor(0.5 + 2.0))
    weighted = MaskedMultiTaskLoss(2, loss="mae", task_weights=[3.0, 1.0])
    # weights normalised to sum to 2: 1.5 and 0.5; MAEs 0.5 and 1.0
    torch.testing.assert_close(weighted(pred, true), torch.tensor(1.5 * 0.5 + 0.5 * 1.0))
    only_nan = torch.full((3, 2), float("nan"))
    assert loss(pred, only_nan).item() == 0.0


def test_uncertainty_weighting_learns_task_weights(graphs, target):
    y = np.c_[target, target[::-1]]
    model = small(CGCNNRegressor, task_weights="uncertainty", max_epochs=5).fit(graphs, y)
    log_variance = model.net_.criterion_.log_variance.detach()
    assert log_variance.shape == (2,) and not torch.equal(log_variance, torch.zeros(2))


def test_early_stopping_restores_the_best_weights(graphs, target):
    model = small(CGCNNRegressor, max_epochs=40, patience=3, lr=0.05, validation_fraction=0.25).fit(graphs, target)
    history = model.net_.history
    valid = history[:, "valid_loss"]
    assert model.best_epoch_ == int(np.argmin(valid)) + 1
    assert len(history) <= max(model.best_epoch_ + 3, 40)
    # recompute the validation loss with the kept weights: it is the best epoch's
    scaled = torch.as_tensor(((target - model.target_mean_) / model.target_scale_)[:, None], dtype=torch.float32)
    dataset = model._dataset(graphs, scaled, model._input_fields(model.net_.module_))
    _, valid_set = model.net_.get_split_datasets(dataset, None)
    indices = valid_set.indices
    pred = (model.predict([graphs[i] for i in indices]) - model.target_mean_[0]) / model.target_scale_[0]
    observed = np.abs(pred - (target[indices] - model.target_mean_[0]) / model.target_scale_[0]).mean()
    assert observed == pytest.approx(min(valid), rel=0.05)


def test_validation_smoothing_drives_early_stopping(graphs, target):
    model = small(CGCNNRegressor, max_epochs=30, patience=4, lr=0.05, validation_fraction=0.25,
                  validation_smoothing=0.6).fit(graphs, target)
    history = model.net_.history
    raw, smooth = history[:, "valid_loss"], history[:, "valid_loss_smooth"]
    expected = [raw[0]]
    for value in raw[1:]:
        expected.append(0.6 * expected[-1] + 0.4 * value)
    np.testing.assert_allclose(smooth, expected, rtol=1e-6)
    # stopping and the kept epoch follow the smoothed curve, not the raw one
    assert model.best_epoch_ == int(np.argmin(smooth)) + 1
    if len(history) < 30:
        assert len(history) == model.best_epoch_ + 4
    with pytest.raises(ValueError, match="validation_smoothing"):
        small(CGCNNRegressor, validation_smoothing=1.0).fit(graphs, target)


def test_verbose_controls_the_epoch_table(graphs, target, capsys):
    small(CGCNNRegressor, max_epochs=2, verbose=0).fit(graphs, target)
    assert capsys.readouterr().out == ""
    small(CGCNNRegressor, max_epochs=2, verbose=1).fit(graphs, target)
    out = capsys.readouterr().out
    assert "epoch" in out and "valid_loss" in out and len(re.findall(r"^\s+\d+\s", out, re.M)) == 2


def test_predict_batch_size_does_not_change_predictions(graphs, target):
    model = small(ALIGNNRegressor).fit(graphs, target)
    full = model.predict(graphs)
    model.batch_size = 5
    np.testing.assert_allclose(model.predict(graphs), full, rtol=1e-5)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_joblib_round_trip(cls, graphs, target, tmp_path):
    model = small(cls).fit(graphs, target)
    joblib.dump(model, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(loaded.predict(graphs), model.predict(graphs))


def test_model_saved_for_cuda_loads_on_cpu(graphs, target, tmp_path):
    """A model whose net says CUDA (as one trained on a GPU) loads and predicts here, on the CPU."""
    model = small(CGCNNRegressor).fit(graphs, target)
    expected = model.predict(graphs)
    model.net_.device = "cuda"
    joblib.dump(model, tmp_path / "model.joblib")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = joblib.load(tmp_path / "model.joblib")
    if not torch.cuda.is_available():
        assert str(loaded.net_.device) == "cpu"
    np.testing.assert_allclose(loaded.predict(graphs), expected, rtol=1e-6)


def test_pipeline_cross_val_predict_and_grid_search_on_structures(structures, target):
    pipe = Pipeline([("graph", StructureGraphizer()), ("gnn", small(CGCNNRegressor, max_epochs=2))])
    pred = cross_val_predict(pipe, structures, target, cv=KFold(3, shuffle=True, random_state=0))
    assert pred.shape == (N_SAMPLES,) and np.isfinite(pred).all()
    search = GridSearchCV(pipe, {"gnn__module__hidden_channels": [8, 16], "graph__max_neighbors": [8, 12]},
                          cv=2, scoring="neg_mean_absolute_error")
    search.fit(structures, target)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_estimator_.predict(structures[:3]).shape == (3,)


def test_stacking_regressor_with_graph_and_composition_pipelines(structures, target):
    stack = StackingRegressor(
        [
            ("cgcnn", Pipeline([("graph", StructureGraphizer()), ("gnn", small(CGCNNRegressor, max_epochs=2))])),
            ("magpie_rf", Pipeline([("magpie", MagpieFeaturizer()),
                                    ("rf", RandomForestRegressor(20, random_state=0))])),
        ],
        final_estimator=RidgeCV(),
        cv=3,
    )
    stack.fit(structures, target)
    assert stack.predict(structures[:5]).shape == (5,)
    assert stack.final_estimator_.coef_.shape == (2,)


def test_seed_ensemble_with_voting_regressor(structures, target):
    """The documented way to average seeds: members differ, the ensemble predicts their mean."""
    members = [(f"seed{seed}", Pipeline([("graph", StructureGraphizer(global_features=MagpieFeaturizer())),
                                         ("gnn", small(MEGNetRegressor, random_state=seed))]))
               for seed in range(3)]
    ensemble = VotingRegressor(members).fit(structures, target)
    per_member = np.stack([member.predict(structures[:6]) for member in ensemble.estimators_])
    assert not np.allclose(per_member[0], per_member[1])
    np.testing.assert_allclose(ensemble.predict(structures[:6]), per_member.mean(axis=0), rtol=1e-6)


class _InterruptAt(Callback):
    """Stands in for Ctrl-C at the end of an epoch."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise KeyboardInterrupt


def test_interrupted_fit_keeps_the_best_weights_so_far(graphs, target):
    model = small(CGCNNRegressor, max_epochs=50, callbacks=[("interrupt", _InterruptAt(3))])
    model.fit(graphs, target)
    assert len(model.net_.history) == 3
    assert 1 <= model.best_epoch_ <= 3
    assert np.isfinite(model.predict(graphs)).all()
