"""StructureFeaturizer: structure and physics descriptors from one neighbour list per structure."""

from __future__ import annotations

import os
from functools import cache
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from scipy.special import eval_legendre
from ._descriptor_base import StructureDescriptorBase
from sklearn.utils._param_validation import Interval, StrOptions

from ..utils import progress_bar
from ._element_data import MAGPIE_PROPERTIES, MAX_Z, element_tables

__all__ = ["StructureFeaturizer"]

#: Descriptors of ``level="basic"``, in output order.
BASIC_FEATURES = (
    "n_sites",
    "volume_per_atom",
    "density",
    "packing_fraction",
    "lattice_a", "lattice_b", "lattice_c",
    "lattice_alpha", "lattice_beta", "lattice_gamma",
    "lattice_anisotropy",
    "spacegroup_number",
    "nn_distance_min", "nn_distance_mean", "nn_distance_max",
    "nn_coordination_mean", "nn_coordination_std",
    "nn_inv_sqrt_reduced_mass_max", "nn_inv_sqrt_reduced_mass_mean",
    "nn_stiffness_proxy_max", "nn_stiffness_proxy_mean", "nn_stiffness_proxy_p90",
    "inv_sqrt_mass_min", "inv_sqrt_mass_mean",
    "nn_electronegativity_difference_mean", "nn_electronegativity_difference_max",
    "nn_bond_length_ratio_min", "nn_bond_length_ratio_mean",
    "vacuum_gap", "vacuum_gap_fraction", "vacuum_gap_second", "vacuum_gap_second_fraction",
    "slab_thickness", "volume_per_atom_without_vacuum", "slab_area_per_atom",
    "surface_atom_fraction", "surface_coordination_mean", "surface_coordination_deficit",
    "surface_electronegativity_mean",
)
#: Atoms within this depth (A) of either face of the slab (the atoms bordering the largest gap) are surface atoms.
SURFACE_DEPTH = 1.0

#: Widths (1/A^2) of the radial symmetry functions of ``level="local"``.
G2_ETAS = (0.05, 0.2, 1.0, 4.0)
#: Bin edges of the first-shell bond-angle cosines of ``level="local"``.
ANGLE_BIN_EDGES = (-1.0, -0.75, -0.25, 0.25, 0.75, 1.0)
STEINHARDT_L = (2, 4, 6)

#: Per-site descriptors of ``level="local"``; each is summarised by its mean and standard deviation over sites.
LOCAL_SITE_FEATURES = (
    *(f"g2_eta{eta:g}" for eta in G2_ETAS),
    *(f"g2_electronegativity_eta{eta:g}" for eta in G2_ETAS),
    *(f"steinhardt_q{l}" for l in STEINHARDT_L),
    *(f"bond_angle_cos_bin{k}" for k in range(len(ANGLE_BIN_EDGES) - 1)),
    "bond_angle_cos_mean",
    "effective_coordination",
    "local_electronegativity_difference",
    "local_inv_sqrt_reduced_mass",
)

#: version of the descriptors' definitions: an on-disk table (``store=``) written under another is refused.
#: Raise it whenever a descriptor's formula, order or defaults change.
DESCRIPTOR_DEFINITIONS = 1
#: structures computed between two appends to an on-disk table (``store=``)
STORE_PART = 2048
#: Radius of the neighbour search (A); grown per structure when an atom has no neighbour in it.
NEIGHBOR_RADIUS = 5.0
#: Cutoff (A) of the radial symmetry functions.
LOCAL_CUTOFF = 6.0
RADIUS_GROWTH = 1.5
MAX_RADIUS_GROWTHS = 4

#: Columns of the Magpie element table that the descriptors use.
_COVALENT_RADIUS, _ELECTRONEGATIVITY = (MAGPIE_PROPERTIES.index(name) for name in
                                        ("CovalentRadius", "Electronegativity"))


