
import joblib
import numpy as np
import pytest
import torch
from pymatgen.core import Lattice, Molecule, Structure
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import (
    check_estimator_cloneable,
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_set_params,
)
from torch_geometric.loader import DataLoader

from skhybrid import CrystalGraph, MagpieFeaturizer, StructureGraphizer
from skhybrid.utils._testing import reference_cgcnn_graph


def _perovskite(a=3.9):
    """Ideal cubic SrTiO3: Ti-O bonds along the axes, O-Ti-O angles of 90 and 180 degrees."""
    return Structure(Lattice.cubic(a), ["Sr", "Ti", "O", "O", "O"],
                     [[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])


@pytest.mark.parametrize(
    "check",
    [check_no_attributes_set_in_init, check_estimator_cloneable, check_get_params_invariance, check_set_params],
)
def test_sklearn_data_free_checks(check):
    check("StructureGraphizer", StructureGraphizer())


def test_equivalence_with_reference_cgcnn_on_phonons(phonons):
    """Neighbour indices, distances and Gaussians equal CGCNN's, except documented ties.

    A tie: where two candidate neighbours are equally far (within 1e-8 A) their order,
    and which of them is kept at the 12-neighbour boundary, may differ. Distances
    must match at every position; an index may differ only inside such a tie.
    """
    graphizer = StructureGraphizer().fit(phonons.structures[:1])
    differing_in_ties = 0
    for structure, graph in zip(phonons.structures, graphizer.transform(phonons.structures)):
        index, distance, gaussians = reference_cgcnn_graph(structure)
        n = len(structure)
        ours_index = graph.edge_index[0].numpy().reshape(n, 12)
        ours_distance = graph.distance.numpy().reshape(n, 12)
        assert np.array_equal(graph.edge_index[1].numpy().reshape(n, 12), np.repeat(np.arange(n)[:, None], 12, axis=1))
        np.testing.assert_allclose(ours_distance, distance, atol=1e-5)
        np.testing.assert_allclose(graph.edge_attr.numpy().reshape(n, 12, 41), gaussians, atol=1e-4)
        mismatches = np.argwhere(ours_index != index)
        if len(mismatches):
            all_nbrs = structure.get_all_neighbors(8.0, include_index=True)
        for i, j in mismatches:
            # our neighbour is one of the reference's candidates at exactly that distance,
            # and that distance is shared by another candidate (a tie)
            at_distance = [n.index for n in all_nbrs[i] if abs(n.nn_distance - distance[i, j]) < 1e-8]
            assert ours_index[i, j] in at_distance and len(at_distance) > 1, (structure.formula, i, j)
            differing_in_ties += 1
    # ties are common in symmetric cells; the count documents their share
    assert differing_in_ties < 0.2 * sum(len(s) * 12 for s in phonons.structures)


def test_perovskite_angles():
    graph = StructureGraphizer(cutoff=3.0, max_neighbors=6, line_graph=True).fit_transform([_perovskite()])[0]
    ti_bonds = (graph.edge_index[1] == 1).nonzero().flatten()  # Ti's six O neighbours
    assert len(ti_bonds) == 6
    assert set(graph.z[graph.edge_index[0, ti_bonds]].tolist()) == {8}
    lg = graph.lg_edge_index
    at_ti = torch.isin(lg[0], ti_bonds) & torch.isin(lg[1], ti_bonds)
    angles = np.degrees(np.arccos(graph.angle_cos[at_ti].numpy().astype(float)))
    # 6 bonds: 30 ordered pairs, 24 at 90 degrees and 6 at 180
    assert len(angles) == 30
    assert np.sum(np.isclose(angles, 90, atol=1e-3)) == 24
    assert np.sum(np.isclose(angles, 180, atol=1e-3)) == 6


def test_angles_match_direct_numpy(phonons):
    structure = phonons.structures[3]
    graph = StructureGraphizer(line_graph=True).fit_transform([structure])[0]
    cart = structure.cart_coords
    lattice = structure.lattice.matrix
    # recompute every bond vector from scratch with the neighbour's image
    centre_pos = cart[graph.edge_index[1].numpy()]
    vec = graph.edge_vec.numpy().astype(float)
    np.testing.assert_allclose(np.linalg.norm(vec, axis=1), graph.distance.numpy(), rtol=1e-5)
    src, dst = graph.lg_edge_index.numpy()
    assert np.all(graph.edge_index[1].numpy()[src] == graph.edge_index[1].numpy()[dst])  # shared centre
    assert np.all(src != dst)
    u, v = vec[src], vec[dst]
    expected = np.sum(u * v, axis=1) / np.linalg.norm(u, axis=1) / np.linalg.norm(v, axis=1)
    np.testing.assert_allclose(graph.angle_cos.numpy(), expected, atol=1e-5)
    # neighbour image positions are lattice translates of the neighbour's site
    frac = np.linalg.solve(lattice.T, (centre_pos + vec - cart[graph.edge_index[0].numpy()]).T).T
    np.testing.assert_allclose(frac, np.round(frac), atol=1e-4)
    assert graph.lg_attr.shape == (len(src), 40)


def test_one_atom_cell_links_to_its_images():
    po = Structure(Lattice.cubic(3.35), ["Po"], [[0, 0, 0]])
    graph = StructureGraphizer().fit_transform([po])[0]
    assert graph.num_nodes == 1 and graph.edge_index.shape == (2, 12)
    assert torch.all(graph.edge_index == 0)
    np.testing.assert_allclose(graph.distance.numpy()[:6], 3.35, rtol=1e-6)


def test_deterministic_order():
    s = _perovskite()
    a = StructureGraphizer(line_graph=True).fit_transform([s])[0]
    b = StructureGraphizer(line_graph=True).fit_transform([s.copy()])[0]
    for key in ["edge_index", "distance", "lg_edge_index", "angle_cos"]:
        assert torch.equal(a[key], b[key])


def test_isolated_atom_grows_cutoff_and_warns():
    lattice = Lattice.cubic(20.0)
    s = Structure(lattice, ["H", "H", "Ar"], [[0, 0, 0], [0.037, 0, 0], [0.5, 0.5, 0.5]])
    with pytest.warns(UserWarning, match=r"structure\(s\) \[1\]"):
        graphs = StructureGraphizer(cutoff=5.0).fit_transform([_perovskite(), s])
    # a second pass served from the graph cache warns the same
    with pytest.warns(UserWarning, match=r"structure\(s\) \[0\]"):
        StructureGraphizer(cutoff=5.0).fit_transform([s])
    assert set(graphs[1].edge_index[1].tolist()) == {0, 1, 2}  # every atom has a neighbour


def test_disordered_structure():
    s = Structure(Lattice.cubic(4.0), [{"Fe": 0.5, "Co": 0.5}, "O"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    with pytest.raises(ValueError, match=r"X\[1\] is disordered.*occupancy='weighted'"):
        StructureGraphizer().fit_transform([_perovskite(), s])
    graph = StructureGraphizer(occupancy="weighted").fit_transform([s])[0]
    from skhybrid.featurizers._crystal_graph import cgcnn_atom_features

    table = cgcnn_atom_features()
    np.testing.assert_allclose(graph.x[0].numpy(), 0.5 * table[26] + 0.5 * table[27], atol=1e-6)


def test_bad_inputs_name_the_index():
    with pytest.raises(ValueError, match=r"X\[1\] is not a pymatgen Structure"):
        StructureGraphizer().fit([_perovskite(), "SrTiO3"])
    with pytest.raises(ValueError, match=r"X\[0\] is an empty Structure"):
        StructureGraphizer().fit([Structure(Lattice.cubic(3), [], [])])
    with pytest.raises(ValueError, match=r"X\[0\] is not a pymatgen Structure"):
        StructureGraphizer().fit([Molecule(["H"], [[0, 0, 0]])])


def test_500_atom_cell_stays_bounded():
    import time
    import tracemalloc

    big = _perovskite()
    big.make_supercell([5, 5, 4])  # 500 atoms
    tracemalloc.start()
    start = time.perf_counter()
    graph = StructureGraphizer(line_graph=True).fit_transform([big])[0]
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert graph.num_nodes == 500 and graph.edge_index.shape[1] == 500 * 12
    assert graph.lg_edge_index.shape[1] == 500 * 12 * 11
    assert peak < 300e6 and elapsed < 10


def test_global_features_and_batching(phonons):
    graphizer = StructureGraphizer(line_graph=True, global_features=MagpieFeaturizer(), atom_features="z")
    graphs = graphizer.fit_transform(phonons.structures[:5])
    assert graphizer.n_global_features_ == 145 and graphizer.n_node_features_ == 0
    assert all(isinstance(g, CrystalGraph) and g.u.shape == (1, 145) and "x" not in g for g in graphs)
    batch = next(iter(DataLoader(graphs, batch_size=5)))
    assert batch.u.shape == (5, 145)
    # line-graph indices point into the batch's bonds, graph by graph
    offset = 0
    for k, g in enumerate(graphs):
        n_lg = g.lg_edge_index.shape[1]
        start = sum(h.lg_edge_index.shape[1] for h in graphs[:k])
        assert torch.equal(batch.lg_edge_index[:, start:start + n_lg], g.lg_edge_index + offset)
        offset += g.edge_index.shape[1]


def test_n_jobs_gives_identical_graphs(phonons):
    X = phonons.structures[:16]
    serial = StructureGraphizer(line_graph=True).fit_transform(X)
    parallel = StructureGraphizer(line_graph=True, n_jobs=2).fit_transform(X)
    for a, b in zip(serial, parallel):
        assert torch.equal(a.edge_index, b.edge_index) and torch.equal(a.lg_attr, b.lg_attr)


def test_clone_pipeline_joblib(tmp_path, phonons):
    graphizer = StructureGraphizer(cutoff=6.0, global_features=MagpieFeaturizer(preset="magpie132"))
    cloned = clone(graphizer)
    assert cloned.get_params()["cutoff"] == 6.0 and cloned.global_features is not graphizer.global_features
    pipe = Pipeline([("graph", graphizer)]).fit(phonons.structures[:3])
    joblib.dump(pipe, tmp_path / "g.joblib")
    restored = joblib.load(tmp_path / "g.joblib")
    for a, b in zip(pipe.transform(phonons.structures[:3]), restored.transform(phonons.structures[:3])):
        assert torch.equal(a.edge_attr, b.edge_attr) and torch.equal(a.u, b.u)


def test_transform_before_fit_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        StructureGraphizer().transform([_perovskite()])


def test_bad_parameters():
    with pytest.raises(ValueError, match="cutoff"):
        StructureGraphizer(cutoff=-1).fit([_perovskite()])
    with pytest.raises(ValueError, match="atom_features"):
        StructureGraphizer(atom_features="onehot").fit([_perovskite()])


def test_cache_reuses_graphs_across_clones(phonons):
    from skhybrid.featurizers import clear_graph_cache
    from skhybrid.featurizers._graph_cache import GRAPH_CACHE

    clear_graph_cache()
    X = phonons.structures[:20]
    first = StructureGraphizer(line_graph=True).fit_transform(X)
    assert GRAPH_CACHE.misses == 20 and GRAPH_CACHE.hits == 0
    again = clone(StructureGraphizer(line_graph=True)).fit_transform(X)
    assert GRAPH_CACHE.hits == 20
    for a, b in zip(first, again):
        assert torch.equal(a.edge_index, b.edge_index) and torch.equal(a.lg_attr, b.lg_attr)
    # other parameters are other graphs
    other = StructureGraphizer(line_graph=True, cutoff=6.0).fit_transform(X[:2])
    assert GRAPH_CACHE.misses == 22 and other[0].edge_attr.shape[1] == 41
    # adding u to a returned graph does not leak into the cache
    with_u = StructureGraphizer(line_graph=True, global_features=MagpieFeaturizer()).fit_transform(X[:2])
    assert "u" in with_u[0]
    plain = StructureGraphizer(line_graph=True).fit_transform(X[:2])
    assert "u" not in plain[0]
    # a moved atom is another structure
    moved = X[0].copy()
    moved.translate_sites([0], [0.01, 0, 0])
    hits = GRAPH_CACHE.hits
    StructureGraphizer(line_graph=True).fit_transform([moved])
    assert GRAPH_CACHE.hits == hits
    # cache=False neither reads nor writes
    before = (GRAPH_CACHE.hits, GRAPH_CACHE.misses, len(GRAPH_CACHE))
    StructureGraphizer(line_graph=True, cache=False).fit_transform(X)
    assert (GRAPH_CACHE.hits, GRAPH_CACHE.misses, len(GRAPH_CACHE)) == before
    clear_graph_cache()
    assert len(GRAPH_CACHE) == 0


def test_cache_respects_its_budget(phonons):
    from skhybrid.featurizers._graph_cache import GraphCache, _graph_bytes

    graphs = StructureGraphizer(cache=False).fit_transform(phonons.structures[:10])
    budget = sum(_graph_bytes(g) for g in graphs[:3])
    cache = GraphCache(budget)
    for i, g in enumerate(graphs):
        cache.put(i, g)
    assert len(cache) <= 3 and cache.get(9) is not None and cache.get(0) is None
    assert cache.get(9)[1] is False


def test_editing_a_cached_graph_in_place_does_not_change_later_hits():
    from skhybrid.featurizers import clear_graph_cache
    from skhybrid.utils._testing import rocksalt

    clear_graph_cache()
    graphizer = StructureGraphizer().fit([rocksalt()])
    first = graphizer.transform([rocksalt()])[0]
    original = first.x.clone()
    first.x[0] = 99.0                      # a caller's in-place edit
    first.edge_attr.mul_(0.0)
    again = graphizer.transform([rocksalt()])[0]
    assert torch.equal(again.x, original) and again.edge_attr.abs().sum() > 0


def test_kgcnns_distance_expansion_is_a_setting():
    """kgcnn's GaussBasisLayer(bins=25, distance=5, sigma=0.4): exp(-(d - 0.2 k)^2 / (2 * 0.4^2)), k < 25."""
    graphizer = StructureGraphizer(cutoff=5.0, max_neighbors=None, atom_features="z", n_gaussians=25,
                                   gaussian_width=0.4 * 2 ** 0.5, gaussian_stop=4.8)
    graph = graphizer.fit_transform([_perovskite()])[0]
    distance = graph.distance.double()[:, None]
    kgcnn = torch.exp(-((distance - 0.2 * torch.arange(25.0, dtype=torch.float64)) ** 2) / (2 * 0.4 ** 2))
    torch.testing.assert_close(graph.edge_attr, kgcnn.float(), atol=1e-6, rtol=0)
    assert "gaussian_stop" not in StructureGraphizer()._graph_params()  # stores built before it keep their names
    with pytest.raises(ValueError, match="gaussian_stop"):
        StructureGraphizer(gaussian_stop=-1.0).fit([_perovskite()])
