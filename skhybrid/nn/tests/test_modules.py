import pytest
import torch
from torch_geometric.data import Batch

from skhybrid import MagpieFeaturizer, StructureGraphizer
from skhybrid.nn import ALIGNN, CGCNN, CGCNNConv, EdgeGatedGraphConv, MEGNet, StepwiseSet2Set, glorot_initialise
from skhybrid.utils._testing import synthetic_crystals


@pytest.fixture(scope="module")
def graphs():
    structures = synthetic_crystals(6, seed=0)[0]
    graphizer = StructureGraphizer(line_graph=True, global_features=MagpieFeaturizer()).fit(structures)
    graphs = graphizer.transform(structures)
    for g in graphs:  # the estimator standardises u; keep the raw scale out of the modules' way here
        g.u = g.u / 1000.0
    return graphs


def _models(n_global, n_angle, n_targets=2):
    torch.manual_seed(0)
    return [
        CGCNN(92, 41, n_targets, hidden_channels=16),
        ALIGNN(92, 41, n_targets, n_angle_features=n_angle, hidden_channels=16, embedding_channels=8,
               num_alignn_layers=2, num_gcn_layers=1),
        MEGNet(92, 41, n_targets, n_global_features=n_global, hidden_channels=8, dense_channels=16),
        MEGNet(0, 41, n_targets, hidden_channels=8, dense_channels=16),
        MEGNet(92, 41, n_targets, n_global_features=n_global, hidden_channels=8, dense_channels=16,
               first_block_dense=False, weight_init="glorot"),
        MEGNet(0, 41, n_targets, hidden_channels=8, dense_channels=16, readout_channels=4,
               first_block_dense=False, weight_init="glorot", set2set_memory=False, linear_block_outputs=True),
    ]


def test_output_shape_and_batching_invariance(graphs):
    """A crystal's prediction does not depend on the crystals batched with it (eval mode).

    This also checks the line graph's index offsets when ALIGNN's graphs are batched.
    """
    batch = Batch.from_data_list(graphs)
    for model in _models(graphs[0].u.shape[1], graphs[0].lg_attr.shape[1]):
        model.train()
        model(batch).sum().backward()  # one step of batch-norm statistics
        model.eval()
        with torch.no_grad():
            together = model(batch)
            alone = torch.cat([model(Batch.from_data_list([g])) for g in graphs])
        assert together.shape == (len(graphs), 2)
        torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-5)


def test_reset_parameters_restores_initial_distribution(graphs):
    for model in _models(graphs[0].u.shape[1], graphs[0].lg_attr.shape[1]):
        before = [p.detach().clone() for p in model.parameters()]
        torch.manual_seed(1)
        model.reset_parameters()
        after = list(model.parameters())
        assert any(not torch.equal(a, b) for a, b in zip(before, after)), type(model).__name__


def test_cgcnn_conv_matches_the_papers_equation():
    torch.manual_seed(0)
    conv = CGCNNConv(8, 5).eval()
    with torch.no_grad():
        conv.bn_messages.running_mean.uniform_(-1, 1)
        conv.bn_sum.running_var.uniform_(0.5, 2)
    x, edge_attr = torch.randn(6, 8), torch.randn(20, 5)
    edge_index = torch.randint(0, 6, (2, 20))
    neighbor, centre = edge_index
    z = torch.cat([x[centre], x[neighbor], edge_attr], dim=-1)
    gate, core = conv.bn_messages(conv.lin(z)).chunk(2, dim=-1)
    messages = torch.sigmoid(gate) * torch.nn.functional.softplus(core)
    summed = torch.zeros(6, 8).index_add_(0, centre, messages)
    expected = torch.nn.functional.softplus(x + conv.bn_sum(summed))
    torch.testing.assert_close(conv(x, edge_index, edge_attr), expected)


def test_edge_gated_conv_normalises_gates_over_incoming_edges():
    torch.manual_seed(0)
    conv = EdgeGatedGraphConv(4, residual=False).eval()
    x = torch.randn(3, 4)
    edge_index = torch.tensor([[1, 2, 0], [0, 0, 1]])  # atom 0 receives from 1 and 2, atom 1 from 0
    edge_attr = torch.randn(3, 4)
    a, b, u, v = conv.node_maps(x).chunk(4, dim=-1)
    e_hat = a[edge_index[1]] + b[edge_index[0]] + conv.edge_map(edge_attr)
    s = torch.sigmoid(e_hat)
    h0 = u[0] + (s[0] * v[1] + s[1] * v[2]) / (s[0] + s[1] + conv.eps)
    x_new, e_new = conv(x, edge_index, edge_attr)
    torch.testing.assert_close(x_new[0], torch.nn.functional.silu(conv.bn_nodes(h0[None]))[0])
    torch.testing.assert_close(e_new, torch.nn.functional.silu(conv.bn_edges(e_hat)))
    # atom 2 receives nothing: only its own update term
    torch.testing.assert_close(x_new[2], torch.nn.functional.silu(conv.bn_nodes(u[2:3]))[0])


