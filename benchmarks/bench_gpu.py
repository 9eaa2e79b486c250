"""The graph networks a CPU cannot train in time, on the official folds, inside one GPU call.

    python3 benchmarks/bench_gpu.py [--task matbench_phonons] [--models alignn-256 megnet-kgcnn-1000]
        [--folds 0 1 2 3 4] [--fits MODEL:FOLD ...] [--max-running N] [--device cuda] [--data-dir DIR]
        [--out DIR] [--deadline 480] [--checkpoints DIR] [--quick]

Issue #18 asks for ALIGNN at the paper's width 256 (68 s per epoch on one core here: hours per fold) and
kgcnn's full 1000-epoch MEGNet schedule (an hour per fold here) where a GPU is lent. A GPU session is
short and a call is cut at its limit, so this script is built to lose nothing it finished and to say how
far it got with what it did not:

- every (model, fold) fit is its own ``python -m skhybrid benchmark TASK --models M --folds k`` process,
  started at once or, with ``--max-running N``, N at a time in the order of ``--fits`` (one torch thread
  each: the fits are small and the GPU is shared), writing into one
  run folder (the runner's configuration does not name models or folds, so they share it) and each into
  its own log, where the fit's progress bars (graphs, epochs and their rate) show how far it got;
- every 30 s the run folder and the logs are packed into ``OUT/gpu-results.tar.gz`` (``OUT`` is ``--out``,
  default ``$OUT``, which the device tool brings back even from a command stopped at its limit; the run
  folder itself lives in ``--work``), with
  ``nvidia-smi``'s utilisation and memory every 15 s beside them;
- with ``--checkpoints DIR`` each network saves its training state about once a minute, packed apart into
  ``OUT/gpu-checkpoints.tar.gz``: a fit longer than one call (kgcnn's 1000-epoch MEGNet: 15 minutes on an
  H200) goes on in the next call from its last save, and ends as an unstopped fit would;
- at ``--deadline`` seconds the fits still running get SIGTERM (the runner keeps every finished fit), the
  report is rebuilt from all the records (``report.md``, Matbench results files), and everything is packed
  a last time.

Unpack the archive into ``benchmarks/results/runs/`` and summarise as for the CPU runs
(``benchmarks/summarize_runs.py``). ``--device cpu --quick`` rehearses the whole path on a CPU in a few
minutes. The package set the GPU machine lacks (pymatgen, skorch, LightGBM, matminer, matbench, ...)
travels as wheels: docs/benchmarks.md, "Runs on a GPU", gives the commands.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

PACK_EVERY_S = 30
ARCHIVE = "gpu-results.tar.gz"
STATES_ARCHIVE = "gpu-checkpoints.tar.gz"


def _pack(run: Path, out: Path, states: Path | None = None) -> None:
    """Pack the run folder into ``out/ARCHIVE`` atomically (a reader never sees half an archive), and the
    training states of unfinished fits into ``out/STATES_ARCHIVE`` (apart: the device tool returns files of
    at most 16 MB, and a large network's states must not cost the results)."""
    for folder, name, arcname in ((run, ARCHIVE, run.name), (states, STATES_ARCHIVE, "checkpoints")):
        if folder is None or not folder.exists():
            continue
        partial = out / (name + ".partial")
        with tarfile.open(partial, "w:gz") as archive:
            archive.add(folder, arcname=arcname, filter=lambda info: None if ".partial-" in info.name else info)
        partial.replace(out / name)


def _start_fit(args, model: str, fold: int, run: Path, logs: Path):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "skhybrid", "benchmark", args.task, "--models", model, "--folds", str(fold),
               "--device", args.device, "--threads", "1", "--out", str(run), "--data-dir", args.data_dir,
               "--seed", str(args.seed)]
    if args.quick:
        command.append("--quick")
    if args.checkpoints:
        command += ["--checkpoints", str(Path(args.checkpoints).resolve())]
    log = open(logs / f"{model}__fold{fold}.log", "w")
    # a session of its own: SIGTERM at the deadline reaches the fit's worker processes too
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True), log


def _planned_fits(args) -> list:
    """The (model, fold) fits in the order they start: ``--fits`` as given, else models x folds."""
    if not args.fits:
        return [(model, fold) for model in args.models for fold in args.folds]
    planned = []
    for spec in args.fits:
        model, _, fold = spec.rpartition(":")
        if not model or not fold.isdigit():
            sys.exit(f"--fits {spec!r}: write MODEL:FOLD, e.g. alignn-256:0")
        planned.append((model, int(fold)))
    return planned


def _monitor_gpu(logs: Path):
    try:
        return subprocess.Popen(["nvidia-smi", "--query-gpu=timestamp,utilization.gpu,memory.used",
                                 "--format=csv", "-l", "15"], stdout=open(logs / "gpu.csv", "w"),
                                stderr=subprocess.DEVNULL)
    except OSError:  # no NVIDIA tools (a CPU rehearsal)
        return None


