"""CHGNetFeaturizer: what a pretrained universal potential knows about a structure, as descriptors."""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from functools import cache, partial
from numbers import Integral

import numpy as np
from ._descriptor_base import StructureDescriptorBase
from sklearn.utils._param_validation import Interval, StrOptions

from ..utils import progress_bar
from ..utils._device import resolve_device

__all__ = ["CHGNetFeaturizer"]

#: the scalar predictions kept, in output order (the latent vector follows them)
PREDICTED_FEATURES = (
    "chgnet_energy_per_atom",
    "chgnet_force_mean", "chgnet_force_max",
    "chgnet_stress_mean_normal", "chgnet_stress_von_mises",
    "chgnet_magmom_mean", "chgnet_magmom_max",
)
#: with ``restack=True``, appended after the latent vector
RESTACK_FEATURES = ("chgnet_restack_energy", "chgnet_restack_gap")
#: the column groups, in output order
PARTS = ("predictions", "latent", "restack")
#: gaps (A) between a slab's outermost atomic planes at which its periodic images are placed
RESTACK_GAPS = (1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0, 3.5, 4.0, 5.0)
#: the smallest empty slab (A) taken as vacuum: a cell with less is bulk, and its restacking columns are 0
MIN_VACUUM = 6.0
#: width of CHGNet's crystal feature vector (the mean of its atom features after the last interaction)
LATENT_WIDTH = 64
#: version of the column definitions above; an on-disk table of other definitions is refused
CHGNET_DEFINITIONS = 1
#: structures computed between two appends to an on-disk table (``store=``)
STORE_PART = 256
#: the largest atomic number CHGNet's element embedding was trained on (MPtrj: H to Pu)
MAX_Z = 94


