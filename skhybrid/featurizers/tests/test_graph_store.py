"""The on-disk graph store: the same graphs as in memory, resumable writes, refused mismatches, training."""

import json
import pickle

import numpy as np
import pytest

from skhybrid.featurizers import GraphStore, StructureGraphizer, write_graph_store
from skhybrid.featurizers import _graph_store
from skhybrid.models import CGCNNRegressor
from skhybrid.utils._testing import synthetic_crystals


@pytest.fixture(scope="module")
def crystals():
    return synthetic_crystals(40, seed=8)


def _same(a, b):
    assert set(a.keys()) == set(b.keys())
    for key in a.keys():
        np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]), err_msg=key)


@pytest.mark.parametrize("settings", [dict(), dict(line_graph=True, max_neighbors=8),
                                      dict(cutoff=5.0, max_neighbors=None, atom_features="z"),
                                      dict(cutoff=5.0, max_neighbors=None, gaussian_width=0.57, gaussian_stop=4.8)])
def test_store_holds_the_in_memory_graphs(tmp_path, crystals, settings):
    structures, _ = crystals
    path = write_graph_store(structures, tmp_path / "g", StructureGraphizer(**settings), chunk_size=7, progress=False)
    store = GraphStore(path)
    graphs = StructureGraphizer(**settings).fit_transform(structures)
    assert len(store) == 40 and store.params == StructureGraphizer(**settings)._graph_params()
    for i in (0, 6, 7, 39):
        _same(store[i], graphs[i])
    view = store.subset([5, 20, 33])
    _same(view[1], graphs[20])
    _same(view.subset([2])[0], graphs[33])
    _same(store[10:13][2], graphs[12])
    _same(pickle.loads(pickle.dumps(view))[0], graphs[5])  # views travel to worker processes


def test_a_store_holds_distances_not_their_expansions(tmp_path, crystals):
    structures, _ = crystals
    path = write_graph_store(structures, tmp_path / "g", StructureGraphizer(line_graph=True), chunk_size=20,
                             progress=False)
    chunk = path / "chunk-000000"
    stored = {p.stem for p in chunk.glob("*.npy")}
    # the expansions (41 and 40 Gaussians) and the table rows of ordered structures are computed on reading
    assert not stored & {"edge_attr", "lg_attr", "x"}
    assert np.load(chunk / "distance.npy").dtype == np.float64 and np.load(chunk / "angle_cos.npy").dtype == np.float64
    graphs = StructureGraphizer(line_graph=True).fit_transform(structures[:20])
    expanded = sum(graphs[i][f].numpy().nbytes for i in range(20) for f in graphs[i].keys() if f != "num_nodes")
    on_disk = sum(p.stat().st_size for p in chunk.glob("*.npy"))
    assert on_disk < expanded / 5, (on_disk, expanded)


def test_disordered_and_ordered_structures_share_a_chunk(tmp_path, crystals):
    structures, _ = crystals
    disordered = structures[1].copy()
    disordered.replace(0, {"Na": 0.5, "K": 0.5})
    mixed = [structures[0], disordered, structures[2]]
    graphizer = StructureGraphizer(occupancy="weighted")
    store = GraphStore(write_graph_store(mixed, tmp_path / "g", graphizer, progress=False))
    assert (tmp_path / "g" / "chunk-000000" / "x.npy").is_file()
    for a, b in zip(store, graphizer.fit_transform(mixed)):
        _same(a, b)


def _to_format_1(path, structures, graphizer):
    """Rewrite a store in the first format: every field of the built graphs, expansions included."""
    import torch

    manifest = json.loads((path / "manifest.json").read_text())
    start = 0
    for k, info in enumerate(manifest["chunks"]):
        graphs = graphizer.fit_transform(structures[start:start + info["n"]])
        start += info["n"]
        folder = path / f"chunk-{k:06d}"
        for file in folder.glob("*.npy"):
            if not file.stem.startswith("n_") and file.stem != "fingerprints":
                file.unlink()
        fields = {}
        for field in graphs[0].keys():
            if field == "num_nodes":
                continue
            if field.endswith("edge_index"):
                array = np.ascontiguousarray(torch.cat([g[field] for g in graphs], dim=1).numpy().T)
            else:
                array = torch.cat([g[field] for g in graphs], dim=0).numpy()
            np.save(folder / f"{field}.npy", array)
            fields[field] = {"dtype": str(array.dtype), "shape": list(array.shape)}
        info["fields"] = fields
        del info["layout"]
    manifest["format_version"] = 1
    (path / "manifest.json").write_text(json.dumps(manifest))


