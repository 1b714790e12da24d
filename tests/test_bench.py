"""The benchmark suite's correctness parts: its peers compute the core's updates,
and its loss check rejects a peer that does not; the FLOP counts and the GEMM
rate; the report's tables and targets. Nothing here asserts a time."""

import dataclasses
import json
import statistics
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
if not (BENCH / "suite.py").is_file():  # tests copied away from the source tree
    pytest.skip(f"the benchmark suite is not at {BENCH}", allow_module_level=True)
sys.path.insert(0, str(BENCH))

import dropout  # noqa: E402
import gemm  # noqa: E402
import living  # noqa: E402
import machine  # noqa: E402
import minibatch  # noqa: E402
import overhead  # noqa: E402
import peers  # noqa: E402
import problems  # noqa: E402
import report  # noqa: E402
import run  # noqa: E402
import suite  # noqa: E402

DTYPES = ["float64", "float32"]
ITERS = {"xor": 100, "small": 5}  # enough steps for a wrong update to show in the loss


def run_checked(size, dtype, names, **kw):
    results = suite.run_problem(size, dtype, names, repeats=1, iterations=ITERS[size], pause=0,
                                **kw)
    for r in results:
        assert r.ok, r.message
        if r.best:  # timed
            assert len(r.times) == 1 and len(r.finals) == 2
            assert r.ratio is not None and r.ratio > 0
        else:  # a torch thread count that lost the probe: checked, not timed
            assert r.peer == "torch" and len(r.probe) == suite.PROBES
            assert r.times == [] and len(r.finals) == 1 and r.ratio is None
    return {r.label: r for r in results}