class CHGNetFeaturizer(StructureDescriptorBase):
    """Predictions and the latent crystal vector of the pretrained CHGNet, as descriptors.

    CHGNet (Deng et al. 2023) is a graph network potential trained on the
    Materials Project trajectory set (MPtrj: 1.58 million snapshots of about
    146,000 relaxations, PBE/PBE+U energies, forces, stresses and magnetic
    moments). What it learned from those calculations transfers to properties
    it never saw: MatterVial (2025) adds latent vectors of pretrained networks
    to MODNet's descriptors and lowers its Matbench errors on phonons
    (34.3 -> 30.1 cm^-1) and jdft2d (33.2 -> 29.2 meV/atom). This
    transformer runs the pretrained model once per structure, without
    relaxing it, and returns, for each structure:

    - ``chgnet_energy_per_atom`` (eV/atom), the predicted energy;
    - ``chgnet_force_mean``, ``chgnet_force_max``: the mean and largest force
      norm over atoms (eV/A), how far the structure is from a relaxed one
      in the potential's eyes;
    - ``chgnet_stress_mean_normal`` (GPa): the mean of the stress tensor's
      diagonal, and ``chgnet_stress_von_mises`` (GPa): sqrt(3/2 s':s') of its
      deviatoric part s' (both invariant under rotation, unlike components);
    - ``chgnet_magmom_mean``, ``chgnet_magmom_max``: the mean and largest
      absolute predicted magnetic moment (Bohr magnetons);
    - ``chgnet_latent_0`` ... ``chgnet_latent_63``: the crystal feature vector,
      the mean of the atom features after the last interaction block;
    - with ``"restack"`` in ``parts``, for a slab (a cell with at least 6 A of vacuum
      along one lattice axis): ``chgnet_restack_energy`` (eV/atom), the energy
      the potential releases when the slab's periodic images are brought back
      together, E(slab) - min_d E(restacked at gap d), over gaps d of 1.5-5 A
      between the outermost atomic planes (the cell's own stacking registry,
      Cartesian positions kept, atoms not relaxed), and
      ``chgnet_restack_gap``, the d of that minimum (A): a crude exfoliation
      energy. Both are 0 for a cell without vacuum.

    The weights ship inside the ``chgnet`` package (``pip install
    skhybrid[pretrained]``): nothing is downloaded. Inference is
    deterministic for a given device and thread count; forces and stresses
    take one backward pass, about 0.06 s per 7-atom cell and 1.4 s per
    60-atom cell on one CPU core. Give ``store`` a folder to compute each
    structure once across folds and runs.

    Parameters
    ----------
    model : {"0.3.0", "0.2.0", "r2scan"}, default="0.3.0"
        The packaged checkpoint: ``"0.3.0"`` (the current one), ``"0.2.0"``
        (the first release) or ``"r2scan"`` (fine-tuned on r2SCAN).
    batch_size : int, default=16
        Structures per forward pass.
    device : str, default="cpu"
        Torch device (``"cuda"``, ``"cuda:1"``...), or ``"auto"`` for CUDA when
        present.
    parts : tuple of {"predictions", "latent", "restack"}, default=("predictions", "latent")
        The column groups, in this order: the seven predictions, the 64-wide
        latent vector, the two restacking columns (ten more energy
        evaluations per slab).
    on_error : {"raise", "nan"}, default="raise"
        A structure CHGNet cannot take (disordered sites, an element past Pu,
        an atom with no neighbour within 6 A) raises ``ValueError`` naming its
        index, or with ``"nan"`` becomes a row of NaN with a warning listing
        the indices.
    store : str, path-like or None, default=None
        A folder for an on-disk table of these descriptors (as
        :class:`StructureFeaturizer`'s ``store``): each structure is computed
        once and read back by every later ``transform``.

    Attributes
    ----------
    n_features_out_ : int
        71 with the default ``parts`` (7 predictions, 64 latent), 2 more with ``"restack"``.

    See Also
    --------
    StructureFeaturizer : descriptors computed from the structure alone.
    MagpieFeaturizer : composition descriptors.

    References
    ----------
    B. Deng, P. Zhong, K. Jun, J. Riebesell, K. Han, C. J. Bartel and G. Ceder, Nat. Mach. Intell. 5,
    1031 (2023) (CHGNet); MatterVial (2025), pretrained latents beside MODNet's descriptors on Matbench.

    Examples
    --------
    >>> from pymatgen.core import Lattice, Structure
    >>> from skhybrid.featurizers import CHGNetFeaturizer
    >>> nacl = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    >>> X = CHGNetFeaturizer().set_output(transform="pandas").fit_transform([nacl])  # doctest: +SKIP
    >>> X.shape  # doctest: +SKIP
    (1, 71)
    """

    _definitions = CHGNET_DEFINITIONS
    _store_part = STORE_PART
    _progress = "CHGNet features"
    _by = " by CHGNet"

    _parameter_constraints: dict = {
        "model": [StrOptions({"0.3.0", "0.2.0", "r2scan"})],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": [str],
        "parts": [tuple, list],
        "on_error": [StrOptions({"raise", "nan"})],
        "store": [str, os.PathLike, None],
    }

    def __init__(self, model="0.3.0", batch_size=16, device="cpu", parts=("predictions", "latent"), on_error="raise",
                 store=None):
        self.model = model
        self.batch_size = batch_size
        self.device = device
        self.parts = parts
        self.on_error = on_error
        self.store = store

    def _parts(self) -> list[str]:
        parts = list(self.parts)
        unknown = [part for part in parts if part not in PARTS]
        if unknown or not parts or len(set(parts)) != len(parts):
            raise ValueError(f"parts={self.parts!r}: give one or more of {', '.join(map(repr, PARTS))}, each once.")
        return [part for part in PARTS if part in parts]

    def _settings(self) -> dict:
        return dict(model=self.model, parts=self._parts())

    def _names(self) -> list[str]:
        return [name for part in self._parts() for name in _part_names(part)]

    def _compute(self, structures, indices, bar=None):
        """Rows of ``structures`` and ``(index, reason)`` of those that failed (NaN rows), by ``indices``."""
        if bar is None:
            with progress_bar(total=len(structures), desc="CHGNet features", unit="structure") as bar:
                return self._compute(structures, indices, bar)
        from ._structure import vacuum_gaps

        parts = self._parts()
        # forces, stress and magnetic moments cost a backward pass: only the predictions need them
        predict = partial(_predict, task="efsm" if "predictions" in parts else "e", latent="latent" in parts)
        rows = np.full((len(structures), len(self._names())), np.nan)
        errors, good = [], []
        for position, (index, structure) in enumerate(zip(indices, structures)):
            reason = _unsupported(structure)
            if reason:
                errors.append((index, reason))
                bar.update(1)
            elif parts == ["restack"] and not _is_slab(vacuum_gaps(structure)[0]):
                # the restacking columns of a bulk cell are 0 by definition: no energy to evaluate
                rows[position] = 0.0
                bar.update(1)
            else:
                good.append(position)
        if not good:
            return rows, sorted(errors)
        model = _load_model(self.model, resolve_device(self.device))
        for start in range(0, len(good), self.batch_size):
            batch = good[start:start + self.batch_size]
            try:
                predictions = predict(model, [structures[p] for p in batch])
            except ValueError:  # one structure of the batch spoils it: find which, one at a time
                predictions = []
                for p in batch:
                    try:
                        predictions.extend(predict(model, [structures[p]]))
                    except ValueError as error:
                        errors.append((indices[p], f"CHGNet refused it ({error})"))
                        predictions.append(None)
            for p, prediction in zip(batch, predictions):
                if prediction is None:
                    continue
                pieces = []
                for part in parts:
                    if part == "predictions":
                        pieces.append(_predicted(prediction))
                    elif part == "latent":
                        pieces.append(np.asarray(prediction["crystal_fea"], dtype=np.float64))
                    else:
                        pieces.append(_restacking(model, structures[p], float(prediction["e"]), self.batch_size))
                rows[p] = np.concatenate(pieces)
            bar.update(len(batch))
        errors.sort()
        return rows, errors

    def citations(self):
        """References for the model and the method (see the class docstring).

        Returns
        -------
        list of str
        """
        return ["B. Deng, P. Zhong, K. Jun, J. Riebesell, K. Han, C. J. Bartel and G. Ceder, "
                "Nat. Mach. Intell. 5, 1031 (2023)"]

