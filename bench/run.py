"""Time plainnet's native core against its NumPy backend, PyTorch, scikit-learn and the GEMM rate.

Training and inference on the same networks, weights, data and updates in
every peer, and the core's GFLOP/s against the machine's own GEMM rate.

    python bench/run.py [--quick]
                        [--parts gemm,training,minibatch,inference,overhead,dropout,numpy,
                                 serving]
                        [--sizes xor,small,medium,large] [--dtypes float64,float32]
                        [--minibatch digits,mnist] [--peers native,numpy,torch,sklearn]
                        [--repeats 5] [--iterations N] [--epochs N] [--rows 256,100000]
                        [--networks 64-128-10,784-128-10,784-512-512-10]
                        [--gemm-size 2048] [--pause 0.15] [--idle 1]
                        [--json PATH] [--plot PATH] [--markdown]

The parts (--parts; all but serving by default), in the order they run:

gemm       NumPy's matmul of two 2048x2048 matrices (--gemm-size), which runs
           OpenBLAS's dgemm and sgemm at NumPy's default thread count (threadpoolctl
           reports the count and the kernel that ran), best of 3 after an idle
           pause (--idle) and an untimed one: the machine's GEMM rate, which the
           "of GEMM" columns divide by.
training   Full-batch gradient descent, sigmoid on every layer, the core's MSE:

               xor     2-4-1           m=4     2,000 iterations  (the tutorial's network)
               small   64-32-10        m=256     500
               medium  784-128-10      m=256     100
               large   784-512-512-10  m=512      20

minibatch  Mini-batch training, relu then softmax on the cross-entropy, shuffled
           every epoch, one row per optimizer (plain SGD, and Adam), float64:

               digits  64-64-10    1,344 rows, batches of 32, 10 epochs
               mnist   784-128-10  3,072 rows, batches of 64,  2 epochs

           every peer with the same weights, the same batches in the same order
           and the same rule (bench/minibatch.py).
inference  Network.forward of 784-128-10 on 256 and 100,000 rows (--rows), native
           against the numpy backend and PyTorch's inference_mode on 1 and 2 threads
           (the faster is shown): each peer after an idle pause, one untimed call
           whose output is checked against the numpy backend's, then 30 timed
           calls (3 from 10,000 rows on) (bench/forward.py).
overhead   The native core on medium: an Adam iteration over an SGD one, and a
           cross-entropy iteration over an MSE one (bench/overhead.py).
dropout    The native core on digits (64-64-10, batches of 32) and medium (full
           batch): an epoch with dropout 0.5 on the hidden layer over one without
           (bench/dropout.py).
numpy      Living with NumPy: NumPy's products inside a fit callback and right after
           a fit against after an idle second; and fits beside NumPy, on medium and
           large in float64 and float32: started while NumPy's threads still spin,
           against the same fit on one thread, and while another thread runs NumPy
           products, against the same on one thread (bench/living.py).
serving   One-row latency and 10,000-row time of 64-128-10, 784-128-10 and
           784-512-512-10 (relu, softmax output) against ONNX Runtime (net.to_onnx(),
           default threads) and PyTorch (net.to_torch(), eval(), no_grad), each peer
           after an idle pause (--idle) and an untimed call whose output is checked;
           then 1 and 8 threads predicting at once on 784-128-10, on one shared
           network and on one net.copy() each (bench/serving.py). Not run by
           default (2.5 minutes): --parts serving.

Each peer runs once untimed (the warm-up), then --repeats timed runs,
interleaved with the other peers', each run after an idle pause of --pause
seconds (the threads of the library that ran before stop spinning); the
tables show the best time per iteration with the median and the max, and the
ratio peer/native of the best times. A time is shown only after the peer's
loss in every run matched native's (full-batch: its final loss, float64 rtol
1e-6, float32 1e-3; mini-batch: the loss of its final weights, rtol 1e-9, 1e-7
for scikit-learn's Adam); a peer that does not match is marked FAILED. PyTorch
runs with 1 and 2 threads and the faster is shown. Inference peers and the
NumPy rows wait --idle seconds before each timed part. Peers not installed are
skipped (``pip install ".[bench]"`` installs them). Last come the performance
targets, each met or not with the measured value. The exit status is 1 if any
check failed.

--quick runs a tenth of the full-batch iterations, 3 repeats, 1-2 epochs of
the mini-batch problems, one timed forward call on 100,000 rows (10 on 256),
2 repeats of the NumPy rows (one try of the beside pair each), and pauses of
0.05 s (--pause) and 0.3 s (--idle): under a minute, for a first look.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import forward  # noqa: E402
import gemm  # noqa: E402
import dropout  # noqa: E402
import living  # noqa: E402
import machine  # noqa: E402
import minibatch  # noqa: E402
import overhead  # noqa: E402
import report  # noqa: E402
import serving  # noqa: E402
from peers import ALL_PEERS, available  # noqa: E402
from problems import DTYPES, QUICK_DIVISOR, SIZES  # noqa: E402
from suite import PAUSE, RTOL_TRAJECTORY, run_problem, trajectory_check  # noqa: E402

PARTS = ("gemm", "training", "minibatch", "inference", "overhead", "dropout", "numpy",
         "serving")
# serving takes 2.5 minutes (45 s with --quick): asked for by name, it keeps the
# default run within its time targets.
DEFAULT_PARTS = tuple(p for p in PARTS if p != "serving")
ROWS = (256, 100_000)
QUICK_EPOCHS = {"digits": 2, "mnist": 1}


def _names(values: list[str], arg: str, allowed) -> list[str]:
    """Comma- and/or space-separated names, each checked, in the given order, no repeats."""
    names = [v for value in values for v in value.split(",") if v]
    for v in names:
        if v not in allowed:
            raise SystemExit(f"{arg}: expected names among {','.join(allowed)}, got {v!r}")
    if not names:
        raise SystemExit(f"{arg}: expected at least one of {','.join(allowed)}")
    return list(dict.fromkeys(names))


def _rows(values: list[str]) -> list[int]:
    rows = []
    for v in (v for value in values for v in value.split(",") if v):
        try:
            n = int(v.replace("_", ""))
        except ValueError:
            raise SystemExit(f"--rows: expected integers >= 1, got {v!r}") from None
        if n < 1:
            raise SystemExit(f"--rows: expected integers >= 1, got {n}")
        rows.append(n)
    if not rows:
        raise SystemExit("--rows: expected at least one row count")
    return list(dict.fromkeys(rows))


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.splitlines()[1:]))
    p.add_argument("--quick", action="store_true",
                   help=f"{QUICK_DIVISOR}x fewer iterations, 3 repeats (under a minute)")
    p.add_argument("--parts", nargs="+", default=[",".join(DEFAULT_PARTS)], metavar="NAMES",
                   help="comma-separated, from: " + ",".join(PARTS) + " (default: all but "
                        "serving)")
    p.add_argument("--sizes", nargs="+", default=[",".join(SIZES)], metavar="NAMES",
                   help="full-batch sizes, comma-separated, from: " + ",".join(SIZES))
    p.add_argument("--dtypes", nargs="+", default=[",".join(DTYPES)], metavar="NAMES",
                   help="for gemm, training and inference; comma-separated, from: "
                        + ",".join(DTYPES))
    p.add_argument("--minibatch", nargs="+", default=[",".join(minibatch.SIZES)],
                   metavar="NAMES", help="mini-batch problems, comma-separated, from: "
                                         + ",".join(minibatch.SIZES))
    p.add_argument("--peers", nargs="+", default=None, metavar="NAMES",
                   help="comma-separated, from: " + ",".join(ALL_PEERS) +
                        " (default: all installed; native always runs, it is the reference)")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed runs per peer after the warm-up (default 5, 3 with --quick)")
    p.add_argument("--iterations", type=int, default=None,
                   help="full-batch iterations per run, for every size and the overhead runs "
                        "(default: each one's own)")
    p.add_argument("--epochs", type=int, default=None,
                   help="mini-batch epochs per run (default: each problem's own)")
    p.add_argument("--rows", nargs="+", default=[",".join(map(str, ROWS))], metavar="N",
                   help="inference batch sizes, comma-separated (default 256,100000)")
    p.add_argument("--networks", nargs="+", default=[",".join(serving.NETWORKS)],
                   metavar="NAMES", help="serving networks, comma-separated, from: "
                                         + ",".join(serving.NETWORKS))
    p.add_argument("--gemm-size", type=int, default=gemm.SIZE, metavar="N",
                   help=f"n of the n x n matrices of the GEMM rate (default {gemm.SIZE})")
    p.add_argument("--pause", type=float, default=None,
                   help=f"idle seconds before every training run (default {PAUSE:g}, "
                        f"0.05 with --quick)")
    p.add_argument("--idle", type=float, default=None,
                   help="idle seconds before each inference peer and in the NumPy rows "
                        "(default 1, 0.3 with --quick)")
    p.add_argument("--json", metavar="PATH", help="write every figure and the machine to PATH")
    p.add_argument("--plot", metavar="PATH",
                   help="bar chart of the full-batch ratios (needs matplotlib)")
    p.add_argument("--markdown", action="store_true",
                   help="also print the tables as markdown, ready for docs/benchmarks.md")
    args = p.parse_args(argv)
    args.parts = _names(args.parts, "--parts", list(PARTS))
    args.sizes = _names(args.sizes, "--sizes", list(SIZES))
    args.dtypes = _names(args.dtypes, "--dtypes", list(DTYPES))
    args.minibatch = _names(args.minibatch, "--minibatch", list(minibatch.SIZES))
    args.rows = _rows(args.rows)
    args.networks = _names(args.networks, "--networks", list(serving.NETWORKS))
    for arg in ("repeats", "iterations", "epochs", "gemm_size"):
        value = getattr(args, arg)
        if value is not None and value < 1:
            p.error(f"--{arg.replace('_', '-')}: expected an integer >= 1, got {value}")
    for arg in ("pause", "idle"):
        value = getattr(args, arg)
        if value is not None and not value >= 0:
            p.error(f"--{arg}: expected seconds >= 0, got {value}")
    if args.repeats is None:
        args.repeats = 3 if args.quick else 5
    if args.pause is None:
        args.pause = 0.05 if args.quick else PAUSE
    if args.idle is None:
        args.idle = 0.3 if args.quick else 1.0
    return args


def _progress(what: str, t0: float) -> None:
    print(f"  {what}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)


def measure_all(args, peers: list[str]) -> report.Measured:
    """Every part asked for, in order; each prints its time to stderr as it ends."""
    m = report.Measured(quick=args.quick)
    if "gemm" in args.parts:
        for dtype in args.dtypes:
            t0 = time.perf_counter()
            m.gemm[dtype] = gemm.measure(dtype, args.gemm_size, pause=args.idle)
            _progress(f"gemm {dtype}", t0)
    if "training" in args.parts:
        for dtype in args.dtypes:
            for size in args.sizes:
                iters = args.iterations
                if iters is None and args.quick:
                    iters = max(SIZES[size].iterations // QUICK_DIVISOR, 3)
                t0 = time.perf_counter()
                rs = run_problem(size, dtype, peers, args.repeats, iters, pause=args.pause)
                m.training += rs
                traj = trajectory_check(rs)
                if traj is not None:
                    m.trajectories.append((size, *traj))
                _progress(f"{size} {dtype}", t0)
    if "minibatch" in args.parts:
        for name in args.minibatch:
            for opt in minibatch.OPTIMIZERS:
                epochs = args.epochs
                if epochs is None and args.quick:
                    epochs = QUICK_EPOCHS[name]
                t0 = time.perf_counter()
                rs = minibatch.run_problem(name, opt, peers, args.repeats, epochs,
                                           pause=args.pause)
                m.minibatch += rs
                traj = trajectory_check(rs)
                if traj is not None:
                    m.minibatch_trajectories.append((f"{name} {opt}", *traj))
                _progress(f"mini-batch {name} {opt}", t0)
    if "inference" in args.parts:
        for dtype in args.dtypes:
            for rows in args.rows:
                t0 = time.perf_counter()
                repeats = (1 if args.quick else 3) if rows >= 10_000 else \
                    (10 if args.quick else 30)
                m.forward += forward.measure(rows, dtype, repeats, args.idle,
                                             torch="torch" in peers)
                _progress(f"forward {rows} {dtype}", t0)
    if "overhead" in args.parts:
        t0 = time.perf_counter()
        iters = args.iterations or (overhead.ITERATIONS // QUICK_DIVISOR if args.quick
                                    else overhead.ITERATIONS)
        m.overhead = overhead.run_overheads(args.repeats if args.quick else overhead.REPEATS,
                                            iters, pause=args.pause)
        _progress("overhead", t0)
    if "dropout" in args.parts:
        t0 = time.perf_counter()
        epochs = None
        if args.quick:
            epochs = {"digits": 2, "medium": dropout.EPOCHS["medium"] // QUICK_DIVISOR}
        m.dropout = dropout.run_dropout(args.repeats if args.quick else dropout.REPEATS,
                                        epochs, pause=args.pause)
        _progress("dropout", t0)
    if "numpy" in args.parts:
        t0 = time.perf_counter()
        m.living = living.run_living(2 if args.quick else living.REPEATS, args.idle,
                                     iterations=2 if args.quick else None,
                                     tries=1 if args.quick else living.BESIDE_TRIES)
        _progress("living with NumPy", t0)
    if "serving" in args.parts:
        peers_s = tuple(p for p in serving.PEERS
                        if p == "native" or (p in ("onnxruntime", *peers)
                                             and serving.available(p) is None))
        repeats = 3 if args.quick else 7
        for name in args.networks:
            for dtype in args.dtypes:
                t0 = time.perf_counter()
                for rows in serving.ROWS:
                    m.serving += serving.latency(name, dtype, rows, peers_s, repeats, args.idle,
                                                 calls=50 if args.quick else serving.CALLS_1ROW)
                _progress(f"serving {name} {dtype}", t0)
        for dtype in args.dtypes:
            t0 = time.perf_counter()
            for rows in serving.ROWS:
                calls = (200 if rows == 1 else 4) if args.quick else None
                m.throughput += serving.throughput(dtype, rows, 2 if args.quick else 5,
                                                   args.idle, calls=calls)
            _progress(f"serving threads {dtype}", t0)
    return m


def failed(m: report.Measured) -> bool:
    """Whether any check of any part failed."""
    return (any(not r.ok for r in m.training + m.minibatch + m.overhead + m.dropout)
            or any(not ok for _, _, ok in m.trajectories + m.minibatch_trajectories)
            or any(not f.ok for f in m.forward)
            or (m.living is not None and not m.living.ok)
            or report.serving_failed(m))


def main(argv=None) -> int:
    args = parse(argv)
    started = time.perf_counter()
    date = datetime.datetime.now().astimezone().isoformat(timespec="seconds")

    skipped = {}
    if args.peers is None:
        peers = [p for p in ALL_PEERS if p != "native"]
        skipped = {p: why for p in peers if (why := available(p)) is not None}
        peers = [p for p in peers if p not in skipped]
    else:
        peers = [p for p in _names(args.peers, "--peers", list(ALL_PEERS)) if p != "native"]
        for p in peers:
            why = available(p)
            if why is not None:
                raise SystemExit(f"--peers: {p} cannot run: {why}")

    info = machine.collect()
    lines = machine.describe(info)
    print("\n".join(lines))
    load = info["loadavg"]
    print(f"{date}; parts: {','.join(args.parts)}; peers: native,{','.join(peers)}; "
          f"repeats {args.repeats} after one warm-up"
          + ("; --quick" if args.quick else "")
          + (f"; load average {load[0]:.2f}" if isinstance(load, list) else ""))
    for p, why in skipped.items():
        print(f"skipping {p}: {why}")
    print(flush=True)

    m = measure_all(args, peers)
    m.elapsed = time.perf_counter() - started
    print(report.text(m))
    info["loadavg_after"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    if args.markdown:
        print()
        load = (f"{info['loadavg'][0]:.2f} at the start, {info['loadavg_after'][0]:.2f} at the end"
                if isinstance(info["loadavg"], list) else "")
        print(report.markdown(m, lines, date[:10], load))
    after = f", load average {os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else ""
    print(f"\ntotal {m.elapsed:.1f} s{after}")

    if args.json:
        report.write_json(args.json, {
            "date": date, "argv": sys.argv[1:] if argv is None else list(argv),
            "machine": info, "machine_lines": lines,
            "options": {"parts": args.parts, "sizes": args.sizes, "dtypes": args.dtypes,
                        "minibatch": args.minibatch, "peers": ["native", *peers],
                        "repeats": args.repeats, "quick": args.quick,
                        "iterations": args.iterations, "epochs": args.epochs,
                        "rows": args.rows, "networks": args.networks,
                        "gemm_size": args.gemm_size, "pause": args.pause,
                        "idle": args.idle},
            "gemm": {d: g.to_json() for d, g in m.gemm.items()},
            "results": [r.to_json() for r in m.training],
            "trajectory_checks": [{"size": s, "deviation": d, "ok": ok, "rtol": RTOL_TRAJECTORY}
                                  for s, d, ok in m.trajectories],
            "minibatch": [r.to_json() for r in m.minibatch],
            "minibatch_trajectory_checks": [
                {"problem": s, "deviation": d, "ok": ok, "rtol": RTOL_TRAJECTORY}
                for s, d, ok in m.minibatch_trajectories],
            "inference": [f.to_json() for f in m.forward],
            "overhead": [r.to_json() for r in m.overhead],
            "overhead_ratios": overhead.ratios(m.overhead) if m.overhead else {},
            "dropout": [r.to_json() for r in m.dropout],
            "dropout_ratios": dropout.ratios(m.dropout) if m.dropout else {},
            "living": m.living.to_json() if m.living is not None else None,
            "serving": [r.to_json() for r in m.serving],
            "serving_threads": [r.to_json() for r in m.throughput],
            "targets": report.targets(m), "elapsed_s": m.elapsed})
        print(f"wrote {args.json}")
    if args.plot:
        if m.training:
            why = report.plot(args.plot, m.training,
                              f"plainnet native vs peers, {date[:10]}; {lines[0]}")
        else:
            why = "the plot shows the training part, which did not run"
        print(f"wrote {args.plot}" if why is None else f"--plot: {why}")

    return 1 if failed(m) else 0


if __name__ == "__main__":
    sys.exit(main())
