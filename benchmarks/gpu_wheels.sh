#!/usr/bin/env bash
# What a GPU call of benchmarks/bench_gpu.py needs beside the working tree, made here (the GPU machine
# reaches no package registry): the packages its image lacks as Python 3.12 wheels in .whl/, at the
# versions this checkout's .venv runs, and the two Matbench data files in .devdata/ (never committed:
# both folders are listed in .git/info/exclude by this script). About 37 MB together; a call carries
# at most 64 MB with the working tree.
#
#   bash benchmarks/gpu_wheels.sh            # then the device call of docs/benchmarks.md, "Runs on a GPU"
set -euo pipefail
cd "$(dirname "$0")/.."
# the GPU image has numpy, scipy, pandas, scikit-learn, torch, torch-geometric, matplotlib, joblib, tqdm,
# networkx, sympy, tabulate, requests, psutil, accelerate, pytest; these are what `skhybrid benchmark` and
# tests/test_cuda.py (skops: save_model) import beyond them
NAMES="pymatgen pymatgen-core monty spglib lightgbm skorch matbench matminer optuna colorlog alembic Mako
SQLAlchemy ase orjson pytz uncertainties palettable wcwidth ruamel.yaml pymongo dnspython skops prettytable"
pins=$(.venv/bin/python - $NAMES <<'EOF'
import sys
from importlib.metadata import version
print(" ".join(f"{name}=={version(name)}" for name in sys.argv[1:]))
EOF
)
for path in /.whl/ /.devdata/; do
    grep -qxF "$path" .git/info/exclude 2>/dev/null || echo "$path" >> .git/info/exclude
done
rm -rf .whl .devdata
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl $pins
data="${SKHYBRID_DATA_DIR:-../shared/data}"
mkdir -p .devdata/matbench
cp "$data"/matbench/matbench_phonons.json.gz "$data"/matbench/matbench_jdft2d.json.gz .devdata/matbench/
du -sh .whl .devdata
