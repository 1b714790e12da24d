"""The benchmark suite's correctness parts: its peers compute the core's updates,
and its loss check rejects a peer that does not. Nothing here is timed."""

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
if not (BENCH / "suite.py").is_file():  # tests copied away from the source tree
    pytest.skip(f"the benchmark suite is not at {BENCH}", allow_module_level=True)
sys.path.insert(0, str(BENCH))

import machine  # noqa: E402
import peers  # noqa: E402
import problems  # noqa: E402
import report  # noqa: E402
import run  # noqa: E402
import suite  # noqa: E402

DTYPES = ["float64", "float32"]
ITERS = {"xor": 100, "small": 5}  # enough steps for a wrong update to show in the loss


def run_checked(size, dtype, names, **kw):
    results = suite.run_problem(size, dtype, names, repeats=1, iterations=ITERS[size], **kw)
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
    suite.measure(entries, repeats=1)
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
    status = run.main(["--sizes", "xor", "--dtypes", "float64", "--peers", "numpy",
                       "--iterations", "50", "--repeats", "2", "--json", str(out), "--markdown"])
    text = capsys.readouterr().out
    assert status == 0
    assert "| xor | float64 | numpy | 50 |" in text
    # a markdown table needs the separator row under its header (numbers right-aligned)
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| size | dtype |"))
    assert lines[header + 1] == "|---|---|---|---:|---:|---:|---:|---:|---|---:|"
    assert "target >= 150x" in text
    data = json.loads(out.read_text())
    assert data["options"]["peers"] == ["native", "numpy"]
    rows = {r["label"]: r for r in data["results"]}
    assert len(rows["numpy"]["times"]) == 2 and len(rows["numpy"]["finals"]) == 3
    assert rows["numpy"]["ratio"] == pytest.approx(rows["numpy"]["median"] /
                                                   rows["native"]["median"])
    assert data["trajectory_checks"][0]["ok"]
    assert data["targets"][0]["size"] == "xor" and data["targets"][0]["target"] == 150.0
    assert data["machine"]["plainnet_build"].keys() >= {"compiler", "flags", "variants",
                                                         "variant", "num_threads"}


def test_command_line_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "ratios.png"
    status = run.main(["--sizes", "xor", "--dtypes", "float32", "--peers", "numpy",
                       "--iterations", "20", "--repeats", "1", "--plot", str(png)])
    capsys.readouterr()
    assert status == 0 and png.stat().st_size > 1000


@pytest.mark.parametrize("argv, message", [
    (["--sizes", "huge"], "--sizes"),
    (["--dtypes", "float16"], "--dtypes"),
    (["--peers", "jax"], "--peers"),
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
