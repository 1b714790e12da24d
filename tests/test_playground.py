"""The playground's server and protocol, through Starlette's test client and a real server."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import plainnet as pn
from plainnet.playground import data as pgdata
from plainnet.playground import session as pgsession

pytest.importorskip("starlette", reason="the playground needs plainnet[playground]")
pytest.importorskip("uvicorn", reason="the playground needs plainnet[playground]")
try:
    import httpx2  # noqa: F401  (Starlette 1.x's test client; earlier ones use httpx)
except ImportError:
    pytest.importorskip("httpx", reason="Starlette's test client needs httpx2 or httpx "
                        "(plainnet[playground-test])")

from starlette.testclient import TestClient  # noqa: E402
from starlette.websockets import WebSocketDisconnect  # noqa: E402

from plainnet.playground import server as pgserver  # noqa: E402

TOKEN = "t" * 8 + "0123456789abcdef"
PORT = 8123
BASE = f"http://127.0.0.1:{PORT}"
ORIGIN = {"origin": BASE}


@pytest.fixture
def client():
    with TestClient(pgserver.create_app(TOKEN, PORT), base_url=BASE) as c:
        yield c


def receive_until(ws, kind, limit=200, errors_expected=False):
    """Messages until one of type kind; returns (it, the ones before)."""
    before = []
    for _ in range(limit):
        msg = ws.receive_json()
        if msg["type"] == kind:
            return msg, before
        if msg["type"] == "error" and not errors_expected:
            raise AssertionError(f"waiting for {kind!r}, got an error: {msg}")
        before.append(msg)
    raise AssertionError(f"no {kind!r} message in {limit}")


def opened(client, path=f"/ws?token={TOKEN}", headers=ORIGIN):
    # an absolute URL: the test client's default Host for WebSockets is "testserver"
    return client.websocket_connect(f"ws://127.0.0.1:{PORT}{path}", headers=headers)


def start(ws):
    """The three messages a page gets first."""
    ready, data, frame = ws.receive_json(), ws.receive_json(), ws.receive_json()
    assert (ready["type"], data["type"], frame["type"]) == ("ready", "data", "frame")
    return ready, data, frame


def stepped(ws, epochs):
    """Send a step; returns the last frame it sent (steps send frames as they train)."""
    ws.send_json({"type": "step", "epochs": epochs})
    while True:
        status, before = receive_until(ws, "status")
        if not status["playing"]:
            frames = [m for m in before if m["type"] == "frame"]
            assert frames and frames[-1]["epoch"] == status["epoch"]
            return frames[-1]


def weights_of(ws):
    ws.send_json({"type": "weights"})
    msg, _ = receive_until(ws, "weights")
    return msg


# ---------------------------------------------------------------- guarding

def test_page_needs_the_token(client):
    assert client.get("/").status_code == 403
    assert client.get("/?token=wrong").status_code == 403
    assert client.get(f"/?token={TOKEN}x").status_code == 403
    page = client.get(f"/?token={TOKEN}")
    assert page.status_code == 200
    assert 'data-testid="boundary"' in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    # the page's own files load with the cookie it set, and not without it
    assert client.get("/static/app.js").status_code == 200
    client.cookies.clear()
    assert client.get("/static/app.js").status_code == 403
    assert client.get(f"/static/app.js?token={TOKEN}").status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8123", "127.0.0.1:9999",
                                  "localhost.evil.example:8123", "127.0.0.1:80x", ""])
def test_a_foreign_host_is_refused(client, host):
    r = client.get(f"/?token={TOKEN}", headers={"host": host})
    assert r.status_code == 403
    assert "Host" in r.text
    with pytest.raises(WebSocketDisconnect) as info:
        with opened(client, headers={**ORIGIN, "host": host}) as ws:
            ws.receive_json()
    assert (info.value.code, info.value.reason) == (1008, "Host not allowed")


@pytest.mark.parametrize("host", ["localhost:8123", "127.0.0.1:8123", "[::1]:8123"])
def test_local_hosts_are_allowed(client, host):
    assert client.get(f"/?token={TOKEN}", headers={"host": host}).status_code == 200


@pytest.mark.parametrize("path", ["/ws", "/ws?token=nope", f"/ws?token={TOKEN[:-1]}"])
def test_a_websocket_without_the_token_is_refused(client, path):
    with pytest.raises(WebSocketDisconnect) as info:
        with opened(client, path) as ws:
            ws.receive_json()
    assert (info.value.code, info.value.reason) == (1008, "missing or wrong token")


@pytest.mark.parametrize("origin", ["http://evil.example", "http://127.0.0.1:9999",
                                    "http://localhost:8123", "null", "file://"])
def test_a_foreign_origin_is_refused(client, origin):
    with pytest.raises(WebSocketDisconnect) as info:
        with opened(client, headers={"origin": origin}) as ws:
            ws.receive_json()
    assert (info.value.code, info.value.reason) == (1008, "cross-origin WebSocket refused")


def test_the_same_origin_and_no_origin_are_accepted(client):
    for headers in (ORIGIN, {}):
        with opened(client, headers=headers) as ws:
            start(ws)


# ---------------------------------------------------------------- every message type

def test_every_message_type(client):
    with opened(client) as ws:
        ready, data, frame = start(ws)
        assert ready["datasets"] == ["xor", "circle", "xor-cloud", "gaussians", "spiral",
                                     "moons", "plane"]
        assert ready["limits"]["units"] == 64 and ready["limits"]["hidden_layers"] == 8
        assert data["layers"] == [2, 4, 1] and len(data["train"]["x"]) == 4
        assert frame["epoch"] == 0 and len(frame["boundary"]["value"]) == 48 * 48
        assert [len(layer) for layer in frame["units"]["maps"]] == [4, 1]
        initial = weights_of(ws)

        assert stepped(ws, 5)["epoch"] == 5

        ws.send_json({"type": "speed", "epochs_per_frame": 50})
        assert receive_until(ws, "status")[0]["epochs_per_frame"] == 50
        ws.send_json({"type": "play"})
        assert receive_until(ws, "status")[0]["playing"] is True
        epochs = [receive_until(ws, "frame")[0]["epoch"] for _ in range(5)]
        assert epochs == sorted(epochs) and epochs[-1] > 5
        ws.send_json({"type": "pause"})
        status, _ = receive_until(ws, "status")
        assert status["playing"] is False
        paused_at = status["epoch"]
        assert paused_at >= epochs[-1]

        ws.send_json({"type": "backend", "name": "numpy"})
        frame, _ = receive_until(ws, "frame")
        assert frame["backend"] == "numpy" and frame["epoch"] == paused_at

        ws.send_json({"type": "one_step", "point": 2})
        step, _ = receive_until(ws, "one_step")
        assert step["rows"] == "training point 2" and len(step["layers"]) == 2
        assert "def dense_forward" in step["source"]["dense_forward"]
        ws.send_json({"type": "one_step", "point": None})
        step, _ = receive_until(ws, "one_step")
        assert step["count"] == 4

        ws.send_json({"type": "download"})
        blob = base64.b64decode(receive_until(ws, "network")[0]["base64"])
        ws.send_json({"type": "python"})
        assert "pn.Network([2, 4, 1]" in receive_until(ws, "python")[0]["script"]
        ws.send_json({"type": "ping"})
        assert receive_until(ws, "pong")[0]["type"] == "pong"

        ws.send_json({"type": "reset"})
        frame, _ = receive_until(ws, "frame")
        assert frame["epoch"] == 0
        assert weights_of(ws)["weights"] == initial["weights"]  # reset keeps them

        ws.send_json({"type": "config", "config": {"data": {"source": "gaussians",
                                                            "classes": 3},
                                                   "network": {"loss": "auto"}}})
        data, _ = receive_until(ws, "data")
        assert data["kind"] == "multiclass" and data["layers"] == [2, 4, 3]
        assert data["config"]["network"]["loss"] == "cross_entropy"
    saved = pgsession.load_npz(blob)
    assert saved.layers == [2, 4, 1]


def test_pause_stops_a_long_step_and_play_during_it(client):
    with opened(client) as ws:
        start(ws)
        ws.send_json({"type": "speed", "epochs_per_frame": 1})
        ws.send_json({"type": "step", "epochs": 100_000})
        receive_until(ws, "frame")
        ws.send_json({"type": "play"})
        status, _ = receive_until(ws, "status")
        while status["epochs_per_frame"] != 1 or not status["playing"]:
            status, _ = receive_until(ws, "status")
        ws.send_json({"type": "pause"})
        while status["playing"]:
            status, _ = receive_until(ws, "status")
        assert 0 < status["epoch"] < 1000
        epoch = status["epoch"]
        ws.send_json({"type": "ping"})
        receive_until(ws, "pong")
        assert weights_of(ws)["epoch"] == epoch  # nothing trains after the pause


def test_one_step_in_numbers_is_the_update_fit_makes(client):
    with opened(client) as ws:
        start(ws)
        stepped(ws, 3)
        before = weights_of(ws)
        ws.send_json({"type": "one_step", "point": None})
        shown, _ = receive_until(ws, "one_step")
        stepped(ws, 1)
        after = weights_of(ws)
    for l, layer in enumerate(shown["layers"]):
        moved = np.array(after["weights"][l]) - np.array(before["weights"][l])
        np.testing.assert_allclose(layer["update_W"], moved, rtol=0, atol=1e-9)
        # plain gradient descent, lr 2: the update is -2 * the gradient shown
        np.testing.assert_allclose(layer["update_W"], -2.0 * np.array(layer["dW"]), atol=1e-5)


def test_reset_keeps_the_weights_unless_the_seed_changes(client):
    with opened(client) as ws:
        start(ws)
        first = weights_of(ws)["weights"]
        ws.send_json({"type": "config", "config": {"training": {"lr": 0.5}}})
        receive_until(ws, "frame")
        assert weights_of(ws)["weights"] == first
        ws.send_json({"type": "config", "config": {"network": {"seed": 43}}})
        receive_until(ws, "frame")
        assert weights_of(ws)["weights"] != first


# ---------------------------------------------------------------- the same weights as fit

SETUP = {"data": {"source": "circle", "points": 120, "noise": 0.05, "test_fraction": 0.25,
                  "seed": 3},
         "network": {"hidden": [5, 3], "activations": ["tanh", "relu"],
                     "loss": "binary_cross_entropy", "init": "xavier", "seed": 7},
         "training": {"optimizer": "adam", "lr": 0.02, "weight_decay": 0.001,
                      "beta1": 0.8, "beta2": 0.99, "batch_size": 16, "l2": 0.001}}


@pytest.mark.parametrize("backend", ["native", "numpy"])
def test_training_matches_fit_bit_for_bit(client, backend):
    with opened(client) as ws:
        start(ws)
        ws.send_json({"type": "config", "config": {**SETUP, "backend": backend}})
        receive_until(ws, "frame")
        for epochs in (1, 4, 2):
            stepped(ws, epochs)
        ws.send_json({"type": "speed", "epochs_per_frame": 3})
        ws.send_json({"type": "play"})
        for _ in range(3):
            receive_until(ws, "frame")
        ws.send_json({"type": "pause"})
        receive_until(ws, "status")
        got = weights_of(ws)
        ws.send_json({"type": "python"})
        script = receive_until(ws, "python")[0]["script"]
    epochs = got["epoch"]
    assert epochs > 7
    d = pgdata.make("circle", n=120, noise=0.05, test_fraction=0.25, seed=3)
    net = pn.Network([2, 5, 3, 1], activation=["tanh", "relu", "sigmoid"],
                     loss="binary_cross_entropy", init="xavier", seed=7, backend=backend)
    net.fit(d.X, d.y, optimizer=pn.optim.Adam(0.02, betas=(0.8, 0.99), weight_decay=0.001),
            epochs=epochs,
            batch_size=16, seed=7, l2=0.001)
    for mine, theirs in zip(net.weights + net.biases, got["weights"] + got["biases"]):
        assert np.array_equal(mine, np.array(theirs))  # JSON floats round-trip exactly
    assert f"epochs={epochs}" in script


def test_the_python_script_and_the_download_give_the_page_weights(client, tmp_path):
    with opened(client) as ws:
        start(ws)
        ws.send_json({"type": "config", "config": {
            "data": {"source": "drawn", "drawn": [[0.1, 0.2, 0], [-0.5, 0.4, 1], [0.7, -0.3, 1],
                                                  [0.0, -0.8, 0], [0.3, 0.3, 2]],
                     "test_fraction": 0.0},
            "network": {"hidden": [6], "activations": ["gelu"], "loss": "auto"},
            "training": {"optimizer": "sgd", "lr": 0.3, "momentum": 0.9, "nesterov": True}}})
        data, _ = receive_until(ws, "data")
        assert data["kind"] == "multiclass" and data["classes"] == 3
        stepped(ws, 37)
        got = weights_of(ws)
        ws.send_json({"type": "python"})
        script = receive_until(ws, "python")[0]["script"]
        ws.send_json({"type": "download"})
        blob = base64.b64decode(receive_until(ws, "network")[0]["base64"])
    (tmp_path / "run.py").write_text(script)
    subprocess.run([sys.executable, str(tmp_path / "run.py"), str(tmp_path / "net.npz")],
                   check=True, capture_output=True, timeout=120)
    from_script = pn.Network.load(tmp_path / "net.npz")
    downloaded = pgsession.load_npz(blob)
    for net in (from_script, downloaded):
        for mine, theirs in zip(net.weights + net.biases, got["weights"] + got["biases"]):
            assert np.array_equal(mine, np.array(theirs))
    assert downloaded.optimizer is not None and downloaded.optimizer.steps == 37


# ---------------------------------------------------------------- data

def test_csv_upload(client):
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, (50, 2))
    rows = "\n".join(f"{a},{b},{int(a > b)}" for a, b in X)
    with opened(client) as ws:
        start(ws)
        ws.send_json({"type": "config", "config": {"data": {"source": "csv",
                                                            "csv": "x1,x2,label\n" + rows}}})
        data, _ = receive_until(ws, "data")
        assert data["kind"] == "binary"
        assert len(data["train"]["x"]) + len(data["test"]["x"]) == 50
        too_many = "\n".join("1,2,0" for _ in range(pgdata.MAX_POINTS + 1))
        ws.send_json({"type": "config", "config": {"data": {"source": "csv", "csv": too_many}}})
        err, _ = receive_until(ws, "error")
        assert "csv" in err["message"] and err["about"] == "config"
        ws.send_json({"type": "config", "config": {"data": {"source": "csv",
                                                            "csv": "a,b,c\n1,x,0\n"}}})
        assert "line 2" in receive_until(ws, "error")[0]["message"]


@pytest.mark.parametrize("name", pgdata.DATASETS)
def test_every_data_set(name):
    a = pgdata.make(name, n=60, noise=0.2, test_fraction=0.3, seed=5)
    b = pgdata.make(name, n=60, noise=0.2, test_fraction=0.3, seed=5)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y)
    assert a.X.shape[1] == 2 and np.isfinite(a.X).all()
    if name == "xor":
        assert len(a.X) == 4 and np.array_equal(a.X, a.X_test)
    else:
        assert len(a.X) + len(a.X_test) == 60 and len(a.X_test) == 18
    assert a.kind == ("regression" if name == "plane" else "binary")


@pytest.mark.parametrize("name", pgdata.MULTICLASS)
@pytest.mark.parametrize("classes", [3, 4, 5])
def test_multiclass_sets(name, classes):
    d = pgdata.make(name, n=100, classes=classes, test_fraction=0.0)
    assert d.kind == "multiclass" and sorted(set(d.y.tolist())) == list(range(classes))


# ---------------------------------------------------------------- bad messages

BAD_CONFIGS = [
    {"network": {"hidden": [4] * 9, "activations": ["tanh"] * 9}},
    {"network": {"hidden": [65], "activations": ["tanh"]}},
    {"network": {"hidden": [0], "activations": ["tanh"]}},
    {"network": {"hidden": [4], "activations": ["softmax"]}},
    {"network": {"hidden": [4], "activations": []}},
    {"network": {"hidden": "4"}},
    {"network": {"loss": "cross_entropy"}},
    {"data": {"source": "circle", "points": pgdata.MAX_POINTS + 1}},
    {"data": {"source": "circle", "classes": 3}},
    {"data": {"source": "nope"}},
    {"data": {"source": "drawn", "drawn": [[0, 0, 0]] * (pgdata.MAX_POINTS + 1)}},
    {"data": {"source": "drawn", "drawn": [[0, 0]]}},
    {"data": {"source": "user"}},
    {"data": {"source": "circle", "noise": float("inf")}},
    {"training": {"lr": 0}}, {"training": {"lr": -1}}, {"training": {"lr": "fast"}},
    {"training": {"optimizer": "lbfgs"}}, {"training": {"batch_size": 2.5}},
    {"training": {"momentum": 2}}, {"training": {"nesterov": True}},
    {"training": {"nesterov": "yes", "momentum": 0.5}}, {"training": {"beta1": 1.0}}, {"training": {"learning_rate": 0.1}}, {"data": {"x": 1}},
    {"backend": "gpu"}, {"extra": 1}, [], "config", None,
]


@pytest.mark.parametrize("config", BAD_CONFIGS)
def test_a_bad_config_is_an_error_and_changes_nothing(client, config):
    with opened(client) as ws:
        start(ws)
        before = weights_of(ws)
        ws.send_text(json.dumps({"type": "config", "config": config}))
        err, _ = receive_until(ws, "error")
        assert err["about"] == "config" and err["message"]
        assert weights_of(ws) == before


def test_oversized_and_binary_messages(client):
    with opened(client) as ws:
        start(ws)
        ws.send_text(json.dumps({"type": "ping", "pad": "x" * pgserver.MAX_MESSAGE_BYTES}))
        assert "too large" in receive_until(ws, "error")[0]["message"]
        ws.send_bytes(b"\x00\x01")
        assert "binary" in receive_until(ws, "error")[0]["message"]
        ws.send_json({"type": "ping"})
        assert receive_until(ws, "pong")[1] == []


def malformed(rng: np.random.RandomState, i: int) -> str:
    """One of many kinds of wrong message."""
    kind = i % 10
    if kind == 0:
        return bytes(rng.randint(0, 256, rng.randint(1, 40))).decode("latin-1")
    if kind == 1:
        return "[" * int(rng.randint(1, 5000))  # deep nesting
    if kind == 2:
        return json.dumps(rng.randint(-10, 10, 5).tolist())
    if kind == 3:
        return json.dumps({"type": [None, 1, "", "PLAY", "play ", ["step"], "x" * 300][i % 7]})
    if kind == 4:
        return json.dumps({"type": "step", "epochs": [1e309, -1, 0, "3", None, 10**9, 2.5,
                                                      True][i % 8]})
    if kind == 5:
        return json.dumps({"type": "one_step", "point": [-1, 10**6, "a", 1.5, [], {}][i % 6]})
    if kind == 6:
        return json.dumps({"type": "speed", "epochs_per_frame": [0, -5, 10**7, "x", None][i % 5]})
    if kind == 7:
        return json.dumps({"type": "backend", "name": [None, 3, "cuda", "", {}][i % 5]})
    if kind == 8:
        section = ["data", "network", "training"][i % 3]
        key = ["points", "hidden", "lr", "seed", "source", "activations", "batch_size",
               "noise", "drawn", "csv"][int(rng.randint(10))]
        value = [None, -1, 1e300, "x" * 50, [[1, 2]], {"a": 1}, float("nan"), 2**70][i % 8]
        return json.dumps({"type": "config", "config": {section: {key: value}}})
    return '{"type": "config", "config": {"data": ' * int(rng.randint(1, 50))


def test_a_thousand_malformed_messages_leave_the_server_answering(client):
    rng = np.random.RandomState(1)
    with opened(client) as ws:
        start(ws)
        before = weights_of(ws)
        errors = 0
        for i in range(1000):
            ws.send_text(malformed(rng, i))
            ws.send_json({"type": "ping"})
            msg, others = receive_until(ws, "pong", errors_expected=True)
            # every malformed message gets exactly one answer, an error (a config whose
            # wrong value is ignored may be accepted: then data and frame come back)
            errors += sum(m["type"] == "error" for m in others)
            assert all(m["type"] in ("error", "data", "frame", "status") for m in others)
        assert errors >= 900
        ws.send_json({"type": "reset"})
        receive_until(ws, "frame")
        ws.send_json({"type": "config", "config": {}})
        receive_until(ws, "frame")
        assert weights_of(ws)["weights"] == before["weights"]
        assert stepped(ws, 2)["epoch"] == 2


def test_divergence_pauses_with_an_error(client):
    with opened(client) as ws:
        start(ws)
        ws.send_json({"type": "config", "config": {
            "data": {"source": "plane"}, "network": {"hidden": [8], "activations": ["relu"],
                                                     "loss": "auto"},
            "training": {"lr": 100}}})
        receive_until(ws, "frame")
        ws.send_json({"type": "step", "epochs": 200})
        err, _ = receive_until(ws, "error")
        assert "NaN or Inf" in err["message"] and err["about"] == "step"
        status, _ = receive_until(ws, "status")
        assert status["playing"] is False and 0 < status["epoch"] < 200
        got = weights_of(ws)
    # the page counts the epochs fit completed: the weights are those of fit's last finite step
    d = pgdata.make("plane")
    net = pn.Network([2, 8, 1], activation=["relu", "linear"], seed=42)
    with pytest.warns(RuntimeWarning, match="^fit: the loss did not decrease"):
        net.fit(d.X, d.y, lr=100.0, epochs=got["epoch"], seed=42)
    for mine, theirs in zip(net.weights, got["weights"]):
        assert np.array_equal(mine, np.array(theirs))


def test_play_stops_at_the_stop_loss(client):
    with opened(client) as ws:
        start(ws)
        ws.send_json({"type": "config", "config": {"training": {"stop_loss": 0.1}}})
        receive_until(ws, "frame")
        ws.send_json({"type": "play"})
        while True:
            status, before = receive_until(ws, "status")
            if not status["playing"]:
                break
        assert status["stopped"] == "stop_loss"
        frames = [m for m in before if m["type"] == "frame"]
        assert frames[-1]["test_loss"] < 0.1 <= frames[-2]["test_loss"]


def test_closing_a_playing_page_stops_its_training(client, monkeypatch):
    import threading
    import time

    calls = []
    train = pgsession.Session.train
    monkeypatch.setattr(pgsession.Session, "train",
                        lambda self, epochs: calls.append(epochs) or train(self, epochs))
    with opened(client) as ws:
        start(ws)
        ws.send_json({"type": "play"})
        for _ in range(3):
            receive_until(ws, "frame")
    time.sleep(0.3)  # the app sees the disconnect and stops its task after the chunk in flight
    stopped_at = len(calls)
    time.sleep(0.5)  # 10 frames' time: a task still playing would have trained again
    assert len(calls) == stopped_at >= 3
    assert not [t for t in threading.enumerate() if t.name.startswith("plainnet")]
    # a new page works
    with opened(client) as ws:
        start(ws)
        ws.send_json({"type": "ping"})
        receive_until(ws, "pong")


# ---------------------------------------------------------------- a real server

def test_the_command_prints_one_line_and_serves(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "plainnet", "playground", "--no-browser",
                             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert line.startswith("plainnet playground: http://127.0.0.1:")
        url = line.split(": ", 1)[1].strip()
        assert "?token=" in url
        with urllib.request.urlopen(url, timeout=10) as r:
            assert r.status == 200 and b'data-testid="dataset"' in r.read()
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(url.split("?")[0], timeout=10)
        assert info.value.code == 403
        info.value.close()
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=20)
    assert out == ""  # nothing after the one line
    assert "Traceback" not in err


def test_the_command_refuses_what_it_cannot_do():
    run = [sys.executable, "-m", "plainnet", "playground", "--no-browser"]
    bad = subprocess.run(run + ["--port", "70000"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--port" in bad.stderr and bad.stdout == ""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        busy = subprocess.run(run + ["--port", str(port)], capture_output=True, text=True,
                              timeout=60)
    assert busy.returncode == 2 and "cannot listen" in busy.stderr and busy.stdout == ""
    code = ("import sys; sys.modules['starlette'] = None; from plainnet.__main__ import main; "
            "sys.exit(main(['playground', '--no-browser']))")
    missing = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=60)
    assert missing.returncode == 2 and 'pip install "plainnet[playground]"' in missing.stderr


def test_the_real_server_checks_origins_and_answers_large_messages():
    websockets_sync = pytest.importorskip("websockets.sync.client")
    from websockets.exceptions import InvalidStatus

    server = pgserver.Server("127.0.0.1", 0)
    server.start()
    try:
        ws_url = server.url.replace("http://", "ws://").replace("/?token=", "/ws?token=")
        origin = f"http://127.0.0.1:{server.port}"
        with pytest.raises(InvalidStatus) as info:
            websockets_sync.connect(ws_url, origin="http://evil.example", open_timeout=10)
        assert info.value.response.status_code == 403
        with pytest.raises(InvalidStatus):
            websockets_sync.connect(ws_url.split("?")[0] + "?token=wrong", origin=origin)
        with websockets_sync.connect(ws_url, origin=origin, max_size=None) as ws:
            assert [json.loads(ws.recv(timeout=10))["type"] for _ in range(3)] == \
                ["ready", "data", "frame"]
            ws.send(json.dumps({"type": "ping", "pad": "x" * (pgserver.MAX_MESSAGE_BYTES * 2)}))
            reply = json.loads(ws.recv(timeout=10))
            assert reply["type"] == "error" and "too large" in reply["message"]
            ws.send(json.dumps({"type": "ping"}))
            assert json.loads(ws.recv(timeout=10))["type"] == "pong"
    finally:
        server.stop()


def test_show_opens_the_page_on_user_data():
    from plainnet import playground

    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, 0.5]])
    y = np.array([0.3, 1.2, -0.4, 0.8, 0.1])
    out = io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(out):
        server = playground.show(X, y, open_browser=False)
    try:
        assert out.getvalue() == f"plainnet playground: {server.url}\n"
        with urllib.request.urlopen(server.url, timeout=10) as r:
            assert r.status == 200
        app = pgserver.create_app(TOKEN, PORT, user_data=pgdata.from_points(X, y))
        with TestClient(app, base_url=BASE) as c, opened(c) as ws:
            ready, data, _ = start(ws)
            assert ready["user_data"] is True
            assert data["kind"] == "regression" and data["config"]["data"]["source"] == "user"
            assert data["train"]["label"] == y.tolist() and data["test"]["label"] == []
    finally:
        server.stop()
    with pytest.raises(ValueError, match="show"):
        playground.show(np.zeros((3, 3)), np.zeros(3), open_browser=False)


def test_the_static_files_are_there():
    names = {p.name for p in Path(pgserver.STATIC).iterdir()}
    assert {"index.html", "app.js", "draw.js", "style.css"} <= names
    page = (Path(pgserver.STATIC) / "index.html").read_text()
    for hook in ("dataset", "play", "pause", "step", "reset", "epoch", "train-loss", "test-loss",
                 "boundary", "add-layer", "remove-layer", "lr", "optimizer", "backend",
                 "copy-python", "python-script", "error"):
        assert f'data-testid="{hook}"' in page
    assert "http://" not in page and "https://" not in page  # nothing from a CDN


def test_the_speed_bench_runs_and_its_backends_agree():
    bench = Path(__file__).resolve().parents[1] / "bench" / "playground.py"
    if not bench.exists():
        pytest.skip(f"the benchmarks are not at {bench.parent}")
    out = subprocess.run([sys.executable, str(bench), "--repeats", "1", "--pause", "0"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "FAILED" not in out.stdout and out.stdout.count("x  (") == 3
