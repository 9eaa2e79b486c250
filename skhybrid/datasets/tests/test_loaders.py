import gzip
import json
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
from pymatgen.core import Lattice, Structure
from sklearn.model_selection import KFold

from skhybrid.datasets import (
    ChecksumMismatchWarning,
    _base,
    _matbench,
    get_data_home,
    load_matbench,
    load_nomad2018,
    load_structures,
)


def _nacl(a=5.64):
    return Structure.from_spacegroup("Fm-3m", Lattice.cubic(a), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])


def _write_split(path, frame):
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(frame.to_json(orient="split"))


# --- data directory -------------------------------------------------------------------------


def test_data_home_resolution(monkeypatch, tmp_path):
    monkeypatch.delenv("SKHYBRID_DATA_DIR", raising=False)
    assert get_data_home() == get_data_home("~/.cache/skhybrid")
    monkeypatch.setenv("SKHYBRID_DATA_DIR", str(tmp_path))
    assert get_data_home() == tmp_path
    assert get_data_home(tmp_path / "x") == tmp_path / "x"


# --- Matbench -------------------------------------------------------------------------------


def test_phonons_official_folds(phonons):
    assert len(phonons.structures) == 1265
    assert all(isinstance(s, Structure) for s in phonons.structures)
    assert phonons.targets.shape == (1265, 1)
    assert list(phonons.targets.columns) == ["last phdos peak"]
    assert phonons.targets.index[0] == "mb-phonons-0001"
    assert phonons.targets.index[-1] == "mb-phonons-1265"
    assert len(phonons.folds) == 5
    tests = [test for _, test in phonons.folds]
    assert [len(t) for t in tests] == [253] * 5
    # the test folds partition the rows, and each train set is the complement
    assert np.array_equal(np.sort(np.concatenate(tests)), np.arange(1265))
    for train, test in phonons.folds:
        assert np.intersect1d(train, test).size == 0
        assert len(train) + len(test) == 1265
    # the official folds are KFold(5, shuffle=True, random_state=18012019) over row order
    expected = KFold(5, shuffle=True, random_state=18012019).split(np.arange(1265))
    for (_, test), (_, e_test) in zip(phonons.folds, expected):
        assert np.array_equal(test, np.sort(e_test))
    # the ids in the official fold file are exactly ours (row 0 = mb-phonons-0001)
    splits = _matbench._matbench_json("matbench_v0.1_validation.json")["splits"]["matbench_phonons"]
    official = [phonons.ids[i] for i in phonons.folds[0][1]]
    assert sorted(official) == sorted(splits["fold_0"]["test"])


def test_matbench_first_row_matches_file(phonons, data_home):
    with gzip.open(data_home / "matbench" / "matbench_phonons.json.gz", "rt") as handle:
        raw = json.load(handle)
    assert phonons.targets.iloc[0, 0] == raw["data"][0][1]
    assert phonons.structures[0] == Structure.from_dict(raw["data"][0][0])


def test_jdft2d_loads_with_checksum_warning(data_home):
    with pytest.warns(ChecksumMismatchWarning, match="matbench_jdft2d.json.gz"):
        data = load_matbench("matbench_jdft2d", data_home=data_home)
    assert len(data.structures) == 636
    assert data.ids[0] == "mb-jdft2d-001"  # three digits: 636 rows
    assert sum(len(t) for _, t in data.folds) == 636
    with pytest.raises(ValueError, match="sha256"):
        load_matbench("matbench_jdft2d", data_home=data_home, verify="strict")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        X, y = load_matbench("jdft2d", data_home=data_home, verify=False, return_X_y=True)
    assert len(X) == len(y) == 636 and y.name == "exfoliation_en"


def test_matbench_reads_flat_folder(tmp_path, data_home):
    shutil.copy(data_home / "matbench" / "matbench_phonons.json.gz", tmp_path)
    X, y = load_matbench("matbench_phonons", data_home=tmp_path, download=False, return_X_y=True)
    assert len(X) == 1265 and y.index[0] == "mb-phonons-0001"


def test_unknown_task_lists_valid_names():
    with pytest.raises(ValueError, match="matbench_phonons.*matbench_steels|matbench_steels"):
        load_matbench("matbench_phonon")


def test_missing_file_without_download(tmp_path):
    with pytest.raises(FileNotFoundError, match="matbench_phonons.json.gz"):
        load_matbench("matbench_phonons", data_home=tmp_path, download=False)


