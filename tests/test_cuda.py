"""The checks that need a GPU: every network trains on CUDA and computes there what it computes on the CPU.

Skipped where torch sees no CUDA device (as in CI); run on a GPU machine with
``python -m pytest tests/test_cuda.py`` (the device call of docs/benchmarks.md, "Runs on a GPU", starts with
it). ``SKHYBRID_TEST_DEVICE=cpu`` runs the same checks on the CPU, to rehearse them where no GPU is lent.

On a GPU the sums over neighbours are atomic additions in no fixed order, so two runs (and the two
devices) agree to rounding, not bit for bit: the tolerances below are float32 rounding carried through a
few layers, far below what a wrong device placement, a tensor left on the other device or a lost weight
would give.
"""

import copy
import os
import warnings

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from skhybrid import MagpieFeaturizer, StructureGraphizer, load_model, save_model
from skhybrid.catalogue import build
from skhybrid.fusion import EarlyFusionRegressor
from skhybrid.models import ALIGNNRegressor, CGCNNRegressor, MEGNetRegressor, SchNetRegressor
from skhybrid.utils._testing import synthetic_crystals

DEVICE = os.environ.get("SKHYBRID_TEST_DEVICE", "cuda")
pytestmark = pytest.mark.skipif(DEVICE.startswith("cuda") and not torch.cuda.is_available(),
                                reason="needs a CUDA GPU (or SKHYBRID_TEST_DEVICE=cpu to rehearse)")

FAST = dict(max_epochs=4, batch_size=16, random_state=0)
NETWORKS = {
    "cgcnn": lambda: CGCNNRegressor(**FAST, module__hidden_channels=16),
    "megnet": lambda: MEGNetRegressor(**FAST, module__hidden_channels=8, module__dense_channels=16),
    "alignn": lambda: ALIGNNRegressor(**FAST, module__hidden_channels=16, module__embedding_channels=8,
                                      module__num_alignn_layers=1, module__num_gcn_layers=1),
    "schnet": lambda: SchNetRegressor(**FAST, module__hidden_channels=16),
    "early-fusion": lambda: EarlyFusionRegressor("cgcnn", "attention", **FAST),
}


@pytest.fixture(scope="module")
def data():
    structures, y = synthetic_crystals(40, seed=0)
    graphs = StructureGraphizer(line_graph=True, global_features=MagpieFeaturizer()).fit_transform(structures)
    return structures, graphs, y


@pytest.mark.parametrize("name", list(NETWORKS))
def test_a_network_trained_on_the_gpu_computes_there_what_it_computes_on_the_cpu(name, data, tmp_path):
    _, graphs, y = data
    model = NETWORKS[name]().set_params(device=DEVICE).fit(graphs, y)
    module = model.net_.module_
    assert {p.device.type for p in module.parameters()} == {torch.device(DEVICE).type}
    predictions = model.predict(graphs)
    assert predictions.shape == (40,) and np.isfinite(predictions).all()
    assert np.std(predictions) > 0  # it learned something from the crystals, not a constant

    # the same weights on the CPU give the same outputs, to rounding
    batch = Batch.from_data_list(graphs)
    with torch.no_grad():
        on_device = module.eval()(batch.to(DEVICE)).cpu()
        on_cpu = copy.deepcopy(module).cpu().eval()(batch.to("cpu"))
    np.testing.assert_allclose(on_device.numpy(), on_cpu.numpy(), rtol=1e-4, atol=1e-5)

    # saved on the GPU: loads there with its predictions, and on a machine without CUDA onto the CPU
    path = save_model(model, tmp_path / f"{name}.skh")
    np.testing.assert_allclose(load_model(path).predict(graphs), predictions, rtol=1e-5)
    with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        patch.setattr(torch.cuda, "is_available", lambda: False)
        on_a_cpu_machine = load_model(path)
        assert {p.device.type for p in on_a_cpu_machine.net_.module_.parameters()} == {"cpu"}
        np.testing.assert_allclose(on_a_cpu_machine.predict(graphs), predictions, rtol=1e-4, atol=1e-3)


def test_the_same_seed_trains_the_same_model_on_the_gpu_to_rounding(data):
    _, graphs, y = data
    first = NETWORKS["megnet"]().set_params(device=DEVICE).fit(graphs, y).predict(graphs)
    again = NETWORKS["megnet"]().set_params(device=DEVICE).fit(graphs, y).predict(graphs)
    np.testing.assert_allclose(again, first, rtol=1e-3, atol=1e-3 * np.std(y))


def test_accelerate_on_one_gpu_trains_as_plain_training(data):
    pytest.importorskip("accelerate")
    _, graphs, y = data
    plain = NETWORKS["cgcnn"]().set_params(device=DEVICE).fit(graphs, y)
    accelerated = NETWORKS["cgcnn"]().set_params(device=DEVICE).set_params(accelerate=True).fit(graphs, y)
    assert {p.device.type for p in accelerated.net_.module_.parameters()} == {torch.device(DEVICE).type}
    np.testing.assert_allclose(accelerated.predict(graphs), plain.predict(graphs), rtol=1e-3,
                               atol=1e-3 * np.std(y))


def test_a_catalogue_hybrid_fits_its_parts_in_worker_processes_on_the_gpu(data):
    # late fusion fits its bases in loky worker processes: each starts CUDA on its own
    structures, _, y = data
    model = build("hybrid-light", seed=0, quick=True, device=DEVICE).fit(structures, y)
    predictions = model.predict(structures)
    assert np.isfinite(predictions).all()
    assert sum(model.weights_) == pytest.approx(1.0)


def test_a_benchmark_record_names_the_gpu_it_ran_on():
    from skhybrid.benchmark._runner import _machine

    expected = torch.cuda.get_device_name() if DEVICE.startswith("cuda") else None
    assert _machine(DEVICE).get("gpu") == expected
    assert "gpu" not in _machine("cpu")


def test_a_fit_stopped_on_the_gpu_goes_on_there_or_on_the_cpu(data, tmp_path, monkeypatch):
    # a GPU call ends at its limit; the fit goes on in the next call, or on a machine without a GPU
    from skorch.callbacks import Callback

    from skhybrid.models import _base

    monkeypatch.setattr(_base, "CHECKPOINT_INTERVAL_S", 0.0)

    class Stop(Callback):
        def on_epoch_begin(self, net, **kwargs):
            if len(net.history) == 3:
                raise RuntimeError("the call's limit")

    _, graphs, y = data
    unstopped = NETWORKS["megnet"]().set_params(device=DEVICE).fit(graphs, y).predict(graphs)
    for goes_on_with in (DEVICE, "cpu"):
        folder = tmp_path / goes_on_with
        with pytest.raises(RuntimeError, match="limit"):
            NETWORKS["megnet"]().set_params(device=DEVICE, checkpoint_dir=folder, callbacks=[Stop()]).fit(graphs, y)
        resumed = NETWORKS["megnet"]().set_params(device=goes_on_with, checkpoint_dir=folder).fit(graphs, y)
        assert dict(resumed.net_.callbacks_)["training_checkpoint"].resumed_from_ == 2
        assert {p.device.type for p in resumed.net_.module_.parameters()} == {torch.device(goes_on_with).type}
        np.testing.assert_allclose(resumed.predict(graphs), unstopped, rtol=1e-3, atol=1e-3 * np.std(y))
