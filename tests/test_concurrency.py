"""One network shared by threads: readers that run in parallel and never wait
for a fit, writers that exclude each other, and an optimizer shared safely."""

import threading
import time

import numpy as np
import pytest

import plainnet as pn
from plainnet import optim

BACKENDS = ["native", "numpy"]


def _data(seed, m=64, n_in=8, n_out=4):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, n_in)), rng.uniform(-1, 1, (m, n_out))


def _same_weights(a, b):
    return all(np.array_equal(p, q) for p, q in zip(a.weights + a.biases, b.weights + b.biases))


def _run(threads):
    for t in threads:
        t.start()
    for t in threads:
        t.join()


# ---------------------------------------------------------------- readers during a fit


@pytest.mark.parametrize("backend", BACKENDS)
def test_readers_during_a_fit_see_only_weights_the_network_held(backend):
    X, y = _data(1)
    probe = _data(2, m=16)[0]
    start = pn.Network([8, 32, 4], activation="tanh", seed=4, backend=backend)
    epochs = 400 if backend == "native" else 60
    args = dict(lr=0.02, epochs=epochs, batch_size=16, seed=5, log_every=5)

    undisturbed = start.copy()
    undisturbed.fit(X, y, callback=lambda i, loss: None, **args)

    net = start.copy()
    published = [net._params]  # every set of weights the network held
    fitting = threading.Event()

    def record(i, loss):
        published.append(net._params)  # published just before this call
        fitting.set()

    seen, stop = [[] for _ in range(3)], threading.Event()

    def read(out):
        fitting.wait()
        while not stop.is_set():
            out.append(net.predict(probe))

    readers = [threading.Thread(target=read, args=(out,)) for out in seen]
    for t in readers:
        t.start()
    try:
        net.fit(X, y, callback=record, **args)
    finally:
        fitting.set()
        stop.set()
        for t in readers:
            t.join()
    published.append(net._params)

    assert _same_weights(net, undisturbed)
    want = {start.with_backend(backend)._impl.forward(p, net._sizes, net._acts, net._loss,
                                                      probe).tobytes()
            for p in published}
    results = [r.tobytes() for out in seen for r in out]
    assert len(results) > 3 * 10
    assert all(r in want for r in results)
    # The readers ran during the fit: they saw weights of more than one iteration.
    assert len(set(results)) > 1


def test_a_predict_during_a_long_fit_returns_in_milliseconds():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((2000, 256)), rng.uniform(0, 1, (2000, 10))
    net = pn.Network([256, 512, 10], seed=1)
    started = threading.Event()
    span = {}

    def train():
        span["start"] = time.perf_counter()
        net.fit(X, y, lr=0.01, epochs=100000, batch_size=200, seed=1,
                callback=lambda i, loss: (started.set(), time.perf_counter() - span["start"] < 4)[1],
                log_every=50)
        span["end"] = time.perf_counter()

    worker = threading.Thread(target=train)
    worker.start()
    try:
        assert started.wait(30)
        time.sleep(0.5)
        waits = []
        for rows in (1, 100, 1, 100):
            t0 = time.perf_counter()
            out = net.predict(X[:rows])
            waits.append(time.perf_counter() - t0)
            assert out.shape == (rows, 10)
        assert worker.is_alive(), "the fit ended before the predictions: too short to tell"
    finally:
        worker.join()
    assert span["end"] - span["start"] > 3
    # A functional check, not a speed target: with a lock, each would wait for
    # the rest of the fit (seconds).
    assert max(waits) < 0.5, waits


@pytest.mark.parametrize("readers", [1, 7])
def test_fit_returns_promptly_however_many_threads_predict(readers):
    # With readers hammering the network, the fitting thread must still get
    # back to Python and return soon after its last iteration.
    X, y = _data(6, m=512, n_in=64, n_out=10)
    net = pn.Network([64, 128, 10], activation="tanh", seed=2)
    epochs, stop, last = 60, threading.Event(), {}

    def read():
        while not stop.is_set():
            net.predict(X[:1])
            net.predict(X[:64])

    threads = [threading.Thread(target=read) for _ in range(readers)]
    for t in threads:
        t.start()
    try:
        for _ in range(3):
            total = epochs * 8

            def note(i, loss):
                if i == total - 1:
                    last["time"] = time.perf_counter()

            net.fit(X, y, lr=0.01, epochs=epochs, batch_size=64, seed=1, callback=note,
                    log_every=total - 1)
            returned = time.perf_counter()
            assert returned - last["time"] < 0.5
    finally:
        stop.set()
        for t in threads:
            t.join()


