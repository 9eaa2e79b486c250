"""The model catalogue: every entry builds, clones and has a valid search space; the newest network trains."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone

from skhybrid.catalogue import CATALOGUE, DEFAULT_BENCHMARK, build, check_model_names, search_space
from skhybrid.tuning import check_search_space
from skhybrid.utils._testing import synthetic_crystals


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_every_entry_builds_clones_and_has_a_valid_search_space(name):
    entry = CATALOGUE[name]
    assert entry.name == name and len(entry.description) > 20
    model = build(name, seed=3, quick=True, device="cpu")
    copy = clone(model)
    assert type(copy) is type(model)
    seeds = {key: value for key, value in model.get_params(deep=True).items() if key.endswith("random_state")}
    assert all(value == 3 for value in seeds.values()), seeds
    devices = {key: value for key, value in model.get_params(deep=True).items() if key.endswith("__device")}
    assert all(value == "cpu" for value in devices.values())
    # --checkpoints reaches every graph network (and nothing else)
    saved = build(name, quick=True, checkpoint_dir="ckpt").get_params(deep=True)
    networks = {key[:-len("device")] for key, value in saved.items()
                if key.endswith("device") and f"{key[:-len('device')]}checkpoint_dir" in saved}
    assert all(saved[f"{path}checkpoint_dir"] == "ckpt" for path in networks)
    assert not networks or not any(key.endswith("checkpoint_dir") and value is None for key, value in saved.items())
    space = search_space(name)
    if space:
        check_search_space(build(name), space)


def test_default_benchmark_starts_with_the_light_hybrid_and_names_are_checked():
    # the standalone cgcnn left the default run for time (issue #20); the hybrid still trains one inside it
    assert DEFAULT_BENCHMARK[0] == "hybrid-light" and set(DEFAULT_BENCHMARK) <= set(CATALOGUE)
    with pytest.raises(ValueError, match="Unknown model.*'schnett'.*Valid names"):
        check_model_names(["schnett"])
    with pytest.raises(ValueError, match="Model names repeat"):
        check_model_names(["dummy", "dummy"])


def test_schnet_the_example_of_a_new_network_trains_from_the_catalogue():
    from skhybrid.utils import torch_threads

    structures, y = synthetic_crystals(24, seed=5)
    # one thread: with two, torch's parallel sums may differ in the last digits from run to run
    with warnings.catch_warnings(), torch_threads(1):
        warnings.simplefilter("ignore")
        model = build("schnet", seed=0, quick=True).fit(structures, y)
        again = build("schnet", seed=0, quick=True).fit(structures, y)
    prediction = model.predict(structures)
    assert prediction.shape == (24,) and np.isfinite(prediction).all()
    np.testing.assert_array_equal(prediction, again.predict(structures))  # same seed, same predictions


def test_the_pretrained_state_hybrid_gives_both_parts_the_same_features():
    # hybrid-pretrained-state's design: the network's starting state is exactly the trees' feature vector
    hybrid = dict(build("hybrid-pretrained-state", seed=0, quick=True).estimators)
    trees_features = hybrid["descriptors"].named_steps["features"]
    network_state = hybrid["graph"].named_steps["graph"].global_features
    assert repr(network_state) == repr(trees_features)
    assert [name for name, _ in network_state.transformer_list] == ["magpie", "structure", "chgnet"]
    assert network_state.transformer_list[2][1].parts == ("restack",)


def test_the_keras_descriptor_state_hybrid_is_hybrid_keras_with_the_trees_features_as_state():
    # hybrid-keras-descriptor-state's design: hybrid-keras's network, unchanged but for its starting state,
    # which is exactly the trees' feature vector
    hybrid = dict(build("hybrid-keras-descriptor-state", seed=0, quick=True).estimators)
    keras = dict(build("hybrid-keras", seed=0, quick=True).estimators)
    graphizer, network = (step for _, step in hybrid["graph"].steps)
    assert repr(graphizer.global_features) == repr(hybrid["descriptors"].named_steps["features"])
    assert graphizer.set_params(global_features=None).get_params() == keras["graph"].steps[0][1].get_params()
    assert repr(network) == repr(keras["graph"].steps[1][1])


def test_the_cv5_hybrid_is_hybrid_descriptor_state_with_weights_and_committee_from_a_5_fold_split():
    # hybrid-descriptor-state-cv5's design: the same two parts, only the internal split differs; every training
    # sample is held out once (a 5-fold), so the network's committee has five members
    from skhybrid.fusion._bases import check_internal_cv

    cv5 = build("hybrid-descriptor-state-cv5", seed=0, quick=False)
    slices = build("hybrid-descriptor-state", seed=0, quick=False)
    assert repr(cv5.estimators) == repr(slices.estimators)
    assert (cv5.weights, cv5.refit, cv5.n_jobs, cv5.random_state) == ("oof", ["descriptors"], 2, 0)
    splits = list(check_internal_cv(cv5.cv, 509, cv5.random_state, "test").split(np.zeros((509, 1))))
    assert len(splits) == 5
    np.testing.assert_array_equal(np.sort(np.concatenate([test for _, test in splits])), np.arange(509))
    assert build("hybrid-descriptor-state-cv5", seed=0, quick=True).cv == 2  # quick: two folds
