"""CGCNN in the reference implementation's data format, for a side-by-side speed comparison.

Written here from the paper (Xie & Grossman, PRL 120, 145301, 2018) and the
layout of the authors' code (github.com/txie-46/cgcnn): every crystal is
``atom_fea (n, 92)``, ``nbr_fea (n, M, 41)`` and ``nbr_fea_idx (n, M)``, a
batch concatenates them with offset indices plus one index tensor per crystal;
the convolution gathers the M neighbours densely and sums over that axis;
pooling averages each crystal in a Python loop. Default sizes: 64-wide atoms,
3 convolutions, a 128-wide hidden layer; SGD, lr 0.01, momentum 0.9, MSE on
normalised targets.
"""

from __future__ import annotations

import torch
from torch import nn


class DenseCGConv(nn.Module):
    def __init__(self, atom_len: int, nbr_len: int):
        super().__init__()
        self.atom_len = atom_len
        self.fc_full = nn.Linear(2 * atom_len + nbr_len, 2 * atom_len)
        self.bn1 = nn.BatchNorm1d(2 * atom_len)
        self.bn2 = nn.BatchNorm1d(atom_len)

    def forward(self, atom_fea, nbr_fea, nbr_idx):
        n, m = nbr_idx.shape
        centre = atom_fea.unsqueeze(1).expand(n, m, self.atom_len)
        z = torch.cat([centre, atom_fea[nbr_idx], nbr_fea], dim=2)
        gated = self.bn1(self.fc_full(z).view(-1, 2 * self.atom_len)).view(n, m, 2 * self.atom_len)
        nbr_filter, nbr_core = gated.chunk(2, dim=2)
        summed = (torch.sigmoid(nbr_filter) * nn.functional.softplus(nbr_core)).sum(dim=1)
        return nn.functional.softplus(atom_fea + self.bn2(summed))


class DenseCGCNN(nn.Module):
    def __init__(self, orig_len=92, nbr_len=41, atom_len=64, n_conv=3, h_len=128):
        super().__init__()
        self.embedding = nn.Linear(orig_len, atom_len)
        self.convs = nn.ModuleList(DenseCGConv(atom_len, nbr_len) for _ in range(n_conv))
        self.conv_to_fc = nn.Linear(atom_len, h_len)
        self.fc_out = nn.Linear(h_len, 1)

    def forward(self, atom_fea, nbr_fea, nbr_idx, crystal_atom_idx):
        atom_fea = self.embedding(atom_fea)
        for conv in self.convs:
            atom_fea = conv(atom_fea, nbr_fea, nbr_idx)
        crys = torch.cat([atom_fea[idx].mean(dim=0, keepdim=True) for idx in crystal_atom_idx])
        crys = nn.functional.softplus(self.conv_to_fc(nn.functional.softplus(crys)))
        return self.fc_out(crys)


def dense_sample(graph, n_neighbors: int = 12):
    """A CrystalGraph in the reference format (every atom has ``n_neighbors`` bonds)."""
    n = graph.num_nodes
    order = torch.argsort(graph.edge_index[1], stable=True)
    nbr_idx = graph.edge_index[0][order].view(n, n_neighbors)
    nbr_fea = graph.edge_attr[order].view(n, n_neighbors, -1)
    return graph.x, nbr_fea, nbr_idx


def collate(samples):
    atom, nbr, idx, crystal, targets = [], [], [], [], []
    base = 0
    for (atom_fea, nbr_fea, nbr_idx), target in samples:
        n = atom_fea.shape[0]
        atom.append(atom_fea)
        nbr.append(nbr_fea)
        idx.append(nbr_idx + base)
        crystal.append(torch.arange(base, base + n))
        targets.append(target)
        base += n
    return (torch.cat(atom), torch.cat(nbr), torch.cat(idx), crystal), torch.stack(targets)


def train_epochs(samples, y, epochs: int, batch_size: int = 256, seed: int = 0) -> None:
    """The reference training loop: SGD with momentum, MSE on normalised targets."""
    torch.manual_seed(seed)
    y = torch.as_tensor(y, dtype=torch.float32).view(-1, 1)
    y = (y - y.mean()) / y.std()
    data = list(zip(samples, y))
    loader = torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=True, collate_fn=collate)
    model = DenseCGCNN()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model.train()
    for _ in range(epochs):
        for inputs, target in loader:
            loss = nn.functional.mse_loss(model(*inputs), target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