class StructureFeaturizer(StructureDescriptorBase):
    r"""Structure and physics descriptors of crystals, named and vectorized.

    Each structure gets one vector computed from a single periodic neighbour
    list (pymatgen's ``get_neighbor_list``) and numpy, without per-site Python
    loops. ``level="basic"`` (39 descriptors, a few milliseconds per small cell):

    - **cell**: number of sites, volume per atom, density (g/cm^3), packing
      fraction (spheres of the covalent radii), lattice lengths and angles of
      the given cell, anisotropy (longest over shortest length), space-group
      number (spglib through pymatgen, ``symprec``);
    - **nearest neighbours**: each atom's nearest-neighbour distance
      (minimum, mean and maximum over atoms); its first shell, the neighbours
      within ``(1 + shell_tolerance)`` times that distance (mean and standard
      deviation of its size);
    - **vibrational proxies** over first-shell pairs :math:`ij` with reduced
      mass :math:`\mu_{ij} = m_i m_j / (m_i + m_j)` (atomic mass units): the
      maximum and mean of :math:`1/\sqrt{\mu_{ij}}`, and the maximum, mean and
      90th percentile of :math:`1/(d_{ij}^2 \sqrt{\mu_{ij}})`, a crude
      :math:`\sqrt{k/\mu}` with a stiffness falling as the square of the bond
      length; the minimum and mean of :math:`1/\sqrt{m_i}` over atoms;
    - **bond chemistry** over first-shell pairs: mean and maximum
      electronegativity difference, minimum and mean bond length over the sum
      of covalent radii;
    - **vacuum**: along each lattice axis, the largest empty slab between
      atomic planes (centre to centre, measured along the normal of the other
      two axes); for the axis with the largest gap, the gap in A and as a
      fraction of the cell's height along it, the same for the second axis (a slab has one
      large gap, a chain two), the slab thickness (height minus gap) and the
      volume per atom without that gap, and the slab's area per atom. Axes are
      ranked by the gap's fraction;
    - **surface**: the atoms within 1 A of either face of that slab: their
      fraction, mean first-shell coordination, coordination deficit against
      all atoms, and mean electronegativity (a cleaved bulk exposes
      under-coordinated atoms; a van der Waals layer does not). 2-D materials in a periodic cell carry
      tens of A of vacuum that would otherwise spoil the density.

    ``level="local"`` adds local-environment fingerprints of every site,
    averaged over sites (mean and standard deviation of each of 20, 40 more): radial
    symmetry functions :math:`G^2_i = \sum_j e^{-\eta r_{ij}^2} f_c(r_{ij})`
    (Behler & Parrinello 2007, cosine cutoff ``local_cutoff``; ``eta`` in
    ``G2_ETAS``) plain and weighted by the neighbours' electronegativity (as
    in weighted ACSFs, Gastegger et al. 2018); Steinhardt bond-order
    parameters :math:`q_2, q_4, q_6` of the first shell (Steinhardt et al.
    1983), computed through the Legendre addition theorem,
    :math:`q_l^2 = N^{-2} \sum_{j,k} P_l(\cos\theta_{jk})`; the distribution
    of first-shell bond-angle cosines (5 bins and the mean); Hoppe's effective
    coordination number (1979); the site's electronegativity minus its first
    shell's mean; and the site's mean :math:`1/\sqrt{\mu}` over its first
    shell. These play the part of matminer's ``SiteStatsFingerprint`` over
    ``CrystalNNFingerprint``, ``OPSiteFingerprint``, ``AGNIFingerprints`` and
    ``GaussianSymmFunc``, as MODNet uses them, at a fraction of the cost.

    Element data: atomic masses from pymatgen, covalent radii and Pauling
    electronegativities from the Magpie tables of :class:`MagpieFeaturizer`; a partially occupied
    site takes the occupancy-weighted mean of its species' values. Elements
    beyond the tables' covalent radii (Z >= 97) are an error; the noble
    gases He, Ne, Ar and Rn, which have no electronegativity, take the
    tables' mean, as in Magpie.

    Parameters
    ----------
    level : {"basic", "local"}, default="basic"
        ``"local"`` adds the site fingerprints (1.0-1.8x the time of ``"basic"``, docs/benchmarks.md).
    shell_tolerance : float, default=0.1
        The first shell of an atom holds its neighbours within
        ``(1 + shell_tolerance)`` times its nearest-neighbour distance.
    symprec : float, default=0.1
        Distance tolerance (A) of the space-group search.
    local_cutoff : float, default=6.0
        Cutoff (A) of the radial symmetry functions (``level="local"``).
    min_distance : float, default=0.3
        Two atoms closer than this (A) are taken as coincident: the structure
        is rejected with an error naming it and the two sites.
    on_error : {"raise", "nan"}, default="raise"
        A structure that cannot be featurized (coincident atoms, an element
        outside the tables) raises ``ValueError`` naming its index, or with
        ``"nan"`` becomes a row of NaN with a warning listing the indices.
    n_jobs : int, default=None
        Processes (joblib semantics; ``None`` means 1). Worth it only for
        thousands of large cells.
    store : str, path-like or None, default=None
        A folder for an on-disk table of these descriptors, keyed by a
        fingerprint of each structure (the graph cache's key) and checked
        against the settings above: each structure is featurized once and read
        back by every later ``transform``, in any fold, run or process (writers
        take a file lock). Rows of structures that fail are not stored. One
        folder holds one set of settings; another set is refused with an error.

    Attributes
    ----------
    n_features_out_ : int
        39 (``"basic"``) or 79 (``"local"``).

    See Also
    --------
    MagpieFeaturizer : composition descriptors, to concatenate with these.
    StructureGraphizer : crystal graphs built from the same kind of neighbour list.

    References
    ----------
    J. Behler and M. Parrinello, Phys. Rev. Lett. 98, 146401 (2007); M. Gastegger et al.,
    J. Chem. Phys. 148, 241709 (2018); P. J. Steinhardt, D. R. Nelson and M. Ronchetti,
    Phys. Rev. B 28, 784 (1983); R. Hoppe, Z. Kristallogr. 150, 23 (1979); P.-P. De Breuck,
    G. Hautier and G.-M. Rignanese, npj Comput. Mater. 7, 83 (2021) (MODNet's feature set).

    Examples
    --------
    >>> from pymatgen.core import Lattice, Structure
    >>> from skhybrid.featurizers import StructureFeaturizer
    >>> nacl = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    >>> X = StructureFeaturizer().set_output(transform="pandas").fit_transform([nacl])
    >>> X.shape
    (1, 39)
    >>> X.loc[0, ["nn_distance_min", "spacegroup_number", "nn_coordination_mean"]].round(3).tolist()
    [2.82, 225.0, 6.0]
    """

    _definitions = DESCRIPTOR_DEFINITIONS
    _store_part = STORE_PART
    _progress = "structure features"

    _parameter_constraints: dict = {
        "level": [StrOptions({"basic", "local"})],
        "shell_tolerance": [Interval(Real, 0, None, closed="left")],
        "symprec": [Interval(Real, 0, None, closed="neither")],
        "local_cutoff": [Interval(Real, 0, None, closed="neither")],
        "min_distance": [Interval(Real, 0, None, closed="left")],
        "on_error": [StrOptions({"raise", "nan"})],
        "n_jobs": [Integral, None],
        "store": [str, os.PathLike, None],
    }

    def __init__(self, level="basic", shell_tolerance=0.1, symprec=0.1, local_cutoff=LOCAL_CUTOFF,
                 min_distance=0.3, on_error="raise", n_jobs=None, store=None):
        self.level = level
        self.shell_tolerance = shell_tolerance
        self.symprec = symprec
        self.local_cutoff = local_cutoff
        self.min_distance = min_distance
        self.on_error = on_error
        self.n_jobs = n_jobs
        self.store = store

    def _settings(self) -> dict:
        return dict(level=self.level, shell_tolerance=float(self.shell_tolerance), symprec=float(self.symprec),
                    local_cutoff=float(self.local_cutoff), min_distance=float(self.min_distance))

    def _compute(self, structures, indices, bar=None):
        """Rows of ``structures`` and ``(index, reason)`` of those that failed (NaN rows), by ``indices``."""
        if bar is None:
            with progress_bar(total=len(structures), desc="structure features", unit="structure") as bar:
                return self._compute(structures, indices, bar)
        settings = self._settings()
        n_jobs = effective_n_jobs(self.n_jobs)
        if n_jobs > 1 and len(structures) >= 4 * n_jobs:
            chunks = np.array_split(np.arange(len(structures)), min(len(structures) // 2, 8 * n_jobs))
            rows, errors = [], []
            for part in Parallel(n_jobs=n_jobs, return_as="generator")(
                    delayed(_featurize_many)([structures[i] for i in chunk], [indices[i] for i in chunk], settings)
                    for chunk in chunks):
                rows.extend(part[0])
                errors.extend(part[1])
                bar.update(len(part[0]))
        else:
            rows, errors = _featurize_many(structures, list(indices), settings, None if bar.disable else bar)
        return (np.vstack(rows) if rows else np.empty((0, len(self._names())))), errors

    def _names(self) -> list[str]:
        names = list(BASIC_FEATURES)
        if self.level == "local":
            names += [f"site_{name}_{stat}" for name in LOCAL_SITE_FEATURES for stat in ("mean", "std")]
        return names

    def citations(self):
        """References for the descriptors (see the class docstring).

        Returns
        -------
        list of str
        """
        return [
            "J. Behler and M. Parrinello, Phys. Rev. Lett. 98, 146401 (2007)",
            "M. Gastegger, L. Schwiedrzik, M. Bittermann, F. Berzsenyi and P. Marquetand, "
            "J. Chem. Phys. 148, 241709 (2018)",
            "P. J. Steinhardt, D. R. Nelson and M. Ronchetti, Phys. Rev. B 28, 784 (1983)",
            "R. Hoppe, Z. Kristallogr. 150, 23 (1979)",
            "S. P. Ong et al., Comput. Mater. Sci. 68, 314 (2013) (pymatgen)",
            "A. Togo and I. Tanaka, arXiv:1808.01590 (spglib)",
        ]

class _FeaturizationError(ValueError):
    pass


def _featurize_many(structures, indices, settings, bar=None):
    rows, errors = [], []
    n_features = len(BASIC_FEATURES) + (2 * len(LOCAL_SITE_FEATURES) if settings["level"] == "local" else 0)
    for index, structure in zip(indices, structures):
        try:
            rows.append(featurize_structure(structure, **settings))
        except _FeaturizationError as error:
            errors.append((index, str(error)))
            rows.append(np.full(n_features, np.nan))
        if bar is not None:
            bar.update(1)
    return rows, errors


@cache
def _atomic_masses() -> np.ndarray:
    from pymatgen.core.periodic_table import Element

    return np.array([np.nan] + [float(Element.from_Z(z).atomic_mass) for z in range(1, MAX_Z + 1)])


def site_properties(structure) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Atomic mass (u), covalent radius (A) and electronegativity of every site.

    Masses are pymatgen's, radii and electronegativities the Magpie tables'. Occupancy-weighted
    means over the species of a partially occupied site. An element without a tabulated
    covalent radius (Z >= 97) raises; a missing electronegativity
    (He, Ne, Ar, Rn) takes the Magpie tables' imputed mean, as in :class:`MagpieFeaturizer`.
    """
    tables = element_tables()
    table = np.column_stack([_atomic_masses(), tables.magpie[:, [_COVALENT_RADIUS, _ELECTRONEGATIVITY]]])
    try:
        z = np.array(structure.atomic_numbers, dtype=np.intp)
        species_z = np.unique(z)
        values = table[z]
    except AttributeError:  # a disordered site has no single species
        values = np.empty((len(structure), 3))
        species_z = set()
        for i, site in enumerate(structure):
            species = site.species
            total = sum(species.values())
            values[i] = sum(table[sp.Z] * (occ / total) for sp, occ in species.items())
            species_z.update(sp.Z for sp in species)
        species_z = np.array(sorted(species_z), dtype=np.intp)
    unknown = species_z[~tables.magpie_known[species_z, _COVALENT_RADIUS]]
    if len(unknown):
        symbols = ", ".join(tables.symbols[z] for z in unknown)
        raise _FeaturizationError(f"element(s) {symbols} have no covalent radius in the Magpie tables (they "
                                  "cover Z <= 96)")
    return values[:, 0], values[:, 1] / 100.0, values[:, 2]  # the table's covalent radii are in pm


def neighbor_list(structure, radius: float, min_distance: float):
    """Every neighbour within ``radius`` of every site: ``(centre, neighbour, distance, vector)``.

    The radius grows (x1.5, at most 4 times) until every site has a neighbour.
    Raises ``_FeaturizationError`` for two atoms closer than ``min_distance``.
    """
    n = len(structure)
    for _ in range(MAX_RADIUS_GROWTHS + 1):
        # exclude_self=False keeps zero-distance pairs, so that coincident atoms are seen; the
        # site's own zero-image entry is dropped below
        centre, neighbor, image, distance = structure.get_neighbor_list(r=radius, exclude_self=False)
        own = (centre == neighbor) & ~image.any(axis=1)
        centre, neighbor, image, distance = centre[~own], neighbor[~own], image[~own], distance[~own]
        close = np.flatnonzero(distance < min_distance)
        if len(close):
            i, j = int(centre[close[0]]), int(neighbor[close[0]])
            raise _FeaturizationError(
                f"sites {i} and {j} are {distance[close[0]]:.3g} A apart (coincident atoms; the minimum is "
                f"min_distance={min_distance} A)")
        if n == 0 or len(np.unique(centre)) == n:
            break
        radius *= RADIUS_GROWTH
    else:
        raise _FeaturizationError(f"some atoms have no neighbour within {radius / RADIUS_GROWTH:.1f} A")
    order = np.lexsort((distance, centre))
    centre, neighbor, image, distance = centre[order], neighbor[order], image[order], distance[order]
    cart = structure.cart_coords
    vector = cart[neighbor] + image @ structure.lattice.matrix - cart[centre]
    return centre, neighbor, distance, vector


def vacuum_gaps(structure) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per lattice axis: the largest empty slab between atomic planes (A), the cell's height (A),
    the fractional coordinate where that gap begins, and the area of the face (A^2).

    The height along axis ``i`` is the volume over the area of the face spanned by the
    other two axes; the gap is the largest spacing of the sorted fractional coordinates
    along ``i``, wrapping around the cell, times that height.
    """
    frac = np.sort(np.mod(structure.frac_coords, 1.0), axis=0)
    steps = np.vstack([np.diff(frac, axis=0), frac[:1] + 1.0 - frac[-1:]])
    widest = steps.argmax(axis=0)
    spacing = steps[widest, np.arange(3)]
    matrix = structure.lattice.matrix
    areas = np.linalg.norm(np.cross(matrix[[1, 2, 0]], matrix[[2, 0, 1]]), axis=1)
    height = structure.volume / areas
    return spacing * height, height, frac[widest, np.arange(3)], areas


def featurize_structure(structure, *, level="basic", shell_tolerance=0.1, symprec=0.1, local_cutoff=LOCAL_CUTOFF,
                        min_distance=0.3) -> np.ndarray:
    """The descriptor vector of one structure (see :class:`StructureFeaturizer`)."""
    n = len(structure)
    mass, radius, chi = site_properties(structure)
    search = max(NEIGHBOR_RADIUS, local_cutoff) if level == "local" else NEIGHBOR_RADIUS
    centre, neighbor, distance, vector = neighbor_list(structure, search, min_distance)

    # nearest-neighbour distance and first shell of every atom (centre-sorted, then by distance)
    starts = np.searchsorted(centre, np.arange(n))
    nearest = distance[starts]
    in_shell = distance <= (1.0 + shell_tolerance) * nearest[centre]
    shell_centre, shell_neighbor, shell_distance = centre[in_shell], neighbor[in_shell], distance[in_shell]
    coordination = np.bincount(shell_centre, minlength=n).astype(float)

    mu = mass[shell_centre] * mass[shell_neighbor] / (mass[shell_centre] + mass[shell_neighbor])
    inv_sqrt_mu = 1.0 / np.sqrt(mu)
    stiffness = inv_sqrt_mu / shell_distance**2
    chi_difference = np.abs(chi[shell_centre] - chi[shell_neighbor])
    bond_ratio = shell_distance / (radius[shell_centre] + radius[shell_neighbor])

    gaps, heights, gap_starts, areas = vacuum_gaps(structure)
    order = np.argsort(-gaps / heights, kind="stable")
    first, second = order[0], order[1]
    # depth of every atom below the nearer face of the slab; the faces border the widest gap, which runs
    # from gap_starts[first] up to the slab's bottom face
    thickness = 1.0 - gaps[first] / heights[first]
    above_bottom = np.mod(structure.frac_coords[:, first] - gap_starts[first] - (1.0 - thickness), 1.0)
    depth = np.minimum(above_bottom, thickness - above_bottom) * heights[first]
    surface = depth <= SURFACE_DEPTH + 1e-9
    volume = structure.volume
    lattice = structure.lattice
    abc = np.asarray(lattice.abc)

    basic = [
        n,
        volume / n,
        structure.density,
        (4.0 / 3.0 * np.pi * radius**3).sum() / volume,
        *abc, *lattice.angles,
        abc.max() / abc.min(),
        _spacegroup_number(structure, symprec),
        nearest.min(), nearest.mean(), nearest.max(),
        coordination.mean(), coordination.std(),
        inv_sqrt_mu.max(), inv_sqrt_mu.mean(),
        stiffness.max(), stiffness.mean(), np.percentile(stiffness, 90),
        (1.0 / np.sqrt(mass)).min(), (1.0 / np.sqrt(mass)).mean(),
        chi_difference.mean(), chi_difference.max(),
        bond_ratio.min(), bond_ratio.mean(),
        gaps[first], gaps[first] / heights[first], gaps[second], gaps[second] / heights[second],
        heights[first] - gaps[first],
        volume * (1.0 - gaps[first] / heights[first]) / n,
        areas[first] / n,
        surface.mean(),
        coordination[surface].mean(),
        coordination.mean() - coordination[surface].mean(),
        chi[surface].mean(),
    ]
    if level == "basic":
        return np.asarray(basic, dtype=float)
    local = _local_fingerprints(n, chi, centre, neighbor, distance, vector, in_shell, coordination, inv_sqrt_mu,
                                local_cutoff)
    summary = np.column_stack([local.mean(axis=0), local.std(axis=0)]).ravel()
    return np.concatenate([np.asarray(basic, dtype=float), summary])


def _spacegroup_number(structure, symprec: float) -> float:
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    try:
        return float(SpacegroupAnalyzer(structure, symprec=symprec).get_space_group_number())
    except Exception as error:  # spglib fails on some degenerate cells: say so rather than guess
        raise _FeaturizationError(f"the space-group search failed ({type(error).__name__}: {error})") from error


def _per_centre_sum(values, centre, n):
    return np.bincount(centre, weights=values, minlength=n)


def _local_fingerprints(n, chi, centre, neighbor, distance, vector, in_shell, coordination, inv_sqrt_mu, cutoff):
    """``(n_sites, len(LOCAL_SITE_FEATURES))`` site fingerprints from the neighbour list."""
    columns = []
    within = distance <= cutoff
    f_cut = np.where(within, 0.5 * (np.cos(np.pi * distance / cutoff) + 1.0), 0.0)
    for eta in G2_ETAS:
        columns.append(_per_centre_sum(np.exp(-eta * distance**2) * f_cut, centre, n))
    for eta in G2_ETAS:
        columns.append(_per_centre_sum(np.exp(-eta * distance**2) * f_cut * chi[neighbor], centre, n))

    # bond pairs (j, k) of the first shell of every atom, j != k, and their angle cosines
    from ._crystal_graph import line_graph

    shell_centre = centre[in_shell]
    pairs, cos = line_graph(shell_centre, vector[in_shell])
    pair_centre = shell_centre[pairs[0]]
    n_pairs = np.bincount(pair_centre, minlength=n).astype(float)
    for l in STEINHARDT_L:
        cross = _per_centre_sum(eval_legendre(l, cos), pair_centre, n)
        columns.append(np.sqrt(np.clip(coordination + cross, 0.0, None)) / coordination)
    bins = np.clip(np.searchsorted(ANGLE_BIN_EDGES, cos, side="right") - 1, 0, len(ANGLE_BIN_EDGES) - 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        for k in range(len(ANGLE_BIN_EDGES) - 1):
            columns.append(np.where(n_pairs > 0, _per_centre_sum((bins == k).astype(float), pair_centre, n) / n_pairs,
                                    0.0))
        columns.append(np.where(n_pairs > 0, _per_centre_sum(cos, pair_centre, n) / n_pairs, 0.0))

    # Hoppe's effective coordination number: a weighted mean bond length, iterated to self-consistency
    starts = np.searchsorted(centre, np.arange(n))
    mean_length = distance[starts]
    for _ in range(10):
        weights = np.exp(1.0 - (distance / mean_length[centre]) ** 6)
        mean_length = _per_centre_sum(weights * distance, centre, n) / _per_centre_sum(weights, centre, n)
    columns.append(_per_centre_sum(np.exp(1.0 - (distance / mean_length[centre]) ** 6), centre, n))

    shell_neighbor = neighbor[in_shell]
    columns.append(chi - _per_centre_sum(chi[shell_neighbor], shell_centre, n) / coordination)
    columns.append(_per_centre_sum(inv_sqrt_mu, shell_centre, n) / coordination)
    return np.column_stack(columns)
