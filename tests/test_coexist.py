"""Fits next to other work: a busy second core never changes a single bit.

The pool shares a product's bands, an update's parts and a mini-batch's
gather among the threads that come for them, and gives up on a worker whose
core is taken (cpp/threads.cpp). Who computes which part then depends on
what else runs on the machine; the results must not. Each fit here is run on
an idle machine first, then beside a busy process, beside a thread of NumPy
products (OpenBLAS on every core), and beside both.
"""

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import plainnet as pn
from plainnet import _core

# 784-128-10 on 256 rows: its first layer's products (25.7M multiply-adds)
# take the shared-B path; Adam's update of 101,770 parameters and the
# mini-batches' gathers (128 rows of 784) are split over the pool too.
LAYERS = (784, 128, 10)
ROWS = 256


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    X = rng.random((ROWS, LAYERS[0]))
    y = np.eye(LAYERS[-1])[rng.integers(0, LAYERS[-1], ROWS)]
    return X, y


@pytest.fixture
def two_threads():
    before = _core.get_num_threads()
    _core.set_num_threads(2)
    yield
    _core.set_num_threads(before)


def _fits(X, y, dtype):
    """A full-batch SGD fit and a mini-batch Adam fit; their weights and losses."""
    X, y = X.astype(dtype), y.astype(dtype)
    out = []
    for kwargs in ({"lr": 0.5, "batch_size": None, "epochs": 4},
                   {"optimizer": pn.optim.Adam(lr=1e-3), "batch_size": 128, "epochs": 2,
                    "seed": 5}):
        net = pn.Network(LAYERS, activation="sigmoid", init="xavier", seed=0, dtype=dtype)
        hist = net.fit(X, y, **kwargs)
        out.append((np.concatenate([a.ravel() for a in net.weights + net.biases]),
                    np.asarray(hist.loss)))
    return out


def _same(a, b):
    return all(np.array_equal(pa, pb) and np.array_equal(la, lb)
               for (pa, la), (pb, lb) in zip(a, b))


class _NumpyProducts:
    """NumPy products back to back in another thread while entered."""

    def __enter__(self):
        rng = np.random.default_rng(0)
        A, B = rng.random((384, 384)), rng.random((384, 384))
        self.stop, started = threading.Event(), threading.Event()

        def run():
            while not self.stop.is_set():
                A @ B
                started.set()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        started.wait()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


class _BusyProcess:
    """A process spinning on a core while entered."""

    def __enter__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.05)  # it is running
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_busy_second_core_changes_no_bit(data, two_threads, dtype):
    X, y = data
    before = _core.pool_stats()
    idle = _fits(X, y, dtype)
    for _ in range(2):
        with _BusyProcess():
            assert _same(_fits(X, y, dtype), idle), "beside a busy process"
        with _NumpyProducts():
            assert _same(_fits(X, y, dtype), idle), "beside NumPy's products"
        with _BusyProcess(), _NumpyProducts():
            assert _same(_fits(X, y, dtype), idle), "beside both"
    after = _core.pool_stats()
    # The fits' big products went to the pool (or, given up on it, ran alone).
    assert (after["pooled"] - before["pooled"]) + (after["alone"] - before["alone"]) > 0


def test_pool_stats_count_what_the_pool_did(two_threads):
    stats = _core.pool_stats()
    assert set(stats) == {"pooled", "alone", "gave_up", "waited_us"}
    assert all(isinstance(v, int) and v >= 0 for v in stats.values())
    assert stats["gave_up"] <= stats["pooled"]
    rng = np.random.default_rng(0)
    x, w, b = rng.random((256, 784)), rng.random((784, 128)), rng.random(128)
    _core.dense_forward(x, w, b)
    later = _core.pool_stats()
    assert later["pooled"] + later["alone"] == stats["pooled"] + stats["alone"] + 1
    _core.set_num_threads(1)
    _core.dense_forward(x, w, b)  # one thread: the pool is not asked
    assert _core.pool_stats()["pooled"] + _core.pool_stats()["alone"] == \
        later["pooled"] + later["alone"]


def _pool_threads():
    """The thread ids of this process's plainnet-pool threads."""
    tids = []
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                if f.read().strip() == "plainnet-pool":
                    tids.append(int(tid))
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
    return tids


def _pool_affinities():
    """{thread id: its allowed CPUs} of this process's plainnet-pool threads."""
    return {tid: os.sched_getaffinity(tid) for tid in _pool_threads()}


