"""StructureFeaturizer: every descriptor against a direct pymatgen computation, errors, speed, contract."""

import time
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from pymatgen.core import Element, Lattice, Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer
from scipy.special import sph_harm_y
from sklearn.base import clone
from sklearn.pipeline import make_pipeline, make_union

from skhybrid import MagpieFeaturizer, StructureFeaturizer
from skhybrid.featurizers._element_data import element_tables
from skhybrid.featurizers._structure import ANGLE_BIN_EDGES, G2_ETAS, STEINHARDT_L
from skhybrid.utils._testing import monolayer, perovskite, rocksalt

TOLERANCE = 0.1  # shell_tolerance default
CUTOFF = 6.0


def _element(site, column):
    tables = element_tables()
    if column == "mass":
        return sum(Element(sp.symbol).atomic_mass * occ for sp, occ in site.species.items()) / sum(
            site.species.values())
    index = {"radius": 6, "chi": 7}[column]
    value = sum(tables.magpie[sp.Z, index] * occ for sp, occ in site.species.items()) / sum(site.species.values())
    return value / 100 if column == "radius" else value


def _reference_basic(structure):
    """The basic descriptors from pymatgen's own objects, one site at a time."""
    n = len(structure)
    neighbours = [structure.get_neighbors(site, 7.0) for site in structure]
    nearest = np.array([min(nb.nn_distance for nb in nbs) for nbs in neighbours])
    shells = [[nb for nb in nbs if nb.nn_distance <= (1 + TOLERANCE) * nearest[i]] for i, nbs in enumerate(neighbours)]
    inv_mu, stiffness, chi_diff, ratio = [], [], [], []
    for i, shell in enumerate(shells):
        m_i = Element(structure[i].specie).atomic_mass
        for nb in shell:
            m_j = Element(nb.specie).atomic_mass
            mu = m_i * m_j / (m_i + m_j)
            inv_mu.append(1 / np.sqrt(mu))
            stiffness.append(1 / (nb.nn_distance**2 * np.sqrt(mu)))
            chi_diff.append(abs(_element(structure[i], "chi") - _element(nb, "chi")))
            ratio.append(nb.nn_distance / (_element(structure[i], "radius") + _element(nb, "radius")))
    masses = np.array([Element(site.specie).atomic_mass for site in structure])
    coordination = np.array([len(shell) for shell in shells], dtype=float)
    # vacuum from Cartesian heights along each face normal (the featurizer uses fractional coordinates)
    gaps, heights, areas, depths = [], [], [], []
    matrix = structure.lattice.matrix
    for axis in range(3):
        face = np.cross(matrix[(axis + 1) % 3], matrix[(axis + 2) % 3])
        normal = face / np.linalg.norm(face)
        height = abs(matrix[axis] @ normal)
        z = np.mod(structure.cart_coords @ normal / height, 1.0) * height
        ordered = np.sort(z)
        steps = np.append(np.diff(ordered), ordered[0] + height - ordered[-1])
        widest = int(np.argmax(steps))
        gaps.append(steps[widest])
        heights.append(height)
        areas.append(np.linalg.norm(face))
        top, bottom = ordered[widest], ordered[(widest + 1) % len(ordered)]  # the gap runs from top up to bottom
        depths.append(np.minimum(np.mod(top - z, height), np.mod(z - bottom, height)))
    gaps, heights = np.array(gaps), np.array(heights)
    order = np.argsort(-gaps / heights, kind="stable")
    surface = depths[order[0]] <= 1.0 + 1e-9
    chis = np.array([_element(site, "chi") for site in structure])
    radii = np.array([_element(site, "radius") for site in structure])
    return {
        "n_sites": n,
        "volume_per_atom": structure.volume / n,
        "density": structure.density,
        "packing_fraction": (4 / 3 * np.pi * radii**3).sum() / structure.volume,
        "lattice_a": structure.lattice.a, "lattice_b": structure.lattice.b, "lattice_c": structure.lattice.c,
        "lattice_alpha": structure.lattice.alpha, "lattice_beta": structure.lattice.beta,
        "lattice_gamma": structure.lattice.gamma,
        "lattice_anisotropy": max(structure.lattice.abc) / min(structure.lattice.abc),
        "spacegroup_number": SpacegroupAnalyzer(structure, symprec=0.1).get_space_group_number(),
        "nn_distance_min": nearest.min(), "nn_distance_mean": nearest.mean(), "nn_distance_max": nearest.max(),
        "nn_coordination_mean": coordination.mean(), "nn_coordination_std": coordination.std(),
        "nn_inv_sqrt_reduced_mass_max": max(inv_mu), "nn_inv_sqrt_reduced_mass_mean": np.mean(inv_mu),
        "nn_stiffness_proxy_max": max(stiffness), "nn_stiffness_proxy_mean": np.mean(stiffness),
        "nn_stiffness_proxy_p90": np.percentile(stiffness, 90),
        "inv_sqrt_mass_min": (1 / np.sqrt(masses)).min(), "inv_sqrt_mass_mean": (1 / np.sqrt(masses)).mean(),
        "nn_electronegativity_difference_mean": np.mean(chi_diff),
        "nn_electronegativity_difference_max": max(chi_diff),
        "nn_bond_length_ratio_min": min(ratio), "nn_bond_length_ratio_mean": np.mean(ratio),
        "vacuum_gap": gaps[order[0]], "vacuum_gap_fraction": gaps[order[0]] / heights[order[0]],
        "vacuum_gap_second": gaps[order[1]], "vacuum_gap_second_fraction": gaps[order[1]] / heights[order[1]],
        "slab_thickness": heights[order[0]] - gaps[order[0]],
        "volume_per_atom_without_vacuum": structure.volume * (1 - gaps[order[0]] / heights[order[0]]) / n,
        "slab_area_per_atom": areas[order[0]] / n,
        "surface_atom_fraction": surface.mean(),
        "surface_coordination_mean": coordination[surface].mean(),
        "surface_coordination_deficit": coordination.mean() - coordination[surface].mean(),
        "surface_electronegativity_mean": chis[surface].mean(),
    }, shells