def assert_same_trajectory(result, dtype):
    # float64: only summation order and exp differ; float32: its rounding, over 100 steps
    rtol = 1e-12 if dtype == "float64" else 1e-4
    assert result.trajectory_deviation is not None
    assert result.trajectory_deviation <= rtol, result.trajectory_deviation


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", ["xor", "small"])
def test_native_and_numpy_backends_match(size, dtype):
    by = run_checked(size, dtype, ["numpy"])
    assert set(by) == {"native", "numpy"}
    assert_same_trajectory(by["numpy"], dtype)
    losses = by["native"].losses
    assert losses.shape == (ITERS[size],) and losses[-1] < losses[0]
    traj = suite.trajectory_check(list(by.values()))
    if dtype == "float64":
        assert traj is not None and traj[1] and traj[0] <= suite.RTOL_TRAJECTORY
    else:
        assert traj is None


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", ["xor", "small"])  # small: 10 outputs, where lr*K/2 matters
def test_torch_matches_native(size, dtype):
    pytest.importorskip("torch")
    by = run_checked(size, dtype, ["torch"], torch_threads=(1, 2))
    assert {"torch/1t", "torch/2t"} <= set(by)
    torch_runs = [r for r in by.values() if r.peer == "torch"]
    assert sum(r.best for r in torch_runs) == 1
    fastest = min(torch_runs, key=lambda r: min(r.probe))
    assert fastest.best
    for label in ("torch/1t", "torch/2t"):
        assert_same_trajectory(by[label], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", ["xor", "small"])
def test_sklearn_matches_native_with_a_linear_output(size, dtype):
    pytest.importorskip("sklearn")
    by = run_checked(size, dtype, ["sklearn"])
    assert by["sklearn"].reference == "native-lin"
    assert by["native-lin"].final_loss != by["native"].final_loss  # a different network
    assert_same_trajectory(by["sklearn"], dtype)


def test_sklearn_refuses_a_sigmoid_output():
    pytest.importorskip("sklearn")
    with pytest.raises(ValueError, match="linear output"):
        peers.SklearnPeer(problems.make_problem("xor", "float64", iterations=3))


def _measured(entries, rtol=suite.RTOL["float64"]):
    suite.measure(entries, repeats=1, pause=0)
    results = [r for _, r in entries]
    suite.check(results, rtol)
    return results


def _entry(peer, kind):
    return peer, suite.Result(peer.problem.size.name, peer.problem.dtype, kind, peer.label,
                              peer.threads, "native", peer.problem.iterations)


# float64's rtol 1e-6 catches a 1% error in the learning rate; float32's 1e-3 a 10% one
@pytest.mark.parametrize("dtype, factor", [("float64", 1.01), ("float32", 1.1)])
def test_a_wrong_learning_rate_fails_the_check(dtype, factor):
    problem = problems.make_problem("small", dtype, iterations=ITERS["small"])
    wrong = dataclasses.replace(problem, size=dataclasses.replace(problem.size,
                                                                  lr=problem.lr * factor))
    results = _measured([_entry(peers.PlainnetPeer(problem, "native"), "native"),
                         _entry(peers.PlainnetPeer(wrong, "numpy", label="wrong"), "numpy")],
                        suite.RTOL[dtype])
    native, bad = results
    assert native.ok and not bad.ok
    assert bad.ratio is None and bad.message.startswith("FAILED")
    table = report.table(results)
    assert "FAILED" in table and "wrong: FAILED" in table


def test_torch_without_the_learning_rate_scaling_fails_the_check():
    pytest.importorskip("torch")
    problem = problems.make_problem("small", "float64", iterations=ITERS["small"])
    unscaled = peers.TorchPeer(problem, threads=1)
    unscaled.optimizer.param_groups[0]["lr"] = problem.lr  # MSELoss needs lr * K / 2
    results = _measured([_entry(peers.PlainnetPeer(problem, "native"), "native"),
                         _entry(unscaled, "torch")])
    assert results[0].ok and not results[1].ok


def test_machine_reports_the_cores_build_info_when_it_has_one(monkeypatch):
    from plainnet import _core

    info = {"compiler": "GCC 12", "flags": "-O3", "variants": ["avx512f", "avx2", "default"],
            "variant": "avx512f", "num_threads": 2}
    monkeypatch.setattr(_core, "build_info", lambda: dict(info), raising=False)
    assert machine.plainnet_build() == info
    line = machine.describe(machine.collect())[3]
    assert "variants avx512f,avx2,default; variant avx512f; threads 2" in line
    monkeypatch.delattr(_core, "build_info", raising=False)
    assert set(machine.plainnet_build().values()) == {"n/a"}


def test_relative_deviation():
    assert suite.relative_deviation([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert suite.relative_deviation([1.1], [1.0]) == pytest.approx(0.1)
    assert suite.relative_deviation([np.nan], [1.0]) == np.inf
    assert suite.relative_deviation([1.0], [1.0, 1.0]) == np.inf


def test_command_line_writes_json_and_markdown(tmp_path, capsys):
    out = tmp_path / "bench.json"
    status = run.main(["--parts", "training", "--sizes", "xor", "--dtypes", "float64",
                       "--peers", "numpy", "--iterations", "50", "--repeats", "2", "--pause", "0",
                       "--json", str(out), "--markdown"])
    text = capsys.readouterr().out
    assert status == 0
    assert "| xor | float64 | numpy | 50 |" in text
    # a markdown table needs the separator row under its header (numbers right-aligned)
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| size | dtype |"))
    assert lines[header + 1] == "|---|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|"
    assert "target >= 150x" in text
    data = json.loads(out.read_text())
    assert data["options"]["peers"] == ["native", "numpy"]
    assert data["options"]["parts"] == ["training"] and data["gemm"] == {}
    rows = {r["label"]: r for r in data["results"]}
    assert len(rows["numpy"]["times"]) == 2 and len(rows["numpy"]["finals"]) == 3
    # the ratio is of the best times; the median is shown beside the best
    assert rows["numpy"]["ratio"] == pytest.approx(rows["numpy"]["min"] / rows["native"]["min"])
    assert rows["numpy"]["min"] == min(rows["numpy"]["times"])
    assert data["trajectory_checks"][0]["ok"]
    first = data["targets"][0]
    assert first["what"] == "xor float64: numpy/native" and first["goal"] == 150.0
    assert first["measured"] == rows["numpy"]["ratio"] and first["op"] == ">="
    assert first["met"] == (first["measured"] >= 150.0)
    assert data["machine"]["plainnet_build"].keys() >= {"compiler", "flags", "variants",
                                                         "variant", "num_threads"}


def test_command_line_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "ratios.png"
    status = run.main(["--parts", "training", "--sizes", "xor", "--dtypes", "float32",
                       "--peers", "numpy", "--iterations", "20", "--repeats", "1", "--pause", "0",
                       "--plot", str(png)])
    capsys.readouterr()
    assert status == 0 and png.stat().st_size > 1000


@pytest.mark.parametrize("argv, message", [
    (["--sizes", "huge"], "--sizes"),
    (["--dtypes", "float16"], "--dtypes"),
    (["--peers", "jax"], "--peers"),
    (["--parts", "everything"], "--parts"),
    (["--minibatch", "cifar"], "--minibatch"),
    (["--rows", "0"], "--rows"),
    (["--rows", "many"], "--rows"),
])
def test_command_line_rejects_unknown_names(argv, message):
    with pytest.raises(SystemExit, match=message):
        run.main(argv)


@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_bench_peers_compute_the_same_outputs(dtype):
    import forward

    deviations = forward.check(rows=37, dtype=dtype)
    assert {"native", "numpy"} <= set(deviations)
    for name, deviation in deviations.items():
        assert deviation <= forward.RTOL[dtype], (name, deviation)


def test_forward_bench_memory_is_the_output_and_a_chunk_of_scratch():
    import forward

    # 20,000 rows of 784-128-10: a training workspace would add ~295 MB (z and
    # a of every layer, and the 784-wide gradient buffers); the output is
    # 1.6 MB, the scratch for 512 rows 1.5 MB. The bound leaves room for an
    # instrumented allocator (AddressSanitizer's redzones and shadow memory).
    assert forward.peak_memory_mb(20_000, "float64") < 64


def _digits_rows(text):
    """{(peer, seed): test accuracy} from the per-seed table of bench/digits.py."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 8 and cells[1].isdigit():
            rows[cells[0], int(cells[1])] = float(cells[2])
    return rows


def test_digits_bench_quick_run_learns_the_digits(capsys):
    pytest.importorskip("sklearn", reason="bench/digits.py loads scikit-learn's digits")
    import digits

    # native and the numpy backend only: the idle pauses and the other peers'
    # fits are timing, not correctness (a few seconds instead of half a minute)
    status = digits.main(["--quick", "--peers", "native,numpy", "--pause", "0"])
    text = capsys.readouterr().out
    assert status == 0, text
    rows = _digits_rows(text)
    assert set(rows) == {("native", 0), ("numpy", 0)}, text
    assert all(accuracy >= 0.95 for accuracy in rows.values()), rows
    assert "native vs numpy backend" in text and ": ok" in text
    assert "OPENBLAS_CORETYPE=" in text


def test_digits_bench_peers_train_on_the_same_split():
    pytest.importorskip("sklearn", reason="bench/digits.py loads scikit-learn's digits")
    import digits

    data = digits.load()
    assert data.X_train.shape == (1347, 64) and data.X_test.shape == (450, 64)
    assert data.X_train.max() <= 1.0
    short = digits.sklearn_fit(data, seed=0, pause=0.0, max_iter=10)
    assert short.epochs == 10 and short.note == "max_iter reached" and short.accuracy > 0.5
    if digits.available("torch") is None:
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # two threads can take seconds per epoch on a busy machine
        try:
            run = digits.torch_fit(data, seed=0, epochs=3, pause=0.0)
        finally:
            torch.set_num_threads(threads)
        assert run.epochs == 3 and run.accuracy > 0.5 and run.note == "1 thread"


# ---------------------------------------------------------------- FLOPs and the GEMM rate


def test_training_flops_count_the_products_an_iteration_needs():
    # 784-128-10 on 64 rows: forward 2*64*(784*128 + 128*10), the weight gradients as
    # much again, the input gradient of the second layer only 2*64*128*10
    forward = 2 * 64 * (784 * 128 + 128 * 10)
    assert gemm.forward_flops([784, 128, 10], 64) == forward == 13_008_896
    assert gemm.training_flops([784, 128, 10], 64) == 2 * forward + 2 * 64 * 128 * 10
    assert gemm.training_flops([784, 128, 10], 64) == 26_181_632  # the "about 26 MFLOP"
    assert gemm.training_flops((64, 64, 10), 32) == 647_168  # the "about 0.65 MFLOP"
    # one layer: the data's gradient is never needed
    assert gemm.training_flops([3, 2], 5) == 2 * gemm.forward_flops([3, 2], 5) == 120
    # large: the input gradients of the second and third layers
    assert gemm.training_flops([784, 512, 512, 10], 512) == (
        4 * 512 * (784 * 512 + 512 * 512 + 512 * 10) + 2 * 512 * (512 * 512 + 512 * 10))


def test_gemm_rate_of_known_times():
    rate = gemm.GemmRate("float64", 1000, 2, "Haswell", "openblas", times=[2.0, 1.0, 4.0])
    assert rate.flops == 2_000_000_000
    assert rate.gflops == 2.0 and rate.median_gflops == 1.0  # best time 1 s, median 2 s
    assert gemm.gflops(3e9, 1.5) == 2.0
    with pytest.raises(ValueError, match="seconds"):
        gemm.gflops(1.0, 0.0)
    r = suite.Result("small", "float64", "native", "native", None, "native", 10,
                     flops=4_000_000_000, times=[4.0, 2.0])
    assert r.gflops == 2.0
    r.ok = True
    assert report.gemm_fraction(r, {"float64": rate}) == 1.0
    assert report.gemm_fraction(r, {"float32": rate}) is None  # no rate of its dtype


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_measure_reports_numpys_blas(dtype):
    threadpoolctl = pytest.importorskip("threadpoolctl", reason="reports the BLAS's threads")
    rate = gemm.measure(dtype, n=64, repeats=2, pause=0)
    assert rate.n == 64 and rate.dtype == dtype and len(rate.times) == 2
    assert rate.gflops == pytest.approx(2 * 64 ** 3 / min(rate.times) / 1e9)
    blas = [p for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
    assert rate.threads in {p["num_threads"] for p in blas}
    assert rate.kernel in {p.get("architecture") for p in blas}
    assert rate.to_json()["gflops"] == rate.gflops


# ---------------------------------------------------------------- mini-batch rows

MB_PEERS = ["numpy", "torch", "sklearn"]


def _installed(names):
    return [n for n in names if peers.available(n) is None]


# mnist's shapes on fewer rows (10 batches): the same products, a tenth of the time
MB_ROWS = {"digits": None, "mnist": 640}


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("name", ["digits", "mnist"])
def test_minibatch_peers_make_the_same_updates(name, optimizer):
    names = _installed(MB_PEERS)
    results = minibatch.run_problem(name, optimizer, names, repeats=1, epochs=1,
                                    torch_threads=(1,), pause=0, rows=MB_ROWS[name])
    by = {r.label: r for r in results}
    assert {"native", "numpy"} <= set(by)
    size = minibatch.SIZES[name]
    for r in results:
        assert r.ok, r.message
        assert len(r.times) == 1 and len(r.finals) == 2 and r.ratio is not None
        assert r.iterations == (MB_ROWS[name] or size.rows) // size.batch
        assert r.flops == gemm.training_flops(size.layers, size.batch)
    problem = minibatch.make_problem(name, optimizer, rows=MB_ROWS[name])
    start = problem.loss_of(problem.net.weights, problem.net.biases)
    assert by["native"].final_loss < start  # it learns
    assert by["numpy"].trajectory_deviation <= suite.RTOL_TRAJECTORY
    if "torch/1t" in by:  # torch reports every batch's loss: the same trajectory
        assert by["torch/1t"].trajectory_deviation <= 1e-12
    if "sklearn" in by:
        assert by["sklearn"].rtol == minibatch.rtol_for("sklearn", optimizer)


def test_minibatch_problem_rows_are_whole_batches():
    assert minibatch.make_problem("mnist", "sgd", rows=128).X.shape == (128, 784)
    with pytest.raises(ValueError, match="rows: expected a positive multiple of the batch"):
        minibatch.make_problem("mnist", "sgd", rows=100)


def test_minibatch_problem_visits_batches_in_fits_order():
    p = minibatch.make_problem("digits", "sgd", epochs=2)
    X, labels = p.permuted()
    assert X.shape == (2 * 1344, 64) and labels.shape == (2 * 1344,)
    for e in range(2):
        order = np.asarray(minibatch.pn.reference.epoch_permutation(1344, p.seed, e))
        assert np.array_equal(X[e * 1344:(e + 1) * 1344], p.X[order])
    assert not np.array_equal(X[:1344], X[1344:])  # reshuffled each epoch
    assert sorted(set(p.labels)) == list(range(10))


def _minibatch_entries(problem, peer, wrong):
    """native on ``problem`` and ``peer`` on a copy changed by ``wrong``."""
    bad = dataclasses.replace(problem, **wrong)
    entries = []
    for obj, kind in ((minibatch.make_peers("native", problem)[0], "native"),
                      (minibatch.make_peers(peer, bad, (1,))[0], peer)):
        entries.append((obj, suite.Result(
            problem.size.name, problem.dtype, kind, obj.label, obj.threads, "native",
            problem.iterations, optimizer=problem.optimizer,
            rtol=None if kind == "native" else minibatch.rtol_for(kind, problem.optimizer))))
    return _measured(entries, minibatch.RTOL)


WRONG = {"lr 1% off": {"lr_factor": 1.01},
         "another shuffle": {"order_seed": minibatch.SEED + 1}}


@pytest.mark.parametrize("wrong", list(WRONG))
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("peer", MB_PEERS)
def test_a_minibatch_peer_with_a_wrong_update_fails_the_check(peer, optimizer, wrong):
    if peers.available(peer) is not None:
        pytest.skip(f"{peer} is not installed")
    problem = minibatch.make_problem("digits", optimizer, epochs=1)
    native, bad = _minibatch_entries(problem, peer, WRONG[wrong])
    assert native.ok
    assert not bad.ok and bad.ratio is None and bad.message.startswith("FAILED"), bad.message
    table = report.minibatch_table([native, bad], {})
    assert f"{bad.label}: FAILED" in table


def test_sklearn_adam_tolerance_sits_between_its_epsilon_and_a_wrong_update():
    pytest.importorskip("sklearn", reason="the peer is scikit-learn's MLPClassifier")
    # where scikit-learn puts Adam's epsilon moves the loss far less than its tolerance
    problem = minibatch.make_problem("digits", "adam", epochs=1)
    results = minibatch.run_problem("digits", "adam", ["sklearn"], repeats=1, epochs=1, pause=0)
    sk = next(r for r in results if r.peer == "sklearn")
    assert sk.ok and sk.deviation < minibatch.RTOL_SKLEARN_ADAM / 100
    # and the tolerance is not loose enough to let a learning rate 1% off through
    native, bad = _minibatch_entries(problem, "sklearn", {"lr_factor": 1.01})
    assert bad.deviation > 100 * minibatch.RTOL_SKLEARN_ADAM


# ---------------------------------------------------------------- inference, overhead, NumPy


@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_bench_measure_checks_and_compares_every_peer(dtype):
    import forward

    results = forward.measure(37, dtype, repeats=2, pause=0)
    by = {r.peer: r for r in results}
    assert {"native", "numpy"} <= set(by)
    for r in results:
        assert r.ok and r.deviation <= forward.RTOL[dtype], (r.peer, r.deviation)
        assert len(r.times) == 2 and r.ratio == pytest.approx(r.min / by["native"].min)
    torch_runs = [r for r in results if r.peer.startswith("torch")]
    if torch_runs:
        assert sum(r.best for r in torch_runs) == 1
        assert min(torch_runs, key=lambda r: r.min).best
    assert all(not r.peer.startswith("torch") for r in forward.measure(5, dtype, 1, 0, False))


def test_overhead_runs_differ_only_in_optimizer_and_loss():
    results = overhead.run_overheads(repeats=1, iterations=3, pause=0)
    by = {r.label: r for r in results}
    assert set(by) == {"sgd-mse", "adam-mse", "sgd-ce", "sgd-mse-clip", "sgd-mse-cosine",
                       "mb-sgd", "mb-clip", "mb-onecycle"}
    for r in results:
        assert r.ok and len(r.times) == 1 and r.iterations == 3, r.message
    # the same first loss for the same loss function: same data and initial weights
    assert by["sgd-mse"].losses[0] == by["adam-mse"].losses[0]
    assert by["sgd-mse"].final_loss != by["adam-mse"].final_loss
    assert by["sgd-ce"].losses[0] != by["sgd-mse"].losses[0]  # another loss
    ratios = overhead.ratios(results)
    assert ratios["adam/sgd"] == pytest.approx(by["adam-mse"].min / by["sgd-mse"].min)
    assert ratios["ce/mse"] == pytest.approx(by["sgd-ce"].min / by["sgd-mse"].min)
    # clipping and schedules change the run, from the same start
    for extra, plain in (("sgd-mse-clip", "sgd-mse"), ("sgd-mse-cosine", "sgd-mse"),
                         ("mb-clip", "mb-sgd"), ("mb-onecycle", "mb-sgd")):
        assert by[extra].losses[0] == by[plain].losses[0]
        assert by[extra].final_loss != by[plain].final_loss, extra
    assert ratios["minibatch schedule/none"] == pytest.approx(by["mb-onecycle"].min
                                                              / by["mb-sgd"].min)


def test_dropout_runs_differ_only_in_dropout():
    results = dropout.run_dropout(repeats=1, epochs={"digits": 1, "medium": 3}, pause=0)
    by = {r.label: r for r in results}
    assert set(by) == {"digits none", "digits p=0.5", "medium none", "medium p=0.5"}
    for r in results:
        assert r.ok and len(r.times) == 1, r.message
    assert by["medium none"].iterations == 3 and by["digits none"].iterations == 42
    for name in ("digits", "medium"):
        plain, dropped = by[f"{name} none"], by[f"{name} p=0.5"]
        # the same data and weights, other training: the first losses differ by the masks
        assert plain.losses.shape == dropped.losses.shape
        assert plain.losses[0] != dropped.losses[0]
    r = dropout.ratios(results)
    assert r["digits"] == pytest.approx(by["digits p=0.5"].min / by["digits none"].min)
    assert r["medium"] == pytest.approx(by["medium p=0.5"].min / by["medium none"].min)
    m = report.Measured(dropout=results)
    goals = {t["what"]: t for t in report.targets(m)}
    assert goals["digits: an epoch with dropout/without"]["measured"] == pytest.approx(
        r["digits"])
    assert "What dropout costs (p = 0.5)" in report.text(m)
    results[0].ok = False  # a failed check shows no ratio
    assert dropout.ratios(results)["digits"] is None


def test_living_with_numpy_runs_every_scenario_and_checks_the_fits():
    from plainnet import _core

    threads = _core.get_num_threads()
    # Two tries of the beside pair, alternating which goes first (five in the
    # suite; each large fit is slow in the sanitized build).
    result = living.run_living(repeats=2, idle=0, iterations=2,
                               problems=(("medium", "float32"), ("large", "float64")), tries=2)
    assert _core.get_num_threads() == threads  # put back
    assert result.ok, result.message
    assert result.products >= 1
    assert set(result.times) == {"idle", "callback", "after"}
    assert all(len(t) == 2 for t in result.times.values())
    ratios = result.ratios()
    assert ratios["after/idle"] == pytest.approx(result.best("after") / result.best("idle"))
    assert all(v is not None and v > 0 for v in ratios.values())
    assert [c.label for c in result.fits] == ["medium float32", "large float64"]
    for c in result.fits:
        assert c.ok, c.message
        assert set(c.times) == {"spinning", "beside", "one thread beside", "one thread", "idle"}
        # The beside pair is timed `tries` times a repeat, the others once.
        tries = {s: 2 * 2 if "beside" in s else 2 for s in c.times}
        assert {s: len(t) for s, t in c.times.items()} == tries
        assert set(c.waits) == set(c.pooled) == set(c.times)
        assert {s: len(w) for s, w in c.waits.items()} == tries
        assert {s: len(p) for s, p in c.pooled.items()} == tries
        assert all(min(w) >= 0 for w in c.waits.values())
        assert all(min(p) >= 0 for p in c.pooled.values())
        # One thread never asks the pool, so nobody waits for it.
        assert c.waits["one thread"] == [0.0, 0.0]
        assert set(c.pooled["one thread"]) == set(c.pooled["one thread beside"]) == {0}
        r = c.ratios()
        # The beside pair's times depend on where the scheduler puts three
        # threads on two cores: their medians are compared, the others' bests.
        assert r["beside/one thread beside"] == pytest.approx(
            c.median("beside") / c.median("one thread beside"))
        assert r["spinning/one thread"] == pytest.approx(c.best("spinning") / c.best("one thread"))
        alone = c.times["one thread beside"]
        assert r["beside noise"] == pytest.approx(
            statistics.median(alone[0::2]) / statistics.median(alone[1::2]))
        assert all(v is not None and v > 0 for v in r.values())
        c.ok = False  # a failed check shows no ratio
        assert set(c.ratios().values()) == {None}
    result.ok = False
    assert set(result.ratios().values()) == {None}


def test_beside_runs_numpy_products_until_it_is_left():
    beside = living.Beside()
    with beside:
        assert beside.thread is not None and beside.thread.is_alive()
    assert not beside.thread.is_alive()
    assert np.allclose(beside.burst.C, beside.burst.A @ beside.burst.B)


def test_burst_runs_its_products():
    burst = living.Burst(2)
    assert burst() > 0
    assert np.allclose(burst.C, burst.A @ burst.B)
    assert living.calibrate(idle=0, seconds=1e-9).products == 1


# ---------------------------------------------------------------- the report


def _result(size, peer, seconds, ratio=None, dtype="float64", optimizer="sgd", flops=None):
    r = suite.Result(size, dtype, peer, peer, None, "native", 10, flops=flops,
                     optimizer=optimizer, times=[seconds], finals=[1.0])
    r.ok, r.ratio, r.message = True, ratio, "ok"
    return r


def test_targets_of_known_measurements():
    rate = {"float64": gemm.GemmRate("float64", 1000, 2, "Haswell", "openblas", times=[0.02])}
    # large: 1.643 GFLOP an iteration; 0.02 s for the GEMM's 2 GFLOP is 100 GFLOP/s
    flops = gemm.training_flops(problems.SIZES["large"].layers, problems.SIZES["large"].m)
    m = report.Measured(gemm=rate, elapsed=100.0)
    m.training = [_result("large", "native", flops / 90e9, 1.0, flops=flops),
                  _result("large", "numpy", 1.0, 1.3)]
    m.minibatch = [_result("digits", "native", 1.0, 1.0), _result("digits", "numpy", 5.0, 5.0),
                   _result("digits", "sklearn", 7.9, 7.9)]
    m.overhead = [_result("medium", "sgd-mse", 1.0), _result("medium", "adam-mse", 1.2),
                  _result("medium", "sgd-ce", 0.9)]
    goals = {t["what"]: t for t in report.targets(m)}
    assert goals["large float64: numpy/native"]["met"]  # 1.3 >= 1.2
    share = goals["large float64: native of the dgemm rate"]
    assert share["measured"] == pytest.approx(0.9) and share["met"] and share["unit"] == "%"
    assert goals["digits 64-64-10 b32 sgd: numpy/native"]["met"]  # exactly 5
    assert not goals["digits 64-64-10 b32 sgd: sklearn/native"]["met"]  # 7.9 < 8
    assert goals["medium: Adam/SGD per iteration"]["measured"] == pytest.approx(1.2)
    assert not goals["medium: Adam/SGD per iteration"]["met"]  # at most 1.10
    assert goals["medium: cross-entropy/MSE per iteration"]["met"]  # 0.9 <= 1
    assert goals["the whole run"]["met"]  # 100 s <= 300 s
    # the parts not run have no targets; a failed row is not met and has no value
    assert not any(w.startswith(("forward", "mnist", "NumPy")) for w in goals)
    m.minibatch[1].ok, m.minibatch[1].ratio = False, None
    failed = {t["what"]: t for t in report.targets(m)}["digits 64-64-10 b32 sgd: numpy/native"]
    assert failed["measured"] is None and not failed["met"]
    text = report.targets_text(report.targets(m))
    assert "90.0%   target >= 85%" in text and "NOT MET" in text


def test_command_line_shows_every_new_part(tmp_path, capsys):
    out = tmp_path / "all.json"
    names = ",".join(["numpy", *_installed(["torch", "sklearn"])])
    status = run.main(["--quick", "--parts", "gemm,training,minibatch,inference,overhead,numpy",
                       "--sizes", "small", "--dtypes", "float64", "--minibatch", "digits",
                       "--peers", names, "--repeats", "1", "--iterations", "3", "--epochs", "1",
                       "--rows", "37", "--gemm-size", "128", "--pause", "0", "--idle", "0",
                       "--json", str(out), "--markdown"])
    text = capsys.readouterr().out
    assert status == 0, text
    data = json.loads(out.read_text())
    g = data["gemm"]["float64"]
    assert g["n"] == 128 and len(g["times"]) == 3
    assert text.count("GEMM rate (NumPy matmul 128x128") == 2  # plain and markdown
    # the training table's new columns: native's GFLOP/s over the GEMM rate
    native = next(r for r in data["results"] if r["label"] == "native")
    fraction = native["gflops"] / g["gflops"]
    row = next(line for line in text.splitlines() if line.startswith("| small | float64 | native"))
    assert row.endswith(f"| {native['gflops']:.1f} | {100 * fraction:.0f}% |")
    assert "| GFLOP/s | of GEMM |" in text
    # mini-batch rows, one per optimizer, every peer checked
    mb = data["minibatch"]
    assert {(r["optimizer"], r["peer"]) for r in mb} >= {("sgd", "native"), ("adam", "numpy")}
    assert all(r["ok"] for r in mb)
    assert "| digits 64-64-10 b32 | adam | numpy | 42 |" in text
    assert all(c["ok"] for c in data["minibatch_trajectory_checks"])
    # inference, overhead and NumPy rows, each with its ratios
    assert {r["peer"] for r in data["inference"]} >= {"native", "numpy"}
    assert "| 37 | float64 | numpy |" in text
    assert set(data["overhead_ratios"]) == {"adam/sgd", "ce/mse", "clip/none", "schedule/none",
                                            "minibatch clip/none", "minibatch schedule/none"}
    assert "Adam over SGD:" in text and "cross-entropy over MSE:" in text
    assert data["living"]["ok"] and "Living with NumPy" in text
    # the targets of every part that ran
    whats = {t["what"] for t in data["targets"]}
    assert {"small float64: numpy/native", "digits 64-64-10 b32 sgd: numpy/native",
            "digits 64-64-10 b32 adam: numpy/native", "medium: Adam/SGD per iteration",
            "medium: cross-entropy/MSE per iteration", "forward 37 rows float64: numpy/native",
            "NumPy products in a fit callback / idle",
            "medium float64 fit among spinning NumPy threads / one thread",
            "large float32 fit beside NumPy products / one thread beside them",
            "the whole run (--quick)"} <= whats
    assert "Fits beside NumPy" in text
    for t in data["targets"]:
        shown = "met" if t["met"] else "NOT MET"
        assert any(line.startswith(f"  {t['what']} ") and line.endswith(shown)
                   for line in text.splitlines()), t


# ---------------------------------------------------------------- serving


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows", [1, 300])
def test_serving_latency_checks_and_compares_every_installed_peer(dtype, rows):
    import serving

    peers = tuple(p for p in serving.PEERS if serving.available(p) is None)
    results = serving.latency("64-128-10", dtype, rows, peers, repeats=2, pause=0, calls=3)
    assert [r.peer for r in results] == list(peers)
    native = results[0]
    for r in results:
        assert r.ok and r.deviation <= serving.RTOL[dtype], (r.peer, r.deviation)
        assert len(r.times) == 2 and r.rows == rows
        assert r.ratio == pytest.approx(r.min / native.min)


def test_serving_latency_marks_a_wrong_peer_failed_and_gives_it_no_ratio():
    import serving

    def make(peer, net):
        if peer == "native":
            return net.forward
        return lambda X: net.forward(X) * 1.001  # 0.1 % off

    results = serving.latency("64-128-10", "float32", 1, ("native", "wrong"), repeats=1,
                              pause=0, calls=2, make=make)
    wrong = results[1]
    assert not wrong.ok and wrong.ratio is None and wrong.deviation > serving.RTOL["float32"]
    m = report.Measured(serving=results)
    assert report.serving_failed(m)
    assert "FAILED" in report.text(m)


@pytest.mark.parametrize("rows", [1, 600])
def test_serving_threads_check_every_output_and_compare_speed_ups(rows):
    import serving

    results = serving.throughput("float64", rows, repeats=2, pause=0, name="64-128-10",
                                 threads=(1, 3), calls=7)
    assert [(r.mode, r.threads) for r in results] == [("shared", 1), ("shared", 3),
                                                      ("copies", 1), ("copies", 3)]
    for r in results:
        assert r.ok and len(r.times) == 2 and r.calls == 7
    by = {(r.mode, r.threads): r for r in results}
    up = serving.speedups(results)
    one = min(by["shared", 1].min, by["copies", 1].min)  # one setup: the better of its runs
    assert up[("float64", rows, "shared")] == pytest.approx(one / by["shared", 3].min)
    assert up[("float64", rows, "copies")] == pytest.approx(one / by["copies", 3].min)
    share = serving.sharing(results)[("float64", rows)]
    assert share == pytest.approx(up[("float64", rows, "shared")] /
                                  up[("float64", rows, "copies")])
    goals = {t["what"]: t for t in report.targets(report.Measured(throughput=results))}
    per_call = "1 row/call" if rows == 1 else f"{rows} rows/call"
    goal = goals[f"serving float64 {per_call}: speed-up of 8 threads on one network / on copies"]
    assert goal["measured"] == pytest.approx(share) and goal["met"] == (share >= 0.9)
    # a wrong output anywhere fails the row, and the speed-up is not given
    results[1].ok = False
    assert serving.sharing(results)[("float64", rows)] is None


def test_command_line_serving_part(tmp_path, capsys):
    out = tmp_path / "serving.json"
    status = run.main(["--quick", "--parts", "serving", "--networks", "64-128-10",
                       "--dtypes", "float32", "--peers", ",".join(_installed(["torch"])) or
                       "numpy", "--idle", "0", "--json", str(out), "--markdown"])
    text = capsys.readouterr().out
    assert status == 0, text
    data = json.loads(out.read_text())
    assert {(r["rows"], r["peer"]) for r in data["serving"]} >= {(1, "native"), (10000, "native")}
    assert all(r["ok"] for r in data["serving"] + data["serving_threads"])
    assert {(r["rows"], r["mode"], r["threads"]) for r in data["serving_threads"]} == {
        (rows, mode, n) for rows in (1, 10000) for mode in ("shared", "copies") for n in (1, 8)}
    whats = {t["what"] for t in data["targets"]}
    assert {"serving float32 1 row/call: speed-up of 8 threads on one network / on copies",
            "serving float32 10,000 rows/call: speed-up of 8 threads on one network / on "
            "copies"} <= whats
    if any(r["peer"] == "onnxruntime" for r in data["serving"]):
        assert "serving 64-128-10 float32 1 row: onnxruntime/native" in whats
    assert "Serving: latency" in text and "| 64-128-10 | float32 | 1 | native |" in text


@pytest.mark.parametrize("name", ["iris", "diabetes"])
def test_the_lbfgs_bench_compares_the_same_objective(name):
    # bench/lbfgs.py times plainnet's evaluation against scikit-learn's only after
    # both gave the same objective (rtol 1e-12) and gradient (1e-9) at the same weights.
    pytest.importorskip("sklearn", reason="bench/lbfgs.py compares with scikit-learn")
    import lbfgs
    X, y = lbfgs.dataset(name)
    ours, theirs, problem = lbfgs.evaluations(name, X, y, calls=1, repeats=1, pause=0.0)
    assert problem == "" and ours > 0 and theirs > 0