@pytest.mark.skipif(not sys.platform.startswith("linux") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs Linux and two CPUs to move a worker between")
def test_a_woken_worker_is_moved_off_its_callers_cpu_and_then_given_its_cpus_back(two_threads):
    # A caller that wakes a sleeping worker first takes its own CPU out of
    # the worker's affinity (cpp/threads.cpp, Pool): Linux would otherwise
    # queue the worker behind the caller. Once up, the worker takes back the
    # CPUs it started with, so no thread is left pinned, and every predict
    # gives the same bits.
    net = pn.Network(LAYERS, activation="relu", seed=0)
    X = np.random.default_rng(1).random((4096, LAYERS[0]))  # 8 chunks: split over the pool
    want = net.forward(X)
    allowed = os.sched_getaffinity(0)
    for _ in range(5):
        time.sleep(0.05)  # long enough for the worker to fall asleep (a 200 us spin)
        assert np.array_equal(net.forward(X), want)
        time.sleep(0.02)  # the worker restores its affinity as soon as it wakes
        pools = _pool_affinities()
        assert pools, "no plainnet-pool thread: the predicts did not use the pool"
        for tid, cpus in pools.items():
            assert cpus == allowed, (tid, cpus, allowed)


def _pool_cpu_seconds():
    """{thread id: CPU seconds} of this process's plainnet-pool threads."""
    out = {}
    tick = os.sysconf("SC_CLK_TCK")
    for tid in _pool_threads():
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[tid] = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
        except FileNotFoundError:
            continue
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_pool_made_for_more_threads_uses_only_as_many_as_set():
    # set_num_threads(4) makes a pool of 3 workers; back at 2 threads, a job
    # must run on the caller and one worker, not on all four threads (which
    # on 2 CPUs slowed every other thread of the process).
    before = _core.get_num_threads()
    net = pn.Network((784, 512, 512, 10), seed=0, dtype="float32")
    X = np.random.default_rng(2).random((6000, 784), dtype=np.float32)
    try:
        _core.set_num_threads(4)
        want = net.forward(X)
        _core.set_num_threads(2)
        start = _pool_cpu_seconds()
        assert len(start) >= 3
        for _ in range(3):
            assert np.array_equal(net.forward(X), want)
        used = sorted(_pool_cpu_seconds()[t] - start[t] for t in start)
    finally:
        _core.set_num_threads(before)
    # One worker did about half of the work; the others none of it (a tick at most).
    assert used[-1] >= 0.05, used
    assert all(u <= 0.02 for u in used[:-1]), used


def _splits(x, w, b):
    """pool_stats' (pooled, alone) counts after one product big enough to split."""
    _core.dense_forward(x, w, b)
    stats = _core.pool_stats()
    return stats["pooled"], stats["alone"]


def _split_again(x, w, b):
    """Products until one is split over the pool (a passing system thread
    may take a CPU at the moment the count is read)."""
    for _ in range(100):
        time.sleep(0.005)
        pooled, alone = _splits(x, w, b)
        if _splits(x, w, b)[0] == pooled + 1:
            return
    pytest.fail("no product was split over the pool on a free machine")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/loadavg")
def test_a_full_machine_runs_products_alone_and_a_free_one_splits_them_again(two_threads):
    # With every CPU taken by a busy process, a product that would be split
    # runs on its caller's thread alone: its worker would share a core and
    # keep the caller waiting (cpp/threads.cpp, crowded). The count of
    # runnable threads is system-wide, so it is only consulted when this
    # process may run on every online CPU; otherwise the product is split.
    rng = np.random.default_rng(0)
    x, w, b = rng.random((256, 784)), rng.random((784, 128)), rng.random(128)
    want = _core.dense_forward(x, w, b)
    every_cpu = len(os.sched_getaffinity(0)) == os.cpu_count()
    _split_again(x, w, b)
    busy = [_BusyProcess() for _ in range(len(os.sched_getaffinity(0)))]
    try:
        for proc in busy:
            proc.__enter__()
        time.sleep(0.1)
        # As many other threads as CPUs: heeded at the first reading (the
        # count is read at most once a millisecond), where one thread fewer
        # takes three readings in a row.
        before = _core.pool_stats()
        time.sleep(0.002)
        first = _splits(x, w, b)
        later = _splits(x, w, b)
        if every_cpu:
            assert first == (before["pooled"], before["alone"] + 1)
            assert later == (before["pooled"], before["alone"] + 2)
        else:  # not consulted: on the pool, or alone if the pool gave up on its worker
            assert sum(later) == before["pooled"] + before["alone"] + 2
        assert np.array_equal(_core.dense_forward(x, w, b), want)
    finally:
        for proc in busy:
            proc.__exit__()
    # Free again: split over the pool within a few tries.
    _split_again(x, w, b)
    assert np.array_equal(_core.dense_forward(x, w, b), want)