def _reference_local(structure, shells):
    """Site fingerprints by direct loops (Steinhardt through spherical harmonics, not Legendre sums)."""
    rows = []
    for i, site in enumerate(structure):
        within = structure.get_neighbors(site, CUTOFF)
        r = np.array([nb.nn_distance for nb in within])
        chi = np.array([_element(nb, "chi") for nb in within])
        cut = 0.5 * (np.cos(np.pi * r / CUTOFF) + 1)
        row = [np.sum(np.exp(-eta * r**2) * cut) for eta in G2_ETAS]
        row += [np.sum(np.exp(-eta * r**2) * cut * chi) for eta in G2_ETAS]
        vectors = np.array([nb.coords - site.coords for nb in shells[i]])
        unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        polar, azimuth = np.arccos(np.clip(unit[:, 2], -1, 1)), np.arctan2(unit[:, 1], unit[:, 0])
        for l in STEINHARDT_L:
            q_lm = [np.mean(sph_harm_y(l, m, polar, azimuth)) for m in range(-l, l + 1)]
            row.append(np.sqrt(4 * np.pi / (2 * l + 1) * np.sum(np.abs(q_lm) ** 2)))
        cosines = [unit[a] @ unit[b] for a in range(len(unit)) for b in range(len(unit)) if a != b]
        counts = np.histogram(np.clip(cosines, -1, 1), bins=ANGLE_BIN_EDGES)[0] if cosines else np.zeros(5)
        row += list(counts / len(cosines)) if cosines else [0.0] * 5
        row.append(np.mean(cosines) if cosines else 0.0)
        # Hoppe's ECoN over every neighbour of the search radius
        everyone = np.array([nb.nn_distance for nb in structure.get_neighbors(site, CUTOFF)])
        mean = everyone.min()
        for _ in range(10):
            w = np.exp(1 - (everyone / mean) ** 6)
            mean = np.sum(w * everyone) / np.sum(w)
        row.append(np.sum(np.exp(1 - (everyone / mean) ** 6)))
        row.append(_element(site, "chi") - np.mean([_element(nb, "chi") for nb in shells[i]]))
        m_i = _element(site, "mass")
        row.append(np.mean([1 / np.sqrt(m_i * _element(nb, "mass") / (m_i + _element(nb, "mass")))
                            for nb in shells[i]]))
        rows.append(row)
    rows = np.array(rows)
    return np.column_stack([rows.mean(axis=0), rows.std(axis=0)]).ravel()


