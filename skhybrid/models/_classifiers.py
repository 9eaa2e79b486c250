"""The graph-network classifiers: a module class each, everything else in GraphClassifier."""

from __future__ import annotations

from ..nn import ALIGNN, CGCNN, MEGNet, SchNet
from ._classifier import GraphClassifier
from ._regressors import with_parent_docs

__all__ = ["ALIGNNClassifier", "CGCNNClassifier", "MEGNetClassifier", "SchNetClassifier"]


class CGCNNClassifier(GraphClassifier):
    """CGCNN (Xie & Grossman, PRL 2018) with a logistic output, as in the paper's metal/non-metal task.

    Architecture through ``module__`` (see :class:`skhybrid.nn.CGCNN`); training parameters are
    :class:`GraphClassifier`'s.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from skhybrid.featurizers import StructureGraphizer
    >>> model = make_pipeline(StructureGraphizer(), CGCNNClassifier(class_weight="balanced", random_state=0))
    """

    _default_module = CGCNN


class ALIGNNClassifier(GraphClassifier):
    """ALIGNN (Choudhary & DeCost, npj Comput. Mater. 2021) with a logistic output.

    Needs graphs with the bond-angle line graph: ``StructureGraphizer(line_graph=True)``.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from skhybrid.featurizers import StructureGraphizer
    >>> model = make_pipeline(StructureGraphizer(line_graph=True),
    ...                       ALIGNNClassifier(module__hidden_channels=64, random_state=0))
    """

    _default_module = ALIGNN


class MEGNetClassifier(GraphClassifier):
    """MEGNet (Chen et al., Chem. Mater. 2019) with a logistic output.

    The global state starts from the graphs' ``u`` when the graphizer has ``global_features``.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from skhybrid import MagpieFeaturizer, StructureGraphizer
    >>> model = make_pipeline(StructureGraphizer(global_features=MagpieFeaturizer()),
    ...                       MEGNetClassifier(random_state=0))
    """

    _default_module = MEGNet


class SchNetClassifier(GraphClassifier):
    """SchNet (Schütt et al., J. Chem. Phys. 2018) with a logistic output.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from skhybrid import StructureGraphizer
    >>> model = make_pipeline(StructureGraphizer(cutoff=6.0, max_neighbors=None, atom_features="z"),
    ...                       SchNetClassifier(module__cutoff=6.0, random_state=0))
    """

    _default_module = SchNet


for _cls in (CGCNNClassifier, ALIGNNClassifier, MEGNetClassifier, SchNetClassifier):
    with_parent_docs(_cls, parent=GraphClassifier)
