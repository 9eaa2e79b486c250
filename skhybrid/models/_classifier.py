"""GraphClassifier: the graph networks with a logistic output, and their scikit-learn classifier contract."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._base import GraphEstimator, GraphRegressor, extend_signature
from ._classification_loss import WeightedLogLoss

__all__ = ["GraphClassifier"]


class GraphClassifier(ClassifierMixin, GraphEstimator):
    """Train a graph network to classify crystals, the scikit-learn way.

    The network of :class:`GraphRegressor` with a logistic output: one logit
    for two classes (binary cross-entropy), one per class for more (softmax
    cross-entropy). ``classes_`` holds the labels in sorted order;
    ``predict_proba`` gives their probabilities, ``decision_function`` the
    logits, ``predict`` the most probable label. Everything else (``module__``
    parameters, batches, schedules, the validation split for early stopping,
    which watches the validation log loss, seeding, devices, Ctrl-C) is
    :class:`GraphRegressor`'s, whose parameters it takes.

    Parameters
    ----------
    module : torch.nn.Module class, default=None
        The network; ``None`` uses the subclass's (e.g. :class:`~skhybrid.nn.CGCNN`).
    loss : {"log_loss"}, default="log_loss"
        Training loss.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, as in scikit-learn: ``{label:
        weight}``, or ``"balanced"`` for ``n_samples / (n_classes *
        count(label))``; ``None`` weighs every sample equally.
    **kwargs
        The other parameters of :class:`GraphRegressor` (``max_epochs``,
        ``batch_size``, ``lr``, ``lr_schedule``, ``validation_fraction``,
        ``random_state``, ``module__*``, ...), listed above; ``task_weights``
        must stay ``None``: a classifier has one target.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    class_weight_ : ndarray of shape (n_classes,)
        The weight of each class in the loss.
    net_ : skorch.NeuralNet
    best_epoch_ : int

    Examples
    --------
    >>> from pymatgen.core import Lattice, Structure
    >>> from sklearn.pipeline import make_pipeline
    >>> from skhybrid import StructureGraphizer
    >>> from skhybrid.models import CGCNNClassifier
    >>> structures = [Structure.from_spacegroup("Fm-3m", Lattice.cubic(a), ["Na", "Cl"],
    ...                                         [[0, 0, 0], [0.5, 0.5, 0.5]]) for a in (5.4, 5.6, 5.8, 6.0)]
    >>> model = make_pipeline(StructureGraphizer(),
    ...                       CGCNNClassifier(max_epochs=3, validation_fraction=0, random_state=0,
    ...                                       module__hidden_channels=16))
    >>> model.fit(structures, ["small", "small", "large", "large"]).predict_proba(structures).shape
    (4, 2)
    """

    _parameter_constraints: dict = {
        **GraphEstimator._parameter_constraints,
        "loss": [StrOptions({"log_loss"})],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(self, module=None, *, loss="log_loss", class_weight=None, **kwargs):
        super().__init__(module, loss=loss, **kwargs)
        self.class_weight = class_weight

    # the signature scikit-learn reads: GraphRegressor's, with this loss default and class_weight added
    __init__.__signature__ = extend_signature(GraphEstimator.__init__, before="task_weights",
                                              defaults={"loss": "log_loss"}, class_weight=None)

    def _encode_targets(self, y, n_samples):
        if self.task_weights is not None:
            raise ValueError(f"{type(self).__name__} has one target; task_weights must be None, got "
                             f"{self.task_weights!r}.")
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        y = column_or_1d(y, warn=True)
        if len(y) != n_samples:
            raise ValueError(f"X has {n_samples} samples but y has {len(y)}.")
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 classes in y; it has 1 class, "
                             f"{self.classes_.tolist()}.")
        if isinstance(self.class_weight, dict):
            unknown = sorted(set(self.class_weight) - set(self.classes_.tolist()), key=str)
            if unknown:
                raise ValueError(f"class_weight names label(s) {unknown} that are not in y; the classes are "
                                 f"{self.classes_.tolist()}.")
        self.class_weight_ = compute_class_weight(self.class_weight, classes=self.classes_, y=y)
        return torch.as_tensor(encoder.transform(y), dtype=torch.float32)[:, None]

    def _n_outputs(self):
        return 1 if len(self.classes_) == 2 else len(self.classes_)

    def _criterion_params(self):
        return dict(criterion=WeightedLogLoss, criterion__n_classes=len(self.classes_),
                    criterion__class_weights=self.class_weight_.tolist())

    def decision_function(self, X):
        """The network's logits: of the second class for two classes, of every class for more.

        Parameters
        ----------
        X : list of CrystalGraph

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        logits = self._forward(X, "forward")
        return logits[:, 0] if len(self.classes_) == 2 else logits

    def predict_proba(self, X):
        """Class probabilities, columns in ``classes_`` order.

        Parameters
        ----------
        X : list of CrystalGraph

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self, "net_")
        scores = self.decision_function(X)
        if len(self.classes_) == 2:
            positive = 1.0 / (1.0 + np.exp(-scores))
            return np.column_stack([1.0 - positive, positive])
        scores = scores - scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        """Logarithms of :meth:`predict_proba`.

        Parameters
        ----------
        X : list of CrystalGraph

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """The most probable class of each sample.

        Parameters
        ----------
        X : list of CrystalGraph

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


# GraphClassifier takes GraphRegressor's parameters; its docstring lists them the same way
_shared = GraphRegressor.__doc__
if GraphClassifier.__doc__ is not None and _shared is not None:
    _inherited = _shared[_shared.index("    task_weights :"):_shared.index("    **kwargs\n")]
    GraphClassifier.__doc__ = GraphClassifier.__doc__.replace("    **kwargs\n        The other", _inherited +
                                                              "    **kwargs\n        The other", 1)