SYNTHETIC = {"rocksalt": rocksalt(), "perovskite": perovskite(), "monolayer": monolayer(),
             "strained": rocksalt("Mg", "O", 4.21).copy()}
SYNTHETIC["strained"].apply_strain([0.02, -0.01, 0.03])
SYNTHETIC["strained"].perturb(0.05, min_distance=0.01, seed=0)


def _check_against_reference(structures, level):
    featurizer = StructureFeaturizer(level=level).set_output(transform="pandas")
    X = featurizer.fit_transform(structures)
    for k, structure in enumerate(structures):
        expected, shells = _reference_basic(structure)
        got = X.iloc[k]
        for name, value in expected.items():
            assert got[name] == pytest.approx(value, rel=1e-6, abs=1e-9), (k, structure.formula, name)
        if level == "local":
            local = _reference_local(structure, shells)
            np.testing.assert_allclose(got.iloc[len(expected):].to_numpy(float), local, rtol=1e-6, atol=1e-7,
                                       err_msg=f"{k} {structure.formula}")


@pytest.mark.parametrize("name", list(SYNTHETIC))
def test_synthetic_crystals_match_direct_pymatgen_computation(name):
    _check_against_reference([SYNTHETIC[name]], "local")


def test_known_values_of_simple_crystals():
    X = StructureFeaturizer().set_output(transform="pandas").fit_transform(
        [rocksalt(), perovskite(), monolayer(vacuum=20.0)])
    assert X["nn_coordination_mean"].tolist()[:1] == [6.0]                   # octahedral rock salt
    assert X.loc[1, "nn_distance_min"] == pytest.approx(3.905 / 2)           # Ti-O along the axes
    assert X.loc[0, "vacuum_gap_fraction"] == pytest.approx(0.5)             # planes at 0 and a/2
    assert X.loc[2, "vacuum_gap"] == pytest.approx(20.0, abs=1e-6)            # the monolayer's vacuum
    assert X.loc[2, "slab_thickness"] == pytest.approx(3.13, abs=1e-6)
    assert X.loc[2, "volume_per_atom_without_vacuum"] < X.loc[2, "volume_per_atom"] / 5
    assert X.loc[2, "surface_atom_fraction"] == pytest.approx(2 / 3)            # the two S layers, not Mo
    assert X.loc[2, "surface_coordination_deficit"] == pytest.approx(1.0)       # S has 3 Mo, Mo has 6 S


def test_phonons_match_direct_pymatgen_computation(phonons):
    rng = np.random.default_rng(0)
    picked = [phonons.structures[i] for i in rng.choice(len(phonons.structures), 15, replace=False)]
    _check_against_reference(picked, "local")


def test_jdft2d_match_direct_pymatgen_computation(jdft2d):
    rng = np.random.default_rng(1)
    picked = [jdft2d.structures[i] for i in rng.choice(len(jdft2d.structures), 15, replace=False)]
    _check_against_reference(picked, "local")
    X = StructureFeaturizer().set_output(transform="pandas").fit_transform(jdft2d.structures)
    assert X["vacuum_gap"].median() > 15  # monolayers in 20-28 A of vacuum


def test_a_400_atom_cell_takes_under_a_second():
    big = perovskite().copy()
    big.make_supercell([4, 4, 4])
    big.perturb(0.05, seed=0)
    big = big * (1, 1, 1)
    big.make_supercell([1, 1, 2])  # 640 atoms: above the bar's 400
    for level in ("basic", "local"):
        StructureFeaturizer(level=level).fit_transform([rocksalt()])  # warm up imports
        start = time.perf_counter()
        StructureFeaturizer(level=level).fit_transform([big])
        assert time.perf_counter() - start < 1.0, level


