"""One rank of a data-parallel fit, started by ``torchrun`` from ``test_accelerate.py``.

    python -m torch.distributed.run --standalone --nproc_per_node 2 _distributed_fit.py OUT_DIR CASE...

Each rank fits each case's small MEGNet through Accelerate (gloo on CPU) and saves its predictions and its
history (samples per step, losses, the best epoch), so the test can compare the ranks with each other and
with one process.
"""

import json
import os
import sys

import numpy as np
import torch

from skhybrid.models.tests.test_accelerate import distributed_case


def main(out_dir, names):
    torch.set_num_threads(1)
    rank = int(os.environ["RANK"])
    for name in names:
        model, X, y = distributed_case(name, accelerate=True)
        model.fit(X, y)
        history = model.net_.history
        record = {"train_batch_sizes": [batch["train_batch_size"] for epoch in history for batch in epoch["batches"]
                                        if "train_batch_size" in batch],
                  "train_loss": [float(loss) for loss in history[:, "train_loss"]], "best_epoch": model.best_epoch_}
        if model.validation_fraction:
            record["valid_loss"] = [float(loss) for loss in history[:, "valid_loss"]]
        np.save(os.path.join(out_dir, f"{name}-predictions-{rank}.npy"), model.predict(X))
        with open(os.path.join(out_dir, f"{name}-history-{rank}.json"), "w") as stream:
            json.dump(record, stream)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