def _unsupported(structure) -> str:
    if not structure.is_ordered:
        return ("it has partially occupied sites, which CHGNet cannot take; order it first "
                "(pymatgen's OrderDisorderedStructureTransformation)")
    heavy = sorted({site.specie.symbol for site in structure if site.specie.Z > MAX_Z})
    if heavy:
        return f"CHGNet was trained up to Pu (Z = {MAX_Z}) and it holds {', '.join(heavy)}"
    return ""


def _part_names(part: str) -> list[str]:
    if part == "predictions":
        return list(PREDICTED_FEATURES)
    if part == "latent":
        return [f"chgnet_latent_{i}" for i in range(LATENT_WIDTH)]
    return list(RESTACK_FEATURES)


@cache
def _load_model(name: str, device: str):
    """The packaged checkpoint, loaded once per process (a few seconds) and shared by every featurizer."""
    try:
        from chgnet.model import CHGNet
    except ImportError as error:
        raise ImportError("CHGNetFeaturizer needs the chgnet package: pip install 'skhybrid[pretrained]' "
                          "(or pip install chgnet).") from error
    # CHGNet prints its parameter count and warns about its defaults on every load: not the user's business
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        model = CHGNet.load(model_name=name, use_device=device, verbose=False, check_cuda_mem=False)
    return model.eval()


def _predict(model, structures, task="efsm", latent=True) -> list[dict]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # CHGNet warns per batch about its own defaults
        predictions = model.predict_structure(structures, task=task, return_crystal_feas=latent,
                                              batch_size=len(structures))
    return predictions if isinstance(predictions, list) else [predictions]


def restacked(structure, gap: float):
    """The slab with its periodic images along its vacuum axis ``gap`` A apart (None if it has no vacuum).

    The vacuum axis is the lattice axis with the widest empty slab (at least ``MIN_VACUUM``); that lattice
    vector is shortened along its own direction so the perpendicular gap between the slab's outermost atomic
    planes becomes ``gap``, every atom keeping its Cartesian position (so the stacking registry is the cell's).
    """
    from ._structure import vacuum_gaps

    widths, heights, starts, _ = vacuum_gaps(structure)
    axis = int(np.argmax(widths))
    if not _is_slab(widths):
        return None
    frac = np.mod(structure.frac_coords, 1.0)
    # move the slab so it is contiguous from 0 (the empty slab ends where the atoms begin)
    begin = starts[axis] + widths[axis] / heights[axis]
    frac[:, axis] = np.mod(frac[:, axis] - begin + 1e-9, 1.0) - 1e-9
    matrix = structure.lattice.matrix.copy()
    cartesian = frac @ matrix
    thickness = heights[axis] - widths[axis]
    matrix[axis] *= (thickness + gap) / heights[axis]
    from pymatgen.core import Lattice, Structure

    return Structure(Lattice(matrix), structure.species, cartesian, coords_are_cartesian=True)


def _is_slab(widths) -> bool:
    """Whether a cell's widest empty slab along a lattice axis (``vacuum_gaps``' widths) is vacuum."""
    return float(np.max(widths)) >= MIN_VACUUM


def _restacking(model, structure, energy: float, batch_size: int) -> np.ndarray:
    cells = [restacked(structure, gap) for gap in RESTACK_GAPS]
    if cells[0] is None:
        return np.zeros(len(RESTACK_FEATURES))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        predictions = model.predict_structure(cells, task="e", batch_size=batch_size)
    energies = np.array([float(p["e"]) for p in predictions])
    best = int(np.argmin(energies))
    return np.array([energy - energies[best], RESTACK_GAPS[best]])


def _predicted(prediction: dict) -> np.ndarray:
    forces = np.linalg.norm(np.asarray(prediction["f"], dtype=np.float64), axis=1)
    stress = np.asarray(prediction["s"], dtype=np.float64)
    mean_normal = np.trace(stress) / 3
    deviatoric = stress - mean_normal * np.eye(3)
    magmoms = np.abs(np.asarray(prediction["m"], dtype=np.float64))
    return np.array([float(prediction["e"]), forces.mean(), forces.max(), mean_normal,
                     np.sqrt(1.5 * np.sum(deviatoric * deviatoric)), magmoms.mean(), magmoms.max()])