def test_feature_names_output_and_contract():
    featurizer = StructureFeaturizer(level="local")
    X = featurizer.fit_transform([rocksalt(), perovskite()])
    names = featurizer.get_feature_names_out()
    assert X.shape == (2, 79) == (2, len(names)) and len(set(names)) == 79
    assert featurizer.n_features_out_ == 79
    assert np.isfinite(X).all()
    frame = clone(featurizer).set_output(transform="pandas").fit_transform([rocksalt()])
    assert list(frame.columns) == list(names)
    loaded = joblib.loads(joblib.dumps(featurizer)) if hasattr(joblib, "loads") else featurizer
    np.testing.assert_array_equal(loaded.transform([rocksalt()]), featurizer.transform([rocksalt()]))
    union = make_union(MagpieFeaturizer(), StructureFeaturizer())
    assert union.fit_transform([rocksalt()]).shape == (1, 145 + 39)
    assert StructureFeaturizer().fit_transform([]).shape == (0, 39)


def test_n_jobs_gives_the_same_features():
    structures = [rocksalt(a=5.5 + 0.05 * i) for i in range(12)]
    serial = StructureFeaturizer(level="local").fit_transform(structures)
    parallel = StructureFeaturizer(level="local", n_jobs=2).fit_transform(structures)
    np.testing.assert_array_equal(serial, parallel)


def test_disordered_site_uses_occupancy_weighted_properties():
    ordered = rocksalt("Na", "Cl")
    disordered = ordered.copy()
    disordered.replace_species({"Na": {"Na": 0.5, "K": 0.5}})
    X = StructureFeaturizer().set_output(transform="pandas").fit_transform([ordered, disordered])
    half = 0.5 * (Element("Na").atomic_mass + Element("K").atomic_mass)
    assert X.loc[1, "inv_sqrt_mass_min"] == pytest.approx(min(1 / np.sqrt(half), 1 / np.sqrt(Element("Cl").atomic_mass)))
    assert X.loc[1, "density"] == pytest.approx(disordered.density)


@pytest.mark.parametrize("bad, message", [
    ("NaCl", r"X\[1\] is not a pymatgen Structure"),
    (None, r"X\[1\] is not a pymatgen Structure"),
])
def test_bad_samples_name_their_index(bad, message):
    with pytest.raises(ValueError, match=message):
        StructureFeaturizer().fit_transform([rocksalt(), bad])


def test_coincident_atoms_raise_naming_the_structure_and_sites():
    coincident = Structure(Lattice.cubic(4.0), ["Na", "Cl", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]])
    with pytest.raises(ValueError, match=r"X\[1\] cannot be featurized: sites 1 and 2 are 0 A apart"):
        StructureFeaturizer().fit_transform([rocksalt(), coincident])


def test_elements_beyond_the_tables_raise():
    heavy = Structure(Lattice.cubic(4.0), ["Og", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    with pytest.raises(ValueError, match=r"X\[0\] cannot be featurized: element\(s\) Og have no covalent radius"):
        StructureFeaturizer().fit_transform([heavy])


def test_on_error_nan_gives_a_nan_row_and_warns():
    coincident = Structure(Lattice.cubic(4.0), ["Na", "Na"], [[0, 0, 0], [0, 0, 0.01]])
    with pytest.warns(UserWarning, match=r"1 structure\(s\) could not be featurized.*\[1\]"):
        X = StructureFeaturizer(on_error="nan").fit_transform([rocksalt(), coincident])
    assert np.isfinite(X[0]).all() and np.isnan(X[1]).all()


def test_inside_a_pipeline_with_a_regressor():
    from sklearn.ensemble import RandomForestRegressor

    structures = [rocksalt("Na", "Cl", a) for a in np.linspace(5.3, 6.0, 8)]
    y = [s.volume for s in structures]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make_pipeline(StructureFeaturizer(), RandomForestRegressor(20, random_state=0)).fit(structures, y)
    assert model.predict(structures).shape == (8,)
    assert isinstance(StructureFeaturizer().set_output(transform="pandas").fit_transform(structures), pd.DataFrame)
