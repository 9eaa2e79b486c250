"""EarlyFusionRegressor: one network fed with the graph and the composition vector."""

from __future__ import annotations

import inspect

import numpy as np
import torch
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ..models._base import GraphRegressor, extend_signature
from ..models._regressors import with_parent_docs
from ..nn._fusion import BACKBONES, BRANCHES, FusionNet

__all__ = ["EarlyFusionRegressor"]


class EarlyFusionRegressor(GraphRegressor):
    """Early fusion of composition features and a crystal graph network, in one model.

    ``X`` is a list of graphs carrying the composition vector ``u``:
    ``StructureGraphizer(global_features=MagpieFeaturizer())`` in front (with
    ``line_graph=True`` for the ALIGNN backbone). The network
    (:class:`skhybrid.nn.FusionNet`) encodes the graph with ``backbone``, and
    joins it with the standardised composition vector:

    - ``fusion="concat"``: the two vectors are concatenated before the MLP head;
    - ``fusion="attention"``: both are projected to a common width and mixed
      with per-sample softmax weights, which :meth:`fusion_weights` returns.

    Training (loss, multi-output targets with NaN, early stopping, schedule,
    device, seeding) is that of :class:`~skhybrid.models.GraphRegressor`;
    :mod:`skhybrid.inspection` measures how much each branch contributes.

    Parameters
    ----------
    backbone : {"cgcnn", "alignn", "megnet"}, default="cgcnn"
        The graph encoder; its architecture is set with ``module__`` parameters
        (e.g. ``module__hidden_channels=128``).
    fusion : {"concat", "attention"}, default="concat"
    module : torch.nn.Module class, default=None
        ``None`` uses :class:`skhybrid.nn.FusionNet`; its own parameters are
        ``module__fusion_channels``, ``module__head_channels`` and ``module__dropout``.
    Attributes
    ----------
    branches_ : tuple of str
        ``("composition", "graph")``: the column order of :meth:`fusion_weights`.
    net_, n_targets_, target_mean_, target_scale_, best_epoch_, device_
        As in :class:`~skhybrid.models.GraphRegressor`.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from skhybrid import MagpieFeaturizer
    >>> from skhybrid.featurizers import StructureGraphizer
    >>> model = make_pipeline(StructureGraphizer(global_features=MagpieFeaturizer()),
    ...                       EarlyFusionRegressor(fusion="attention", random_state=0))
    """

    _default_module = FusionNet

    _parameter_constraints: dict = {
        **GraphRegressor._parameter_constraints,
        "backbone": [StrOptions(set(BACKBONES))],
        "fusion": [StrOptions({"concat", "attention"})],
    }

    def __init__(self, backbone="cgcnn", fusion="concat", module=None, **kwargs):
        self.backbone = backbone
        self.fusion = fusion
        super().__init__(module, **kwargs)

    # the parameters are GraphRegressor's plus backbone and fusion, taken from its signature rather than
    # repeated here: a copied signature silently drops every parameter the parent gains later
    __init__.__signature__ = extend_signature(GraphRegressor.__init__, before="module", backbone="cgcnn",
                                              fusion="concat")

    def _module_kwargs(self, module) -> dict:
        kwargs = super()._module_kwargs(module)
        for name in ("backbone", "fusion"):
            if name in kwargs:
                raise ValueError(f"Set {name} on {type(self).__name__} itself, not as module__{name}.")
        if module is FusionNet:
            # FusionNet forwards unknown arguments to the backbone: check them against it here
            valid = set(_named_arguments(FusionNet)) | set(_named_arguments(BACKBONES[self.backbone]))
            unknown = sorted(set(kwargs) - valid)
            if unknown:
                raise ValueError(
                    f"module__{unknown[0]}: neither FusionNet nor the {self.backbone!r} backbone has a parameter "
                    f"{unknown[0]!r}; valid module__ parameters: {', '.join(sorted(valid))}."
                )
        return {**kwargs, "backbone": self.backbone, "fusion": self.fusion}

    def _required_fields(self, module) -> tuple:
        if isinstance(module, torch.nn.Module):
            return tuple(module.required_fields)
        return (*getattr(BACKBONES[self.backbone], "required_fields", ()), "u")

    def _input_fields(self, module) -> tuple:
        if isinstance(module, torch.nn.Module):
            return tuple(module.input_fields)
        return (*BACKBONES[self.backbone].input_fields, "u")

    def fit(self, X, y):
        """Train on graphs ``X`` (with ``u``) and targets ``y``.

        Parameters
        ----------
        X : list of CrystalGraph
            Graphs with ``u`` (``StructureGraphizer(global_features=MagpieFeaturizer())``).
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets; NaN marks a missing label.

        Returns
        -------
        self : EarlyFusionRegressor
        """
        super().fit(X, y)
        self.branches_ = BRANCHES
        return self

    def fusion_weights(self, X) -> np.ndarray:
        """Per-sample attention weights of the composition and the graph branch.

        Parameters
        ----------
        X : list of graphs

        Returns
        -------
        ndarray of shape (n_samples, 2)
            Columns in the order of ``branches_``; each row sums to one.
        """
        check_is_fitted(self, "net_")
        if self.net_.module_.attention is None:
            raise ValueError(f"{type(self).__name__} was fitted with fusion={self.net_.module_.fusion!r}, "
                             "which has no fusion weights; refit with fusion='attention'.")
        return self._forward(X, "fusion_weights")

    def branch_embeddings(self, X) -> tuple[np.ndarray, np.ndarray]:
        """The composition and graph vectors the head sees, before fusion.

        Parameters
        ----------
        X : list of CrystalGraph
            Graphs with ``u`` (``StructureGraphizer(global_features=MagpieFeaturizer())``).

        Returns
        -------
        composition : ndarray of shape (n_samples, n_global_features)
            The standardised composition vector.
        graph : ndarray of shape (n_samples, n_graph_channels)
            The backbone's pooled crystal vector.
        """
        return self._forward(X, "branches")

    def predict_from_branches(self, composition, graph) -> np.ndarray:
        """Predictions (in the targets' units) from branch vectors, e.g. with one branch permuted.

        Parameters
        ----------
        composition, graph : ndarray
            As returned by :meth:`branch_embeddings`, with the same number of rows.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        check_is_fitted(self, "net_")
        module = self.net_.module_
        module.eval()
        outputs = []
        device = self.net_.device
        with torch.inference_mode():
            for start in range(0, len(composition), self.batch_size):
                part = slice(start, start + self.batch_size)
                c = torch.as_tensor(np.asarray(composition[part]), dtype=torch.float32, device=device)
                g = torch.as_tensor(np.asarray(graph[part]), dtype=torch.float32, device=device)
                outputs.append(module.fuse(c, g)[0].float().cpu())
        out = torch.cat(outputs).numpy().astype(np.float64) * self.target_scale_ + self.target_mean_
        return out[:, 0] if self.n_targets_ == 1 else out


# the training parameters (``loss`` onwards) join the Parameters section
with_parent_docs(EarlyFusionRegressor, start="    loss :", end="    Attributes\n", before="    Attributes\n")


def _named_arguments(module_class) -> list[str]:
    skip = ("self", "n_node_features", "n_edge_features", "n_global_features", "n_angle_features", "n_targets")
    return [name for name, p in inspect.signature(module_class.__init__).parameters.items()
            if name not in skip and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
