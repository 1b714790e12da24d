"""Time full-batch training: plainnet's native core against its NumPy backend,
PyTorch and scikit-learn, on the same network, weights, data and updates.

    python bench/run.py [--quick] [--sizes xor,small,medium,large] [--dtypes float64,float32]
                        [--peers native,numpy,torch,sklearn] [--repeats 5]
                        [--json PATH] [--plot PATH] [--markdown]

Sizes (sigmoid on every layer, full-batch gradient descent, the core's MSE):

    xor     2-4-1           m=4    10,000 iterations  (the tutorial's run)
    small   64-32-10        m=256   1,000
    medium  784-128-10      m=256     200
    large   784-512-512-10  m=512      30

Each peer runs once untimed (warm-up), then ``--repeats`` timed runs of all
the iterations, interleaved with the other peers'; the table shows time per
iteration (median, min, max) and the ratio peer/native. A time is shown only
after the peer's final loss in every run matched native's (float64: rtol 1e-6,
float32: 1e-3); a peer that does not match is marked FAILED. PyTorch runs with
1 and 2 threads and the faster is shown. Peers not installed are skipped
(``pip install ".[bench]"`` installs them). The exit status is 1 if any check
failed.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import machine  # noqa: E402
import report  # noqa: E402
from peers import ALL_PEERS, available  # noqa: E402
from problems import DTYPES, QUICK_DIVISOR, SIZES  # noqa: E402
from suite import run_problem, trajectory_check  # noqa: E402


def _names(values: list[str], arg: str, allowed) -> list[str]:
    """Comma- and/or space-separated names, each checked, in the given order, no repeats."""
    names = [v for value in values for v in value.split(",") if v]
    for v in names:
        if v not in allowed:
            raise SystemExit(f"{arg}: expected names among {','.join(allowed)}, got {v!r}")
    if not names:
        raise SystemExit(f"{arg}: expected at least one of {','.join(allowed)}")
    return list(dict.fromkeys(names))


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.splitlines()[1:]))
    p.add_argument("--quick", action="store_true",
                   help=f"{QUICK_DIVISOR}x fewer iterations and 3 repeats (under a minute)")
    p.add_argument("--sizes", nargs="+", default=[",".join(SIZES)], metavar="NAMES",
                   help="comma-separated, from: " + ",".join(SIZES))
    p.add_argument("--dtypes", nargs="+", default=[",".join(DTYPES)], metavar="NAMES",
                   help="comma-separated, from: " + ",".join(DTYPES))
    p.add_argument("--peers", nargs="+", default=None, metavar="NAMES",
                   help="comma-separated, from: " + ",".join(ALL_PEERS) +
                        " (default: all installed; native always runs, it is the reference)")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed runs per peer after the warm-up (default 5, 3 with --quick)")
    p.add_argument("--iterations", type=int, default=None,
                   help="iterations per run for every size (default: each size's own)")
    p.add_argument("--json", metavar="PATH", help="write every figure and the machine to PATH")
    p.add_argument("--plot", metavar="PATH", help="bar chart of the ratios (needs matplotlib)")
    p.add_argument("--markdown", action="store_true",
                   help="also print the table as markdown, ready for the README")
    args = p.parse_args(argv)
    args.sizes = _names(args.sizes, "--sizes", list(SIZES))
    args.dtypes = _names(args.dtypes, "--dtypes", list(DTYPES))
    for arg in ("repeats", "iterations"):
        value = getattr(args, arg)
        if value is not None and value < 1:
            p.error(f"--{arg}: expected an integer >= 1, got {value}")
    if args.repeats is None:
        args.repeats = 3 if args.quick else 5
    return args


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
    print(f"{date}; peers: native,{','.join(peers)}; repeats {args.repeats} after one warm-up"
          + ("; --quick" if args.quick else "")
          + (f"; load average {load[0]:.2f}" if isinstance(load, list) else ""))
    for p, why in skipped.items():
        print(f"skipping {p}: {why}")
    print(flush=True)

    results, trajectories = [], []
    for dtype in args.dtypes:
        for size in args.sizes:
            iters = args.iterations
            if iters is None and args.quick:
                iters = max(SIZES[size].iterations // QUICK_DIVISOR, 3)
            t0 = time.perf_counter()
            rs = run_problem(size, dtype, peers, args.repeats, iters)
            results += rs
            traj = trajectory_check(rs)
            if traj is not None:
                trajectories.append((size, *traj))
            print(f"  {size} {dtype}: {time.perf_counter() - t0:.1f} s", file=sys.stderr,
                  flush=True)

    elapsed = time.perf_counter() - started
    print(report.table(results))
    print(report.FOOTNOTE)
    print()
    traj_text = report.trajectory_text(trajectories)
    if traj_text:
        print(traj_text)
    goals = report.targets(results)
    print(report.targets_text(goals))
    info["loadavg_after"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    if args.markdown:
        print()
        load = (f"{info['loadavg'][0]:.2f} at the start, {info['loadavg_after'][0]:.2f} at the end"
                if isinstance(info["loadavg"], list) else "")
        print(report.markdown(results, lines, date[:10], goals, traj_text, elapsed, load))
    after = f", load average {os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else ""
    print(f"\ntotal {elapsed:.1f} s{after}")

    if args.json:
        report.write_json(args.json, {
            "date": date, "argv": sys.argv[1:] if argv is None else list(argv),
            "machine": info, "machine_lines": lines,
            "options": {"sizes": args.sizes, "dtypes": args.dtypes, "peers": ["native", *peers],
                        "repeats": args.repeats, "quick": args.quick,
                        "iterations": args.iterations},
            "results": [r.to_json() for r in results],
            "trajectory_checks": [{"size": s, "deviation": d, "ok": ok, "rtol": 1e-9}
                                  for s, d, ok in trajectories],
            "targets": goals, "elapsed_s": elapsed})
        print(f"wrote {args.json}")
    if args.plot:
        why = report.plot(args.plot, results, f"plainnet native vs peers, {date[:10]}; {lines[0]}")
        print(f"wrote {args.plot}" if why is None else f"--plot: {why}")

    failed = any(not r.ok for r in results) or any(not ok for _, _, ok in trajectories)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