@pytest.mark.parametrize("backend", BACKENDS)
def test_step_publishes_a_new_array_and_leaves_the_old_one_as_it_was(backend):
    X, y = _data(7)
    net = pn.Network([8, 16, 4], activation="tanh", seed=3, backend=backend)
    before = net._params
    kept = before.copy()
    net.step(X, y, lr=0.1)
    assert net._params is not before and np.array_equal(before, kept)
    assert not np.array_equal(net._params, kept)
    net.fit(X, y, lr=0.1, epochs=3)
    assert np.array_equal(before, kept)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_callback_sees_and_saves_the_weights_of_its_iteration(backend, tmp_path):
    X, y = _data(8)
    net = pn.Network([8, 16, 4], activation="tanh", seed=3, backend=backend)
    start = net.copy()

    def checkpoint(i, loss):
        if i == 6:
            net.save(tmp_path / "at6.npz")
            checkpoint.out = net.predict(X)

    net.fit(X, y, lr=0.05, epochs=20, callback=checkpoint)
    ref = start.copy()
    ref.fit(X, y, lr=0.05, epochs=7)  # the callback of iteration 6 comes after its update
    assert _same_weights(pn.Network.load(tmp_path / "at6.npz", backend=backend), ref)
    assert np.array_equal(checkpoint.out, ref.predict(X))


# ---------------------------------------------------------------- readers in parallel


def test_readers_do_not_wait_for_each_other():
    rng = np.random.default_rng(4)
    net = pn.Network([784, 1024, 1024, 10], dtype="float32", seed=0)
    big = rng.standard_normal((12000, 784)).astype(np.float32)
    small = big[:600]  # big enough for the core's thread pool, which the long read is using
    span = {}

    def long_read():
        span["start"] = time.perf_counter()
        span["out"] = net.predict(big)
        span["end"] = time.perf_counter()

    reader = threading.Thread(target=long_read)
    reader.start()
    try:
        while "start" not in span:
            time.sleep(0.001)
        time.sleep(0.05)
        t0 = time.perf_counter()
        one = net.predict(small)
        waited = time.perf_counter() - t0
        assert reader.is_alive(), "the long predict ended first: too short to tell"
    finally:
        reader.join()
    assert waited < 0.5 * (span["end"] - span["start"])
    assert np.array_equal(one, span["out"][:600])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_concurrent_readers_get_the_bits_of_one_reader(dtype):
    # Big enough for the core's thread pool: concurrent callers share it or
    # run on their own thread, and every result is the same either way.
    rng = np.random.default_rng(5)
    net = pn.Network([300, 400, 10], activation="relu", loss="cross_entropy",
                     output_activation="softmax", dtype=dtype, seed=1)
    Xs = [rng.standard_normal((700 + 50 * i, 300)) for i in range(4)]
    ys = [np.eye(10)[rng.integers(0, 10, X.shape[0])] for X in Xs]
    alone = [(net.predict(X), net.evaluate(X, y), net.gradients(X, y)) for X, y in zip(Xs, ys)]
    for _ in range(3):
        together = [None] * 4
        barrier = threading.Barrier(4)

        def work(i):
            barrier.wait()
            out = [None, None, None]
            for _ in range(3):
                out = [net.predict(Xs[i]), net.evaluate(Xs[i], ys[i]),
                       net.gradients(Xs[i], ys[i])]
            together[i] = out

        _run([threading.Thread(target=work, args=(i,)) for i in range(4)])
        for (p, e, (dW, db)), (p2, e2, (dW2, db2)) in zip(alone, together):
            assert np.array_equal(p, p2) and e == e2
            assert all(np.array_equal(a, b) for a, b in zip(dW + db, dW2 + db2))