def test_alignn_requires_angle_features():
    with pytest.raises(ValueError, match="line_graph=True"):
        ALIGNN(92, 41, 1, n_angle_features=0)


def test_megnet_state_changes_prediction(graphs):
    """The global state reaches the output: different u, different prediction."""
    model = _models(graphs[0].u.shape[1], 40)[2].eval()
    batch = Batch.from_data_list(graphs[:1])
    with torch.no_grad():
        first = model(batch)
        batch.u = batch.u + 1.0
        assert not torch.allclose(first, model(batch))


def test_megnet_block_matches_the_papers_equations():
    from torch_geometric.utils import scatter

    from skhybrid.nn import MEGNetBlock

    torch.manual_seed(0)
    block = MEGNetBlock(4, (8, 8, 4))
    x, e, u = torch.randn(5, 4), torch.randn(9, 4), torch.randn(2, 4)
    batch = torch.tensor([0, 0, 0, 1, 1])
    edge_index = torch.tensor([[0, 1, 2, 1, 2, 0, 3, 4, 3], [1, 0, 0, 2, 1, 2, 4, 3, 3]])
    src, dst = edge_index
    e_new = block.edge_mlp(torch.cat([x[src], x[dst], e, u[batch[dst]]], dim=-1))
    x_new = block.node_mlp(torch.cat([scatter(e_new, dst, 0, dim_size=5, reduce="mean"), x, u[batch]], dim=-1))
    u_new = block.state_mlp(torch.cat([scatter(e_new, batch[dst], 0, reduce="mean"),
                                       scatter(x_new, batch, 0, reduce="mean"), u], dim=-1))
    for got, expected in zip(block(x, edge_index, e, u, batch), (x_new, e_new, u_new)):
        torch.testing.assert_close(got, expected)


def test_glorot_initialise_draws_as_keras_does():
    torch.manual_seed(0)
    module = torch.nn.ModuleDict(dict(linear=torch.nn.Linear(64, 32), embedding=torch.nn.Embedding(95, 64),
                                      lstm=torch.nn.LSTM(32, 16)))
    glorot_initialise(module)
    linear, embedding, lstm = module["linear"], module["embedding"], module["lstm"]
    bound = (6 / (64 + 32)) ** 0.5
    assert linear.weight.abs().max() <= bound and linear.weight.abs().max() > 0.9 * bound  # the whole range
    assert torch.count_nonzero(linear.bias) == 0
    assert embedding.weight.abs().max() <= 0.05
    recurrent = lstm.weight_hh_l0.detach()  # (4 * 16, 16): orthonormal columns
    torch.testing.assert_close(recurrent.T @ recurrent, torch.eye(16), atol=1e-5, rtol=0)
    gates = lstm.bias_ih_l0.detach().view(4, 16)  # input, forget, cell, output
    assert torch.equal(gates[1], torch.ones(16)) and torch.count_nonzero(gates[[0, 2, 3]]) == 0
    assert torch.count_nonzero(lstm.bias_hh_l0) == 0


def test_megnet_glorot_is_its_initialisation_and_reset_repeats_it(graphs):
    torch.manual_seed(4)
    model = MEGNet(0, 41, hidden_channels=8, dense_channels=16, weight_init="glorot")
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert all(torch.count_nonzero(m.bias) == 0 for m in linears)
    assert all(m.weight.abs().max() <= (6 / (m.in_features + m.out_features)) ** 0.5 for m in linears)
    assert 0 < model.initial_state.abs().max() <= 0.05  # as kgcnn's embedding of the state input starts
    torch.manual_seed(4)
    same = MEGNet(0, 41, hidden_channels=8, dense_channels=16, weight_init="glorot")
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), same.parameters()))
    torch.manual_seed(5)
    model.reset_parameters()
    first = [p.detach().clone() for p in model.parameters()]
    torch.manual_seed(5)
    model.reset_parameters()
    assert all(torch.equal(a, b) for a, b in zip(first, model.parameters()))
    assert all(torch.count_nonzero(m.bias) == 0 for m in linears)  # a reset keeps the scheme
    with pytest.raises(ValueError, match="weight_init must be 'torch' or 'glorot'"):
        MEGNet(0, 41, weight_init="keras")