def test_a_format_1_store_is_read_and_extended(tmp_path, crystals):
    structures, _ = crystals
    graphizer = StructureGraphizer(line_graph=True, max_neighbors=8)
    path = write_graph_store(structures[:20], tmp_path / "g", graphizer, chunk_size=10, progress=False)
    _to_format_1(path, structures[:20], graphizer)
    assert (path / "chunk-000001" / "edge_attr.npy").is_file()
    graphs = graphizer.fit_transform(structures)
    _same(GraphStore(path)[13], graphs[13])
    # a graphizer with this store adds the structures it lacks in chunks of the new layout
    extended = StructureGraphizer(line_graph=True, max_neighbors=8, store=str(path)).fit_transform(structures)
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["format_version"] == 2 and [c.get("layout", 1) for c in manifest["chunks"]] == [1, 1, 2]
    for i in (3, 13, 25, 39):
        _same(extended[i], graphs[i])


def test_shuffled_reads_over_more_chunks_than_stay_open(tmp_path, crystals, monkeypatch):
    structures, _ = crystals
    monkeypatch.setattr(_graph_store, "OPEN_CHUNKS", 2)
    store = GraphStore(write_graph_store(structures, tmp_path / "g", chunk_size=4, progress=False))  # 10 chunks
    graphs = StructureGraphizer().fit_transform(structures)
    loads = []
    original = store._load_chunk
    store._load_chunk = lambda k: loads.append(k) or original(k)
    for _ in range(2):
        for i in np.random.default_rng(0).permutation(40):
            _same(store[int(i)], graphs[i])
            assert len(store._open) <= 2
    # files are closed and reopened, but each chunk's counts and headers are read once
    assert sorted(loads) == list(range(10))
    open_files = [f for chunk in store._chunks.values() for f in chunk["fields"].values() if f.fd is not None]
    assert len(open_files) <= 2 * 5


def test_parallel_write_equals_serial(tmp_path, crystals):
    structures, _ = crystals
    serial = GraphStore(write_graph_store(structures, tmp_path / "a", chunk_size=5, progress=False))
    parallel = GraphStore(write_graph_store(structures, tmp_path / "b", chunk_size=5, n_jobs=2, progress=False))
    for i in range(0, 40, 9):
        _same(parallel[i], serial[i])


def test_an_interrupted_write_resumes_without_rebuilding(tmp_path, crystals, monkeypatch):
    structures, _ = crystals

    def interrupted():
        for i, structure in enumerate(structures):
            if i == 23:
                raise KeyboardInterrupt
            yield structure

    with pytest.raises(KeyboardInterrupt):
        write_graph_store(interrupted(), tmp_path / "g", chunk_size=8, progress=False)
    with pytest.raises(ValueError, match="incomplete"):
        GraphStore(tmp_path / "g")
    built = []
    original = _graph_store._write_chunk
    monkeypatch.setattr(_graph_store, "_write_chunk",
                        lambda folder, *a: built.append(folder.name) or original(folder, *a))
    store = GraphStore(write_graph_store(iter(structures), tmp_path / "g", chunk_size=8, progress=False,
                                         n_structures=40))
    assert built == ["chunk-000002", "chunk-000003", "chunk-000004"]  # chunks 0-1 were kept
    _same(store[39], StructureGraphizer().fit_transform(structures[39:])[0])


