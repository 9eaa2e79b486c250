"""The graph-network estimators: a module class each, everything else shared."""

from __future__ import annotations

from ..nn import ALIGNN, CGCNN, MEGNet, SchNet
from ._base import GraphRegressor

__all__ = ["ALIGNNRegressor", "CGCNNRegressor", "MEGNetRegressor", "SchNetRegressor"]


class CGCNNRegressor(GraphRegressor):
    """CGCNN (Xie & Grossman, PRL 2018) as a scikit-learn regressor.

    Architecture parameters go through ``module__`` (see :class:`skhybrid.nn.CGCNN`:
    ``hidden_channels=64``, ``num_layers=3``, ``head_channels=(128,)``,
    ``pooling="mean"``, ``dropout=0``); training parameters are those of
    :class:`GraphRegressor`.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from skhybrid.featurizers import StructureGraphizer
    >>> model = make_pipeline(StructureGraphizer(), CGCNNRegressor(max_epochs=100, random_state=0))
    >>> model.named_steps["cgcnnregressor"].set_params(module__hidden_channels=128).module__hidden_channels
    128
    """

    _default_module = CGCNN


class ALIGNNRegressor(GraphRegressor):
    """ALIGNN (Choudhary & DeCost, npj Comput. Mater. 2021) as a scikit-learn regressor.

    Needs graphs with the bond-angle line graph: ``StructureGraphizer(line_graph=True)``.
    Architecture through ``module__`` (see :class:`skhybrid.nn.ALIGNN`: ``hidden_channels=256``,
    ``embedding_channels=64``, ``num_alignn_layers=4``, ``num_gcn_layers=4``); on a CPU,
    ``module__hidden_channels=64`` trains about ten times faster.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from skhybrid.featurizers import StructureGraphizer
    >>> model = make_pipeline(StructureGraphizer(line_graph=True),
    ...                       ALIGNNRegressor(module__hidden_channels=64, random_state=0))
    """

    _default_module = ALIGNN


class MEGNetRegressor(GraphRegressor):
    """MEGNet (Chen et al., Chem. Mater. 2019) as a scikit-learn regressor, multi-task ready.

    The global state starts from the graphs' ``u`` when the graphizer has
    ``global_features`` (e.g. ``MagpieFeaturizer()``). Architecture through
    ``module__`` (see :class:`skhybrid.nn.MEGNet`: ``hidden_channels=32``, ``num_layers=3``,
    ``dense_channels=64``, ``processing_steps=3``, ``head_channels=(32, 16)``).
    For several targets, pass ``y`` of shape ``(n, k)`` with NaN where a label is
    missing, and ``task_weights`` (fixed, or ``"uncertainty"``).

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from skhybrid import MagpieFeaturizer, StructureGraphizer
    >>> model = make_pipeline(StructureGraphizer(global_features=MagpieFeaturizer()),
    ...                       MEGNetRegressor(task_weights="uncertainty", random_state=0))
    >>> # model.fit(structures, Y) with Y of shape (n, 2), NaN where a label is missing
    """

    _default_module = MEGNet


class SchNetRegressor(GraphRegressor):
    """SchNet (Schütt et al., J. Chem. Phys. 2018) as a scikit-learn regressor.

    Continuous-filter convolutions on the graphizer's periodic neighbour lists. Architecture
    through ``module__`` (see :class:`skhybrid.nn.SchNet`: ``hidden_channels=64``,
    ``num_layers=3``, ``head_channels=(32,)``, ``cutoff=8.0``, which should match the
    graphizer's ``cutoff``).

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from skhybrid import StructureGraphizer
    >>> model = make_pipeline(StructureGraphizer(cutoff=6.0, max_neighbors=None, atom_features="z"),
    ...                       SchNetRegressor(module__cutoff=6.0, random_state=0))
    """

    _default_module = SchNet


def with_parent_docs(cls, start="    Parameters\n", end="    Examples\n", before="    Examples\n", parent=None):
    """Copy ``parent``'s docstring (:class:`GraphRegressor`'s by default) from ``start`` up to ``end`` into
    ``cls``'s, before ``before``.

    The subclasses take the parent's parameters through its signature, not a copy of it; their
    docstrings take the documentation the same way, so neither can drift from the parent.
    """
    shared = (parent or GraphRegressor).__doc__
    if cls.__doc__ is None or shared is None:  # python -OO strips docstrings
        return cls
    cls.__doc__ = cls.__doc__.replace(before, shared[shared.index(start):shared.index(end)] + before, 1)
    return cls


for _cls in (CGCNNRegressor, ALIGNNRegressor, MEGNetRegressor, SchNetRegressor):
    with_parent_docs(_cls)