def test_megnet_reference_layout_feeds_the_embeddings_to_the_first_block(graphs):
    """Chen et al.'s megnet and kgcnn: two dense layers on the embeddings, none of the first block's own."""
    reference = MEGNet(0, 41, hidden_channels=8, dense_channels=16, first_block_dense=False)
    default = MEGNet(0, 41, hidden_channels=8, dense_channels=16)
    for stream in ("atom_dense", "edge_dense", "state_dense"):
        blocks = getattr(reference, stream)
        assert isinstance(blocks[0], torch.nn.Identity) and all(len(list(b.parameters())) for b in blocks[1:])
    widths = [layer.out_features for layer in reference.atom_embedding[1] if isinstance(layer, torch.nn.Linear)]
    assert widths == [16, 8]
    assert reference.initial_state.shape == (1, 16) and reference.state_embedding is not None
    assert type(MEGNet(0, 41, set2set_memory=False).atom_readout) is StepwiseSet2Set
    assert type(default.atom_readout).__name__ == "Set2Set"
    # the default keeps the layout (and the parameter names) that earlier saved models have
    assert default.initial_state.shape == (1, 8) and default.state_embedding is None
    assert [layer.out_features for layer in default.atom_embedding[1] if isinstance(layer, torch.nn.Linear)] == [8]
    calls = []
    reference.blocks[0].register_forward_pre_hook(lambda module, args: calls.append(args[0]))
    batch = Batch.from_data_list(graphs[:2])
    reference.eval()
    with torch.no_grad():
        reference(batch)
        torch.testing.assert_close(calls[0], reference.atom_embedding(batch))


def test_stepwise_set2set_resets_the_lstm_at_every_step():
    """kgcnn's readout: each step's query comes from the previous read-out alone, through a fresh LSTM."""
    from torch_geometric.nn.aggr import Set2Set
    from torch_geometric.utils import softmax

    torch.manual_seed(0)
    x, index = torch.randn(7, 4), torch.tensor([0, 0, 0, 1, 1, 2, 2])
    stepwise = StepwiseSet2Set(4, processing_steps=3)
    carried = Set2Set(4, processing_steps=3)
    carried.load_state_dict(stepwise.state_dict())
    q_star = torch.zeros(3, 8)
    with torch.no_grad():
        for _ in range(3):
            q = stepwise.lstm(q_star.unsqueeze(0), (torch.zeros(1, 3, 4), torch.zeros(1, 3, 4)))[0][0]
            a = softmax((x * q[index]).sum(-1), index)
            r = torch.zeros(3, 4).index_add_(0, index, a[:, None] * x)
            q_star = torch.cat([q, r], dim=-1)
        torch.testing.assert_close(stepwise(x, index, dim_size=3), q_star)
        assert not torch.allclose(carried(x, index, dim_size=3), q_star)  # the carried state changes steps 2-3
        one_step = StepwiseSet2Set(4, processing_steps=1)
        carried_one = Set2Set(4, processing_steps=1)
        carried_one.load_state_dict(one_step.state_dict())
        torch.testing.assert_close(one_step(x, index, dim_size=3), carried_one(x, index, dim_size=3))


def test_megnet_blocks_can_end_their_updates_linearly():
    """The reference implementations' phi_e, phi_v and phi_u end with a linear layer (no activation)."""
    from skhybrid.nn import MEGNetBlock

    linear, default = MEGNetBlock(4, (8, 4), plain_last=True), MEGNetBlock(4, (8, 4))
    assert isinstance(linear.node_mlp[-1], torch.nn.Linear) and not isinstance(default.node_mlp[-1], torch.nn.Linear)
    model = MEGNet(0, 41, hidden_channels=8, dense_channels=16, linear_block_outputs=True)
    assert all(isinstance(mlp[-1], torch.nn.Linear) for block in model.blocks
               for mlp in (block.edge_mlp, block.node_mlp, block.state_mlp))
    torch.manual_seed(0)
    x, edge_attr, u = torch.randn(3, 4), torch.randn(4, 4), torch.randn(1, 4)
    edge_index, batch = torch.tensor([[1, 2, 0, 0], [0, 0, 1, 2]]), torch.zeros(3, dtype=torch.long)
    # shifted softplus is bounded below by -log 2; a linear last layer is not
    outputs = torch.cat([t.flatten() for t in linear(10 * x, edge_index, 10 * edge_attr, 10 * u, batch)])
    assert outputs.min() < -0.7