def test_download_is_checked_and_atomic(tmp_path, data_home, monkeypatch):
    source = data_home / "matbench" / "matbench_phonons.json.gz"
    meta = dict(_matbench._matminer_metadata())
    meta["matbench_phonons"] = dict(meta["matbench_phonons"], url=source.resolve().as_uri())
    monkeypatch.setattr(_matbench, "_matminer_metadata", lambda: meta)
    data = load_matbench("matbench_phonons", data_home=tmp_path / "home")
    assert (tmp_path / "home" / "matbench" / "matbench_phonons.json.gz").is_file()
    assert len(data.structures) == 1265

    # a download whose checksum is wrong leaves nothing behind
    meta["matbench_phonons"] = dict(meta["matbench_phonons"], hash="0" * 64)
    with pytest.raises(OSError, match="corrupt"):
        load_matbench("matbench_phonons", data_home=tmp_path / "other")
    assert list((tmp_path / "other" / "matbench").iterdir()) == []


def test_interrupted_download_leaves_no_file(tmp_path, monkeypatch):
    class Broken:
        headers = {"Content-Length": "100"}
        calls = 0

        def read(self, n):
            Broken.calls += 1
            if Broken.calls > 1:
                raise KeyboardInterrupt
            return b"x" * 10

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(_base.urllib.request, "urlopen", lambda url, timeout: Broken())
    with pytest.raises(KeyboardInterrupt):
        _base.fetch_file("http://127.0.0.1/never", tmp_path / "f.json.gz", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_corrupt_structure_names_row_and_id(tmp_path, data_home):
    with gzip.open(data_home / "matbench" / "matbench_phonons.json.gz", "rt") as handle:
        raw = json.load(handle)
    raw["data"][7][0] = {"lattice": "broken"}
    folder = tmp_path / "matbench"
    folder.mkdir()
    with gzip.open(folder / "matbench_phonons.json.gz", "wt") as handle:
        json.dump(raw, handle)
    with pytest.raises(ValueError, match=r"Row 7 \(id 'mb-phonons-0008'\)"):
        load_matbench("matbench_phonons", data_home=tmp_path, verify=False)


def test_missing_matbench_package_gives_install_line(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "matbench":
            raise ImportError("No module named 'matbench'")
        return real_import(name, *args, **kwargs)

    _matbench._matbench_json.cache_clear()
    monkeypatch.setattr(builtins, "__import__", fake_import)
    try:
        with pytest.raises(ImportError, match="pip install --no-deps"):
            load_matbench("matbench_phonons")
    finally:
        monkeypatch.undo()
        _matbench._matbench_json.cache_clear()


# --- NOMAD ----------------------------------------------------------------------------------


def test_nomad_two_targets(nomad):
    assert len(nomad.structures) == 2400
    assert list(nomad.targets.columns) == ["formation_energy_ev_natom", "bandgap_energy_ev"]
    assert nomad.targets.index[0] == "nomad-train-0001"
    assert nomad.targets.notna().all().all()
    # (Al,Ga,In)2O3: every structure has oxygen
    assert all("O" in s.composition for s in nomad.structures[:50])


def test_nomad_missing_file_explains(tmp_path):
    with pytest.raises(FileNotFoundError, match="Kaggle"):
        load_nomad2018(data_home=tmp_path)


# --- user data ------------------------------------------------------------------------------


def _cif_folder(tmp_path, n=4):
    folder = tmp_path / "cifs"
    folder.mkdir()
    structures = [_nacl(5.5 + 0.1 * i) for i in range(n)]
    for i, s in enumerate(structures):
        s.to(filename=str(folder / f"s{i}.cif"))
    return folder, structures


def test_user_folder_round_trip(tmp_path):
    folder, structures = _cif_folder(tmp_path)
    pd.DataFrame({"file": [f"s{i}.cif" for i in range(4)], "gap": [0.5, 1.0, 1.5, 2.0],
                  "e": [1, 2, 3, 4]}).to_csv(folder / "targets.csv", index=False)
    data = load_structures(folder, target="gap")
    assert data.ids == [f"s{i}.cif" for i in range(4)]
    assert list(data.targets.columns) == ["gap"]
    assert data.targets["gap"].tolist() == [0.5, 1.0, 1.5, 2.0]
    for loaded, original in zip(data.structures, structures):
        assert loaded.composition == original.composition
        assert np.allclose(loaded.lattice.abc, original.lattice.abc, atol=1e-6)
        assert loaded.matches(original)


def test_user_folder_keys_without_extension_and_poscar(tmp_path):
    folder, _ = _cif_folder(tmp_path, n=2)
    _nacl(6.0).to(filename=str(folder / "POSCAR_extra"), fmt="poscar")
    pd.DataFrame({"name": ["s0", "s1", "POSCAR_extra"], "y": [1.0, None, 3.0]}).to_csv(
        folder / "labels.csv", index=False)
    with pytest.warns(UserWarning, match="missing.*y: 1"):
        data = load_structures(folder, targets=folder / "labels.csv")
    assert data.ids == ["s0.cif", "s1.cif", "POSCAR_extra"]
    assert np.isnan(data.targets["y"].iloc[1])  # kept, not dropped


def test_user_folder_csv_names_missing_file(tmp_path):
    folder, _ = _cif_folder(tmp_path, n=2)
    pd.DataFrame({"file": ["s0.cif", "s1.cif", "ghost.cif"], "y": [1, 2, 3]}).to_csv(
        folder / "targets.csv", index=False)
    with pytest.raises(ValueError, match=r"row 2: 'ghost.cif'"):
        load_structures(folder)


def test_user_folder_file_without_target(tmp_path):
    folder, _ = _cif_folder(tmp_path, n=3)
    pd.DataFrame({"file": ["s0.cif"], "y": [1]}).to_csv(folder / "targets.csv", index=False)
    with pytest.raises(ValueError, match=r"2 structure file\(s\).*s1.cif.*s2.cif"):
        load_structures(folder)


def test_user_folder_without_csv_loads_structures_only(tmp_path):
    folder, _ = _cif_folder(tmp_path, n=2)
    data = load_structures(folder)
    assert data.targets is None and len(data.structures) == 2


def test_user_folder_bad_cif_names_file(tmp_path):
    folder, _ = _cif_folder(tmp_path, n=1)
    (folder / "bad.cif").write_text("data_bad\n_cell_length_a oops\n")
    with pytest.raises(ValueError, match="bad.cif"):
        load_structures(folder)


def test_user_split_json(tmp_path):
    frame = pd.DataFrame({"structure": [_nacl().as_dict(), _nacl(6).as_dict()], "y": [1.0, 2.0]},
                         index=["a", "b"])
    _write_split(tmp_path / "mine.json.gz", frame)
    structures, targets = load_structures(tmp_path / "mine.json.gz", return_X_y=True)
    assert targets.index.tolist() == ["a", "b"] and targets["y"].tolist() == [1.0, 2.0]
    assert structures[1].lattice.a == pytest.approx(6.0)
    with pytest.raises(ValueError, match=r"no column\(s\) \['band_gap'\].*'structure', 'y'"):
        load_structures(tmp_path / "mine.json.gz", target="band_gap")


def test_user_split_json_bad_layout_and_target(tmp_path):
    (tmp_path / "records.json").write_text(json.dumps([{"structure": 1}]))
    with pytest.raises(ValueError, match="split"):
        load_structures(tmp_path / "records.json")
    frame = pd.DataFrame({"structure": [_nacl().as_dict()], "y": ["abc"]})
    _write_split(tmp_path / "bad.json.gz", frame)
    with pytest.raises(ValueError, match=r"Row 0 .*not a number"):
        load_structures(tmp_path / "bad.json.gz")


def test_unreachable_download_names_url_and_fix(tmp_path):
    url = (tmp_path / "absent.json.gz").as_uri()
    with pytest.raises(OSError, match=r"Could not download .*absent.json.gz.*SKHYBRID_DATA_DIR"):
        _base.fetch_file(url, tmp_path / "home" / "f.json.gz", progress=False)
    assert list((tmp_path / "home").iterdir()) == []


# --- every Matbench task: the download-and-verify path on a small file made here ---------------


@pytest.mark.parametrize("task", _matbench.MATBENCH_TASKS)
def test_every_matbench_task_downloads_verifies_and_loads(task, tmp_path, monkeypatch):
    from skhybrid.utils._testing import miniature_matbench

    source = tmp_path / "source"
    source.mkdir()
    meta = miniature_matbench(task, source, monkeypatch, n=20)
    home = tmp_path / "home"
    data = load_matbench(task, data_home=home)
    assert (home / "matbench" / f"{task}.json.gz").is_file()  # downloaded, checksum matched
    assert data.task_type == meta["task_type"]
    assert [len(test) for _, test in data.folds] == [4] * 5
    target = data.targets[meta["target"]]
    if meta["task_type"] == "classification":
        assert target.dtype == bool and set(target) == {False, True}
    else:
        assert np.issubdtype(target.dtype, np.floating)
    inputs = data.structures if meta["input_type"] == "structure" else data.compositions
    assert len(inputs) == 20 and (data.compositions is None) == (meta["input_type"] == "structure")

    # the second load reads the file it downloaded; a file changed since fails the strict check
    path = home / "matbench" / f"{task}.json.gz"
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises((ValueError, OSError)):
        load_matbench(task, data_home=home, verify="strict")