# ---------------------------------------------------------------- writers


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_fits_sharing_a_fresh_optimizer_equal_the_two_in_sequence(backend):
    (X1, y1), (X2, y2) = _data(1), _data(2)
    start = pn.Network([8, 16, 4], activation="tanh", seed=9, backend=backend)
    epochs = 200 if backend == "native" else 20

    def fits(net, opt, order):
        for X, y in order:
            net.fit(X, y, optimizer=opt, epochs=epochs, batch_size=16, seed=3)

    sequential = []
    for order in (((X1, y1), (X2, y2)), ((X2, y2), (X1, y1))):
        net, opt = start.copy(), optim.Adam(lr=0.01)
        fits(net, opt, order)
        sequential.append((net, opt))
    assert not _same_weights(sequential[0][0], sequential[1][0])
    for _ in range(20):
        net, opt = start.copy(), optim.Adam(lr=0.01)
        barrier = threading.Barrier(2)

        def train(X, y):
            barrier.wait()
            fits(net, opt, [(X, y)])

        _run([threading.Thread(target=train, args=d) for d in ((X1, y1), (X2, y2))])
        match = [s for s in sequential if _same_weights(net, s[0])]
        assert len(match) == 1
        other = match[0][1]
        assert opt.steps == other.steps and opt.epochs == other.epochs
        assert all(np.array_equal(a, b) for a, b in zip(opt.state, other.state))


@pytest.mark.parametrize("backend", BACKENDS)
def test_step_and_fit_from_two_threads_are_serialised(backend):
    X, y = _data(3)
    start = pn.Network([8, 16, 4], activation="tanh", seed=1, backend=backend)
    epochs, steps = (300, 10) if backend == "native" else (30, 10)

    def steps_fit_steps(before):
        net = start.copy()
        for _ in range(before):
            net.step(X, y, lr=0.05)
        net.fit(X, y, lr=0.05, epochs=epochs)
        for _ in range(steps - before):
            net.step(X, y, lr=0.05)
        return net

    # Each call is one write: the steps come before the fit or after it, never inside.
    outcomes = [steps_fit_steps(k) for k in range(steps + 1)]
    for _ in range(3):
        net = start.copy()
        barrier = threading.Barrier(2)

        def fitter():
            barrier.wait()
            net.fit(X, y, lr=0.05, epochs=epochs)

        def stepper():
            barrier.wait()
            for _ in range(steps):
                net.step(X, y, lr=0.05)

        _run([threading.Thread(target=fitter), threading.Thread(target=stepper)])
        assert any(_same_weights(net, o) for o in outcomes)


# ---------------------------------------------------------------- serving


def _readme_server_code():
    from pathlib import Path

    page = Path(__file__).resolve().parent.parent / "docs" / "user-guide" / "threads.md"
    if not page.exists():  # the tests run outside the checkout (wheel, sanitizer)
        pytest.skip("the documentation's serving example is not beside these tests")
    blocks = page.read_text(encoding="utf-8").split("```python\n")[1:]
    found = [b.split("```")[0] for b in blocks if "Starlette(routes" in b]
    assert len(found) == 1, "the documentation's serving example"
    return found[0]


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_readme_serving_example_answers_concurrent_requests(tmp_path):
    pytest.importorskip("starlette", reason="the serving example needs starlette")
    pytest.importorskip("uvicorn", reason="the serving example needs uvicorn")
    import json
    import subprocess
    import sys
    import urllib.request

    rng = np.random.default_rng(0)
    net = pn.Network([64, 32, 10], activation="relu", output_activation="softmax",
                     loss="cross_entropy", seed=1)
    net.save(tmp_path / "digits.npz")
    (tmp_path / "app.py").write_text(_readme_server_code())
    port = _free_port()
    rows = [rng.standard_normal((1 + i % 5, 64)) for i in range(80)]
    with subprocess.Popen([sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1",
                           "--port", str(port), "--log-level", "warning"], cwd=tmp_path,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as server:
        try:
            url = f"http://127.0.0.1:{port}/predict"

            def ask(X):
                body = json.dumps({"rows": X.tolist()}).encode()
                req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=30) as reply:
                    return json.loads(reply.read())["classes"]

            deadline = time.monotonic() + 30
            while True:  # until the server listens
                try:
                    ask(rows[0])
                    break
                except OSError:
                    assert server.poll() is None, server.stderr.read()
                    assert time.monotonic() < deadline, "the server did not start"
                    time.sleep(0.1)
            answers = [None] * len(rows)

            def client(k):
                for i in range(k, len(rows), 8):
                    answers[i] = ask(rows[i])

            _run([threading.Thread(target=client, args=(k,)) for k in range(8)])
        finally:
            server.terminate()
            server.communicate(timeout=30)
    for X, got in zip(rows, answers):
        assert got == net.predict_classes(X).tolist()