def test_mismatches_and_damage_are_named(tmp_path, crystals):
    structures, _ = crystals
    path = write_graph_store(structures, tmp_path / "g", chunk_size=10, progress=False)
    with pytest.raises(ValueError, match="other settings"):
        write_graph_store(structures, path, StructureGraphizer(cutoff=6.0), chunk_size=10, progress=False)
    with pytest.raises(ValueError, match="chunk 0 was written from other structures"):
        write_graph_store(structures[::-1], path, chunk_size=10, progress=False)
    with pytest.raises(ValueError, match="global features"):
        from skhybrid import MagpieFeaturizer

        write_graph_store(structures, tmp_path / "u", StructureGraphizer(global_features=MagpieFeaturizer()))
    with pytest.raises(ValueError, match=r"structures\[0:\]\[1\] is not a pymatgen Structure"):
        write_graph_store([structures[0], "NaCl"], tmp_path / "bad", progress=False)
    with pytest.raises(FileNotFoundError, match="not a graph store"):
        GraphStore(tmp_path / "nothing")

    manifest = json.loads((path / "manifest.json").read_text())
    (path / "manifest.json").write_text(json.dumps({**manifest, "format_version": 99}))
    with pytest.raises(ValueError, match="newer skhybrid"):
        GraphStore(path)
    (path / "manifest.json").write_text(json.dumps(manifest))

    file = path / "chunk-000001" / "distance.npy"
    file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])  # truncated
    store = GraphStore(path)
    _same(store[3], StructureGraphizer().fit_transform(structures[3:4])[0])  # chunk 0 is intact
    with pytest.raises(ValueError, match="chunk-000001.distance.npy.*damaged"):
        store[12]


def test_a_network_trains_from_the_store_as_from_memory(tmp_path, crystals):
    structures, y = crystals
    store = GraphStore(write_graph_store(structures, tmp_path / "g", StructureGraphizer(max_neighbors=8),
                                         chunk_size=16, progress=False))
    graphs = StructureGraphizer(max_neighbors=8).fit_transform(structures)
    settings = dict(max_epochs=4, validation_fraction=0.2, random_state=0, module__hidden_channels=16)
    from_memory = CGCNNRegressor(**settings).fit(graphs[:30], y[:30]).predict(graphs[30:])
    from_store = CGCNNRegressor(**settings).fit(store.subset(range(30)), y[:30]).predict(store.subset(range(30, 40)))
    np.testing.assert_array_equal(from_store, from_memory)


def test_a_graphizer_with_a_store_reuses_and_adds_graphs_across_folds(tmp_path, crystals):
    from sklearn.pipeline import make_pipeline

    from skhybrid import MagpieFeaturizer

    structures, y = crystals
    graphizer = StructureGraphizer(max_neighbors=8, store=str(tmp_path / "g"), global_features=MagpieFeaturizer())
    first = graphizer.fit_transform(structures[:25])
    assert isinstance(first, GraphStore) and len(GraphStore(tmp_path / "g")) == 25
    second = graphizer.transform(structures[15:])          # 10 known, 15 new: only the new are built
    assert len(GraphStore(tmp_path / "g")) == 40
    in_memory = StructureGraphizer(max_neighbors=8, global_features=MagpieFeaturizer()).fit(structures[:25])
    _same(second[0], in_memory.transform(structures[15:16])[0])   # u computed on the fly, as in memory
    _same(second[24], in_memory.transform(structures[39:40])[0])
    with pytest.raises(ValueError, match="other settings"):
        StructureGraphizer(cutoff=6.0, store=str(tmp_path / "g")).fit_transform(structures[:2])
    # a pipeline trains through the store exactly as through memory
    settings = dict(max_epochs=3, validation_fraction=0, random_state=0, module__hidden_channels=16)
    stored = make_pipeline(StructureGraphizer(max_neighbors=8, store=str(tmp_path / "p")), CGCNNRegressor(**settings))
    plain = make_pipeline(StructureGraphizer(max_neighbors=8), CGCNNRegressor(**settings))
    np.testing.assert_array_equal(stored.fit(structures[:30], y[:30]).predict(structures[30:]),
                                  plain.fit(structures[:30], y[:30]).predict(structures[30:]))
