"""Graph-network classifiers: the scikit-learn classifier contract on real crystal graphs."""

import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.pipeline import make_pipeline

from skhybrid import StructureGraphizer
from skhybrid.models import (
    ALIGNNClassifier,
    CGCNNClassifier,
    GraphClassifier,
    MEGNetClassifier,
    SchNetClassifier,
    WeightedLogLoss,
)
from skhybrid.nn import CGCNN
from skhybrid.utils._testing import synthetic_crystals


@pytest.fixture(scope="module")
def graphs_and_labels():
    structures, y = synthetic_crystals(48, seed=3)
    graphs = StructureGraphizer(max_neighbors=8).fit_transform(structures)
    labels = np.where(y > np.median(y), "large", "small")
    return graphs, labels, y


def _small(cls, **params):
    settings = dict(max_epochs=40, validation_fraction=0, random_state=0, module__hidden_channels=16)
    return cls(**{**settings, **params})


def test_binary_classifier_learns_and_keeps_the_contract(graphs_and_labels):
    graphs, labels, _ = graphs_and_labels
    model = _small(CGCNNClassifier).fit(graphs, labels)
    assert is_classifier(model) and list(model.classes_) == ["large", "small"]
    proba = model.predict_proba(graphs)
    assert proba.shape == (48, 2) and np.allclose(proba.sum(axis=1), 1)
    scores = model.decision_function(graphs)
    assert scores.shape == (48,)
    # the logit is the log-odds of classes_[1]
    assert np.allclose(1 / (1 + np.exp(-scores)), proba[:, 1])
    assert set(model.predict(graphs)) <= {"large", "small"}
    assert model.score(graphs, labels) > 0.75  # the training accuracy of a learnable rule
    assert np.allclose(np.exp(model.predict_log_proba(graphs)), proba)


def test_same_random_state_same_probabilities(graphs_and_labels):
    graphs, labels, _ = graphs_and_labels
    first = _small(CGCNNClassifier, max_epochs=5).fit(graphs, labels).predict_proba(graphs)
    again = _small(CGCNNClassifier, max_epochs=5).fit(graphs, labels).predict_proba(graphs)
    assert np.array_equal(first, again)


def test_three_classes_softmax(graphs_and_labels):
    graphs, _, y = graphs_and_labels
    labels = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    model = _small(CGCNNClassifier, max_epochs=10, class_weight="balanced").fit(graphs, labels)
    assert list(model.classes_) == [0, 1, 2]
    assert model.predict_proba(graphs).shape == (48, 3)
    assert model.decision_function(graphs).shape == (48, 3)
    assert np.allclose(model.class_weight_, 1.0, atol=0.1)  # balanced thirds


@pytest.mark.parametrize("cls, graphizer", [
    (ALIGNNClassifier, dict(line_graph=True, max_neighbors=8)),
    (MEGNetClassifier, dict(max_neighbors=8)),
    (SchNetClassifier, dict(cutoff=6.0, max_neighbors=None, atom_features="z")),
])
def test_every_network_has_a_classifier(cls, graphizer):
    structures, y = synthetic_crystals(12, seed=1)
    labels = y > np.median(y)
    model = make_pipeline(StructureGraphizer(**graphizer), cls(max_epochs=2, validation_fraction=0, random_state=0))
    assert model.fit(structures, labels).predict_proba(structures).shape == (12, 2)


def test_class_weight_weighs_the_loss():
    import torch

    loss = WeightedLogLoss(2, class_weights=[1.0, 3.0])
    target = torch.tensor([[0.0], [1.0]])
    assert float(loss(torch.zeros(2, 1), target)) == pytest.approx(np.log(2))  # equal losses: weights cancel
    logits = torch.tensor([[2.0], [2.0]])  # right on the positive, wrong on the negative
    unweighted = float(WeightedLogLoss(2)(logits, target))
    assert float(loss(logits, target)) < unweighted  # the well-predicted positive weighs more


def test_parameters_and_bad_input(graphs_and_labels):
    graphs, labels, _ = graphs_and_labels
    model = CGCNNClassifier(class_weight={"large": 2.0}, max_epochs=1)
    assert model.get_params()["loss"] == "log_loss" and model.get_params()["class_weight"] == {"large": 2.0}
    assert clone(model).get_params()["class_weight"] == {"large": 2.0}
    assert GraphClassifier(CGCNN).get_params()["module"] is CGCNN
    with pytest.raises(ValueError, match="2 classes"):
        _small(CGCNNClassifier).fit(graphs, ["small"] * len(graphs))
    with pytest.raises(ValueError, match="task_weights"):
        _small(CGCNNClassifier, task_weights=[1.0]).fit(graphs, labels)
    with pytest.raises(ValueError, match="'huge'"):
        _small(CGCNNClassifier, class_weight={"huge": 2.0}).fit(graphs, labels)
    with pytest.raises(ValueError, match="loss"):
        _small(CGCNNClassifier, loss="mae").fit(graphs, labels)
    with pytest.raises(ValueError, match="continuous"):
        _small(CGCNNClassifier).fit(graphs, np.linspace(0, 1, len(graphs)))
