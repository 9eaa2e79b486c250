"""One rank of a data-parallel fit, started by ``torchrun`` from ``test_accelerate.py``.

    python -m torch.distributed.run --standalone --nproc_per_node 2 _distributed_fit.py OUT_DIR

Each rank fits the same small MEGNet through Accelerate (gloo on CPU) and saves its predictions and the
number of samples it saw per step, so the test can compare the ranks with each other and with one process.
"""

import json
import os
import sys

import numpy as np
import torch

from skhybrid.models.tests.test_accelerate import distributed_case


def main(out_dir):
    torch.set_num_threads(1)
    model, X, y = distributed_case(accelerate=True)
    model.fit(X, y)
    rank = int(os.environ["RANK"])
    batch_sizes = [batch["train_batch_size"] for epoch in model.net_.history for batch in epoch["batches"]]
    np.save(os.path.join(out_dir, f"predictions-{rank}.npy"), model.predict(X))
    with open(os.path.join(out_dir, f"batches-{rank}.json"), "w") as stream:
        json.dump(batch_sizes, stream)


if __name__ == "__main__":
    main(sys.argv[1])