def _stop(fits: dict, grace_s: float = 30.0) -> None:
    running = [proc for proc, _ in fits.values() if proc.poll() is None]
    for proc in running:
        os.killpg(proc.pid, signal.SIGTERM)
    end = time.monotonic() + grace_s
    while any(proc.poll() is None for proc in running) and time.monotonic() < end:
        time.sleep(1)
    for proc in running:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _last_progress(path) -> str:
    """How far a fit got: its last epoch bar (the rate is in it), else the log's last line."""
    with open(path, "rb") as stream:
        stream.seek(max(0, os.path.getsize(path) - 20000))
        tail = stream.read().decode(errors="replace")
    pieces = [piece.strip() for piece in tail.replace("\r", "\n").split("\n") if piece.strip()]
    epochs = [piece for piece in pieces if " epochs:" in piece]
    return (epochs or pieces or ["(empty log)"])[-1][-160:]


def _report(args, run: Path) -> str:
    from skhybrid.benchmark import load_benchmark_data, load_records, write_report

    results = load_records(run)
    if results.empty:
        return "no fit finished"
    bench = load_benchmark_data(args.task, data_dir=args.data_dir)
    write_report(run, results, bench, expected=_planned_fits(args), quick=args.quick)
    return results.pivot_table(index="model", columns="fold", values="mae").round(2).to_string()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="matbench_phonons")
    parser.add_argument("--models", nargs="+", default=["alignn-256", "megnet-kgcnn-1000"])
    parser.add_argument("--folds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--fits", nargs="+", metavar="MODEL:FOLD",
                        help="the fits to run, in this order (replaces --models x --folds)")
    parser.add_argument("--max-running", type=int, default=0,
                        help="start the next fit only when fewer than this many run (0: all at once)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=os.environ.get("SKHYBRID_DATA_DIR", "../shared/data"))
    parser.add_argument("--out", default=os.environ.get("OUT", "gpu-results"))
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "skhybrid-gpu"),
                        help="where the run folder lives while the fits run (outside OUT, whose files come back "
                             "only two folders down)")
    parser.add_argument("--deadline", type=float, default=480.0,
                        help="seconds after which unfinished fits are stopped and the results packed")
    parser.add_argument("--checkpoints", default=None, metavar="DIR",
                        help="the fits save their training state in DIR about once a minute (the runner's "
                        "--checkpoints), packed into OUT/gpu-checkpoints.tar.gz: unpack it into DIR and carry DIR "
                        "to the next call, and a fit stopped at this call's deadline goes on from there")
    parser.add_argument("--quick", action="store_true", help="the runner's --quick (5 epochs): a rehearsal")
    args = parser.parse_args(argv)

    start = time.monotonic()
    out = Path(args.out).resolve()
    run = Path(args.work).resolve() / f"{args.task}-gpu"
    logs = run / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit(f"--device {args.device}: torch {torch.__version__} sees no GPU; use --device cpu to rehearse.")
    print(f"torch {torch.__version__}, device {args.device}"
          + (f" ({torch.cuda.get_device_name()})" if args.device.startswith("cuda") else ""), flush=True)
    states = Path(args.checkpoints).resolve() if args.checkpoints else None
    monitor = _monitor_gpu(logs)
    pending = _planned_fits(args)
    limit = args.max_running or len(pending)
    print(f"{len(pending)} fits planned, at most {limit} at a time, on {args.device}", flush=True)
    fits = {}
    last_pack = 0.0
    try:
        while pending or any(proc.poll() is None for proc, _ in fits.values()):
            elapsed = time.monotonic() - start
            if elapsed > args.deadline:
                print(f"deadline ({args.deadline:.0f} s): stopping the fits still running", flush=True)
                break
            # a queue rather than everything at once: under a deadline, fits that finish early are worth
            # more than all of them half done
            while pending and sum(proc.poll() is None for proc, _ in fits.values()) < limit:
                model, fold = pending.pop(0)
                fits[(model, fold)] = _start_fit(args, model, fold, run, logs)
                print(f"  {elapsed:4.0f} s: started {model} fold {fold}", flush=True)
            if elapsed - last_pack > PACK_EVERY_S:
                _pack(run, out, states)
                last_pack = elapsed
            time.sleep(2)
    finally:
        _stop(fits)
        if monitor is not None:
            monitor.terminate()
    for (model, fold), (proc, log) in sorted(fits.items()):
        log.close()
        print(f"  {model} fold {fold}: exit {proc.returncode}; last progress: {_last_progress(log.name)}",
              flush=True)
    for model, fold in pending:
        print(f"  {model} fold {fold}: not started before the deadline", flush=True)
    print(_report(args, run), flush=True)
    _pack(run, out, states)
    print(f"packed into {out / ARCHIVE} after {time.monotonic() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
