"""Inputs from people who did not mean well: crafted saves, pickles, torch models
and resource requests that can never be met.

Each case runs in a child process under an address-space limit
(``RLIMIT_AS``: what the process already maps plus the case's budget) and a
timeout, and must end in a clear error (the type and message asserted) or a
correct result, with the process alive. A bounded fuzz test mutates the bytes
of a valid save: the only outcomes allowed are the network that was saved, or
a ValueError.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import plainnet as pn

LINUX = sys.platform.startswith("linux")
# ASan maps terabytes of shadow memory: no address-space limit can apply there.
SANITIZED = "asan" in os.environ.get("LD_PRELOAD", "")
try:
    import torch  # noqa: F401
    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False
try:
    import sklearn  # noqa: F401
    HAVE_SKLEARN = True
except ImportError:
    HAVE_SKLEARN = False

MB = 2**20

# Runs in the child before the case: helpers that build hostile files.
_PRELUDE = r'''
import io, json, os, pickle, resource, struct, sys, time, zipfile, zlib
import numpy as np
import plainnet as pn

TMP = sys.argv[2]

def npy_header(descr, shape, fortran=False):
    d = repr({"descr": descr, "fortran_order": fortran, "shape": tuple(shape)})
    head = d + " " * ((64 - (10 + len(d) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head.encode("latin1")

def npy(array):
    f = io.BytesIO(); np.save(f, array); return f.getvalue()

def members(path):
    """{name without .npy: bytes} of a save."""
    with zipfile.ZipFile(path) as z:
        return {n[:-4]: z.read(n) for n in z.namelist()}

def write_zip(path, items, deflate=()):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in items.items():
            method = zipfile.ZIP_DEFLATED if name in deflate else zipfile.ZIP_STORED
            z.writestr(name + ".npy", data, compress_type=method)
    return path

def meta_bytes(meta):
    return npy(np.array(json.dumps(meta) if not isinstance(meta, str) else meta))

def good_save(name="good.npz", trained=False, optimizer=None, layers=(3, 5, 2)):
    net = pn.Network(list(layers), activation="tanh", seed=1)
    if trained:
        rng = np.random.default_rng(0)
        net.fit(rng.standard_normal((16, layers[0])), rng.uniform(-0.5, 0.5, (16, layers[-1])),
                optimizer=optimizer or pn.optim.Adam(lr=0.01), epochs=3, batch_size=4, seed=2)
    path = os.path.join(TMP, name)
    net.save(path)
    return net, path

def with_meta(change, trained=False, optimizer=None):
    net, path = good_save(trained=trained, optimizer=optimizer)
    items = members(path)
    meta = json.loads(str(np.load(io.BytesIO(items["meta"]))))
    change(meta)
    items["meta"] = meta_bytes(meta)
    return write_zip(os.path.join(TMP, "changed.npz"), items)

def with_member(name, data, trained=False):
    net, path = good_save(trained=trained)
    items = members(path)
    items[name] = data
    return write_zip(os.path.join(TMP, "changed.npz"), items)

def mapped():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")

def limit(budget):
    """From here on the process may map at most `budget` more bytes."""
    if budget and not SANITIZED:
        total = mapped() + budget
        resource.setrlimit(resource.RLIMIT_AS, (total, total))

SANITIZED = "asan" in os.environ.get("LD_PRELOAD", "")
'''

_EPILOGUE = r'''
start = time.monotonic()
try:
    result = run()
    out = {"outcome": "ok", "result": result}
except BaseException as exc:
    out = {"outcome": "error", "type": type(exc).__name__, "message": str(exc)}
out["seconds"] = time.monotonic() - start
print("RESULT " + json.dumps(out, default=repr))
'''


def run_case(tmp_path, code, timeout=120):
    """Run `code` (defining run()) in a child; its JSON outcome, the process having lived."""
    script = _PRELUDE + textwrap.dedent(code) + _EPILOGUE
    try:
        child = subprocess.run([sys.executable, "-c", script, "", str(tmp_path)],
                               capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the case did not finish within {timeout} s")
    assert child.returncode == 0, (f"the process died (exit {child.returncode}):\n"
                                   f"{child.stderr[-3000:]}")
    lines = [ln for ln in child.stdout.splitlines() if ln.startswith("RESULT ")]
    assert lines, child.stdout[-2000:] + child.stderr[-2000:]
    return json.loads(lines[-1][len("RESULT "):])


def assert_refused(outcome, kind, pattern):
    assert outcome["outcome"] == "error", outcome
    assert outcome["type"] == kind, outcome
    assert re.search(pattern, outcome["message"]), outcome["message"]


NOT_A_SAVE = r"^load: '.*changed\.npz' is not a plainnet save \("

# ---------------------------------------------------------------- 1. budgets when reading

pytestmark = pytest.mark.skipif(not LINUX, reason="address-space limits and /proc are Linux's")


def test_a_member_meta_does_not_call_for_is_never_read(tmp_path):
    # meta has no optimizer; an optimizer_state0 claiming 10**10 float64 is
    # present and compressed: the old reader read it (and all of memory).
    outcome = run_case(tmp_path, r'''
        def run():
            bomb = npy_header("<f8", (10**10,)) + b"\0" * (64 * 2**20)
            path = with_member("optimizer_state0", bomb)
            with zipfile.ZipFile(path, "a") as z:  # and a deflated one
                z.writestr("optimizer_state1.npy", bomb, compress_type=zipfile.ZIP_DEFLATED)
            limit(64 * 2**20)
            net = pn.Network.load(path)
            return [net.layers, net.optimizer is None]
    ''')
    assert outcome["outcome"] == "ok", outcome
    assert outcome["result"] == [[3, 5, 2], True]
    assert outcome["seconds"] < 5


def test_a_header_claiming_10_to_the_10_elements_is_refused_before_reading(tmp_path):
    outcome = run_case(tmp_path, r'''
        def run():
            path = with_member("W0", npy_header("<f8", (10**5, 10**5)) + b"\0" * 16)
            limit(64 * 2**20)
            return pn.Network.load(path)
    ''')
    assert_refused(outcome, "ValueError", NOT_A_SAVE + r"'W0' has shape \(100000, 100000\), "
                                                       r"expected \(3, 5\)")


def test_a_deflate_bomb_in_an_expected_member_is_refused_without_inflating(tmp_path):
    outcome = run_case(tmp_path, r'''
        def run():
            bomb = npy_header("<f8", (3, 5)) + b"\0" * (512 * 2**20)
            path = with_member("W0", bomb)
            with zipfile.ZipFile(path) as z:  # rewritten deflated: ~0.5 MB on disk
                items = {n[:-4]: z.read(n) for n in z.namelist()}
            write_zip(path, items, deflate={"W0"})
            del bomb, items
            limit(64 * 2**20)
            start = time.monotonic()
            try:
                pn.Network.load(path)
            except ValueError as exc:
                return [str(exc), time.monotonic() - start]
    ''')
    assert outcome["outcome"] == "ok", outcome
    message, seconds = outcome["result"]
    assert re.search(NOT_A_SAVE + r"'W0' holds \d+ bytes, more than", message), message
    assert seconds < 1


def test_a_member_whose_directory_entry_lies_about_its_size_is_refused(tmp_path):
    # The directory says W0 holds what its header calls for; the data inflates to 64 MB.
    outcome = run_case(tmp_path, r'''
        def run():
            net, path = good_save()
            items = members(path)
            real = items["W0"]
            big = npy_header("<f8", (3, 5)) + b"\1" * (64 * 2**20)
            comp = zlib.compressobj(9, zlib.DEFLATED, -15)
            data = comp.compress(big) + comp.flush()
            out = os.path.join(TMP, "changed.npz")
            with zipfile.ZipFile(out, "w") as z:
                for name, value in items.items():
                    if name != "W0":
                        z.writestr(name + ".npy", value)
                    else:
                        z.writestr(name + ".npy", real)
            blob = bytearray(open(out, "rb").read())
            # replace W0's stored bytes by the deflated bomb, keeping the sizes the directory gives
            at = blob.index(real)
            blob[at:at + len(real)] = data[:len(real)]
            open(out, "wb").write(bytes(blob))
            limit(64 * 2**20)
            return pn.Network.load(out)
    ''')
    assert_refused(outcome, "ValueError", NOT_A_SAVE)


@pytest.mark.parametrize("members,pattern", [
    (70_000, r"its zip directory lists 70005 members"),
])
def test_a_directory_of_too_many_members_is_refused_before_it_is_parsed(tmp_path, members,
                                                                        pattern):
    outcome = run_case(tmp_path, rf'''
        def run():
            net, path = good_save()
            with zipfile.ZipFile(path, "a") as z:
                for i in range({members}):
                    z.writestr(f"x{{i}}", b"")
            os.replace(path, os.path.join(TMP, "changed.npz"))
            return pn.Network.load(os.path.join(TMP, "changed.npz"))
    ''')
    assert_refused(outcome, "ValueError", NOT_A_SAVE + pattern)


# ---------------------------------------------------------------- 2. meta is checked

META_CASES = {
    "nested": ("lambda m: None", '"[" * 100000', r"'meta' is (nested too deeply|not valid JSON)"),
    "settings-list": ("lambda m: m['optimizer'].update(settings=[])", None,
                      r"meta\.optimizer\.settings: expected a JSON object, got list"),
    "steps-10-30": ("lambda m: m['optimizer'].update(steps=10**30)", None,
                    r"meta\.optimizer\.steps: expected an int in \[0, \d+\], got 10{30}\)"),
    "steps-2-62": ("lambda m: m['optimizer'].update(steps=2**62)", None,
                   r"meta\.optimizer\.steps: expected an int in \[0, 4611686018427387903\], "
                   r"got 4611686018427387904"),
    "version-true": ("lambda m: m.update(format_version=True)", None,
                     r"meta\.format_version: True is not valid"),
    "float-layers": ("lambda m: m.update(layers=[3.0, 5, 2])", None,
                     r"meta\.layers\[0\]: expected an int, got float 3\.0"),
    "bool-layer": ("lambda m: m.update(layers=[3, True, 2])", None,
                   r"meta\.layers\[1\]: expected an int, got bool"),
    "huge-layer": ("lambda m: m.update(layers=[3, 10**18, 2])", None,
                   r"meta\.layers.*more than 2\*\*62|layers\[1\]: expected an int in"),
    "negative-layer": ("lambda m: m.update(layers=[3, -5, 2])", None,
                       r"meta\.layers\[1\]: expected an int in \[1, "),
    "too-many-layers": ("lambda m: m.update(layers=[1] * 20000, activations=['tanh'] * 19999)",
                        None, r"meta\.layers: expected a list of 2 to 10000 sizes"),
    "activation-int": ("lambda m: m.update(activations=[1, 'tanh'])", None,
                       r"meta\.activations\[0\]: expected one of"),
    "unknown-key": ("lambda m: m.update(run_this='import os')", None,
                    r"meta: unknown keys 'run_this'"),
    "dtype-list": ("lambda m: m.update(dtype=['float64'])", None, r"meta\.dtype: expected"),
    "optimizer-name": ("lambda m: m['optimizer'].update(name='__import__')", None,
                       r"meta\.optimizer\.name: expected one of"),
    "setting-string": ("lambda m: m['optimizer']['settings'].update(lr='0.1')", None,
                       r"meta\.optimizer\.settings\.lr: expected a number, got str"),
    "setting-unknown": ("lambda m: m['optimizer']['settings'].update(amsgrad=True)", None,
                        r"meta\.optimizer\.settings: unknown keys 'amsgrad'"),
    "setting-range": ("lambda m: m['optimizer']['settings'].update(betas=[0.9, 1.5])", None,
                      r"meta\.optimizer\.settings: betas\[1\]: expected a number in \[0, 1\)"),
    "has-state-int": ("lambda m: m['optimizer'].update(has_state=1)", None,
                      r"meta\.optimizer\.has_state: expected true or false"),
    "dropout-long": ("lambda m: m.update(dropout=[0.5] * 1000)", None,
                     r"meta\.dropout: expected a list of 1 rates \(one per hidden layer\), got "
                     r"a list of 1000\)"),
    "dropout-one": ("lambda m: m.update(dropout=[1.0])", None,
                    r"meta\.dropout\[0\]: expected a rate in \[0, 1\), got 1\.0"),
    "dropout-string": ("lambda m: m.update(dropout=['0.5'])", None,
                       r"meta\.dropout\[0\]: expected a number, got str"),
    "dropout-huge-int": ("lambda m: m.update(dropout=[10**400])", None,
                         r"meta\.dropout\[0\]: expected a rate in \[0, 1\), got 1000"),
    "nan-constant": ("lambda m: None", '\'{"format": "plainnet", "format_version": NaN}\'',
                     r"'meta' is not valid JSON \(NaN is not a number JSON allows"),
}


@pytest.mark.parametrize("case", sorted(META_CASES))
def test_a_crafted_meta_is_refused_naming_the_field(tmp_path, case):
    change, raw, pattern = META_CASES[case]
    if raw is None:
        body = f"path = with_meta({change}, trained=True)"
    else:
        body = (f"net, path = good_save()\n            items = members(path)\n"
                f"            items['meta'] = meta_bytes({raw})\n"
                f"            path = write_zip(os.path.join(TMP, 'changed.npz'), items)")
    outcome = run_case(tmp_path, f'''
        def run():
            {body}
            limit(256 * 2**20)
            return pn.Network.load(path)
    ''')
    assert_refused(outcome, "ValueError", NOT_A_SAVE + pattern)


# ---------------------------------------------------------------- 3. optimizer state is checked

STATE_CASES = {
    "nan": ("s = a.copy(); s[3] = np.nan", 0, r"'optimizer_state0'|optimizer_state\[0\]: expected "
                                              r"finite values, got nan at index \(3\)"),
    "negative-second-moment": ("s = a.copy(); s[2] = -1.0", 1,
                               r"optimizer_state\[1\]: the second moment estimate cannot be "
                               r"negative, got -1\.0 at index 2"),
    "strings": ("s = np.array(['x'] * a.size)", 0, r"'optimizer_state0' holds <U1, expected "
                                                   r"float64"),
    "complex": ("s = a.astype(complex)", 0, r"'optimizer_state0' holds complex128, expected "
                                            r"float64"),
    "float32": ("s = a.astype(np.float32)", 0, r"'optimizer_state0' holds float32, expected "
                                               r"float64"),
    "objects": ("s = np.array([object()] * a.size, dtype=object)", 0,
                r"'optimizer_state0' holds pickled Python objects"),
    "short": ("s = a[:-1].copy()", 1, r"'optimizer_state1' has shape \(\d+,\), expected"),
}


@pytest.mark.parametrize("case", sorted(STATE_CASES))
def test_crafted_optimizer_state_is_refused(tmp_path, case):
    code, slot, pattern = STATE_CASES[case]
    outcome = run_case(tmp_path, f'''
        def run():
            net, path = good_save(trained=True)
            items = members(path)
            a = np.load(io.BytesIO(items["optimizer_state{slot}"]))
            {code}
            f = io.BytesIO(); np.save(f, s, allow_pickle=True)
            items["optimizer_state{slot}"] = f.getvalue()
            path = write_zip(os.path.join(TMP, "changed.npz"), items)
            limit(256 * 2**20)
            return pn.Network.load(path)
    ''')
    assert_refused(outcome, "ValueError", NOT_A_SAVE + "(" + pattern + ")")


# ---------------------------------------------------------------- 4. what a save is read from

def test_load_refuses_a_fifo_without_blocking(tmp_path):
    fifo = tmp_path / "net.npz"
    os.mkfifo(fifo)
    outcome = run_case(tmp_path, f'''
        def run():
            return pn.Network.load({str(fifo)!r})
    ''', timeout=30)
    assert_refused(outcome, "ValueError", r"^load: '.*net\.npz' is not a plainnet save \(it is a "
                                          r"named pipe \(FIFO\); a save is a regular file\)")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_load_refuses_a_device_without_reading_it(tmp_path):
    outcome = run_case(tmp_path, '''
        def run():
            limit(64 * 2**20)
            return pn.Network.load("/dev/zero")
    ''', timeout=30)
    assert_refused(outcome, "ValueError", r"'/dev/zero' is not a plainnet save \(it is a device")


@pytest.mark.parametrize("backend", pn.BACKENDS)
def test_load_reads_binary_file_objects_with_the_same_checks(tmp_path, backend):
    net = pn.Network([3, 5, 2], activation="tanh", seed=3)
    X = np.random.default_rng(1).standard_normal((10, 3))
    net.fit(X, np.tanh(X[:, :2]), optimizer=pn.optim.Adam(lr=0.01), epochs=2)
    path = net.save(tmp_path / "net.npz")
    data = path.read_bytes()
    for source in (io.BytesIO(data), open(path, "rb")):
        with source:
            back = pn.Network.load(source, backend=backend)
        assert back.layers == net.layers and back.optimizer == net.optimizer
        assert all(np.array_equal(a, b) for a, b in zip(back.weights, net.weights))
    # a file object positioned after other data reads the save from there
    prefixed = io.BytesIO(b"prefix" + data)
    prefixed.seek(6)
    assert pn.Network.load(prefixed).layers == net.layers
    # the same refusals, naming the object
    with pytest.raises(ValueError, match=r"^load: the BytesIO given is not a plainnet save "
                                         r"\(it is not an \.npz archive\)"):
        pn.Network.load(io.BytesIO(b"not a save at all"))
    with pytest.raises(ValueError, match=r"^load: the BytesIO given is not a plainnet save "
                                         r"\(.*'W1' has shape"):
        bad = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(data)) as z, zipfile.ZipFile(bad, "w") as out:
            for name in z.namelist():
                value = z.read(name)
                if name == "W1.npy":
                    buf = io.BytesIO()
                    np.save(buf, np.zeros((4, 2)))
                    value = buf.getvalue()
                out.writestr(name, value)
        bad.seek(0)
        pn.Network.load(bad)
    with open(path, encoding="latin1") as text, \
            pytest.raises(TypeError, match=r"^path: expected a binary file object, got the text "
                                           r"file '.*net\.npz'; open it with open\(path, 'rb'\)"):
        pn.Network.load(text)
    with pytest.raises(TypeError, match=r"^path: expected a file path \(str or os\.PathLike\) or "
                                        r"a binary file object"):
        pn.Network.load(12)


# ---------------------------------------------------------------- 5. pickles are checked

def _state(net):
    return net.__getstate__()


PICKLE_CASES = {
    "too-many-parameters": (lambda s: s.update(params=np.zeros(1000)),
                            r"params: layers \[3, 5, 2\] have 32 parameters, got an array of "
                            r"shape \(1000,\)"),
    "float16": (lambda s: s.update(params=s["params"].astype(np.float16)),
                r"params: expected float64 or float32 values, got float16"),
    "layers": (lambda s: s.update(layers=(3, 6, 2)), r"params: layers \[3, 6, 2\] have 38"),
    "activation": (lambda s: s.update(activations=("tanh", "os.system")),
                   r"activation\[1\]: expected one of"),
    "nan": (lambda s: s["params"].__setitem__(4, np.nan),
            r"weights\[0\]: expected finite values, got nan at index \(0, 4\)"),
    "backend": (lambda s: s.update(backend="cuda"), r"backend 'cuda' is not one of"),
    "params-list": (lambda s: s.update(params=list(s["params"])),
                    r"parameters are a list, expected a NumPy array"),
    "loss": (lambda s: s.update(loss="hinge"), r"loss: expected one of"),
    "not-a-dict": (None, r"expected a Network's state \(a dict\), got list"),
    "optimizer-state": (lambda s: s["optimizer"].state[1].__setitem__(0, -3.0),
                        r"optimizer\.state\[1\]: the second moment estimate cannot be negative"),
    "optimizer-steps": (lambda s: setattr(s["optimizer"], "steps", 2**70),
                        r"optimizer\.steps: expected an int in"),
    "optimizer-lr": (lambda s: setattr(s["optimizer"], "_lr", float("nan")),
                     r"optimizer: its settings are not valid \(lr: expected a finite number"),
    "optimizer-class": (lambda s: s.update(optimizer=object()),
                        r"optimizer: expected a plainnet\.optim optimizer"),
}


@pytest.mark.parametrize("case", sorted(PICKLE_CASES))
def test_a_crafted_pickle_state_is_refused_as_a_crafted_file_is(case):
    change, pattern = PICKLE_CASES[case]
    net = pn.Network([3, 5, 2], activation="tanh", seed=1)
    rng = np.random.default_rng(0)
    net.fit(rng.standard_normal((8, 3)), rng.uniform(-0.5, 0.5, (8, 2)),
            optimizer=pn.optim.Adam(lr=0.01), epochs=2)
    state = _state(net)
    if change is None:
        state = [state]
    else:
        change(state)
    other = pn.Network.__new__(pn.Network)
    with pytest.raises(ValueError, match=r"^unpickle: .*" + pattern):
        other.__setstate__(state)
    # the untouched state goes back in
    other.__setstate__(_state(net))
    assert other.layers == net.layers and other.optimizer == net.optimizer


def test_a_float16_network_cannot_come_into_being_so_save_never_writes_one(tmp_path):
    net = pn.Network([2, 3, 1], seed=1)
    state = _state(net)
    state["params"] = state["params"].astype(np.float16)

    class Crafted:
        def __reduce__(self):
            return (pn.Network.__new__, (pn.Network,), state)

    with pytest.raises(ValueError, match=r"^unpickle: params: expected float64 or float32"):
        pickle.loads(pickle.dumps(Crafted()))


# ---------------------------------------------------------------- 6. torch models

needs_torch = pytest.mark.skipif(not HAVE_TORCH, reason="needs torch (plainnet[torch])")

TORCH_CASES = {
    "reused-activation": ('''
        r = nn.ReLU()
        return nn.Sequential(nn.Linear(4, 4), r, nn.Linear(4, 4), r)''',
        r"^model\[3\]: is the same nn\.ReLU instance as model\[1\]"),
    "reused-linear": ('''
        lin = nn.Linear(4, 4)
        return nn.Sequential(lin, nn.Tanh(), lin)''',
        r"^model\[2\]: is the same nn\.Linear instance as model\[0\]"),
    "forward-hook": ('''
        m = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2))
        m[2].register_forward_hook(lambda mod, i, o: o * 57)
        return m''', r"^model\[2\]: has a forward hook registered"),
    "pre-hook": ('''
        m = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2))
        m[1].register_forward_pre_hook(lambda mod, i: (i[0] * 2,))
        return m''', r"^model\[1\]: has a forward pre hook registered"),
    "backward-hook": ('''
        m = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2))
        m[0].register_full_backward_hook(lambda mod, gi, go: None)
        return m''', r"^model\[0\]: has a backward hook registered"),
    "hook-on-sequential": ('''
        m = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2))
        m.register_forward_hook(lambda mod, i, o: o + 1)
        return m''', r"^model: has a forward hook registered"),
    "meta-device": ('''
        return nn.Sequential(nn.Linear(10**5, 10**5, device="meta"))''',
        r"^model\[0\]\.weight: is on the 'meta' device"),
    "sparse": ('''
        m = nn.Sequential(nn.Linear(4, 3))
        m[0].weight = nn.Parameter(torch.randn(3, 4).to_sparse())
        return m''', r"^model\[0\]\.weight: expected a dense tensor, got layout torch\.sparse_coo"),
    "wrong-shape": ('''
        m = nn.Sequential(nn.Linear(4, 3))
        m[0].weight = nn.Parameter(torch.randn(4, 3))
        return m''', r"^model\[0\]\.weight: expected shape \(3, 4\) for nn\.Linear\(4, 3\), "
                     r"got \(4, 3\)"),
    "overridden-forward": ('''
        m = nn.Sequential(nn.Linear(4, 3), nn.Sigmoid())
        m.forward = lambda x: torch.sigmoid(x @ m[0].weight.T) * 2
        return m''', r"^model: on a probe batch its outputs differ from the imported network's"),
}


@needs_torch
@pytest.mark.parametrize("case", sorted(TORCH_CASES))
def test_from_torch_imports_exactly_or_refuses(tmp_path, case):
    code, pattern = TORCH_CASES[case]
    outcome = run_case(tmp_path, f'''
        import torch
        from torch import nn

        def model():
            torch.manual_seed(0){textwrap.indent(textwrap.dedent(code), " " * 12)}

        def run():
            m = model()
            limit(1024 * 2**20)
            return repr(pn.Network.from_torch(m))
    ''')
    assert_refused(outcome, "ValueError", pattern)


@needs_torch
def test_from_torch_imports_tied_linears_exactly():
    import torch
    from torch import nn

    torch.manual_seed(0)
    a, b = nn.Linear(4, 4).double(), nn.Linear(4, 4).double()
    b.weight = a.weight
    model = nn.Sequential(a, nn.Tanh(), b)
    net = pn.Network.from_torch(model)
    X = np.random.default_rng(2).standard_normal((16, 4))
    with torch.no_grad():
        expected = model(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(net.predict(X), expected, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- 7. requests that can never run

ALLOCATION_CASES = {
    "epochs-10-12-stopped-at-once": ('''
        net = pn.Network([2, 3, 1], seed=0)
        h = net.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=10**12, callback=lambda i, l: False)
        return [h.iterations, h.epoch_loss.size]''', 64, ("ok", [1, 0])),
    "epochs-2-62": ('''
        net = pn.Network([2, 3, 1], seed=0)
        h = net.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=2**62, callback=lambda i, l: i < 2)
        return h.iterations''', 64, ("ok", 3)),
    "epochs-2-63": ('''
        pn.Network([2, 3, 1]).fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=2**63)''', 64,
        ("ValueError", r"^epochs: expected an int 0 <= <= 4611686018427387904 \(2\*\*62\), got")),
    "batch-size-2-63": ('''
        pn.Network([2, 3, 1]).fit(np.zeros((4, 2)), np.zeros((4, 1)), batch_size=2**63)''', 64,
        ("ValueError", r"^batch_size: expected an int 1 <= <= 4611686018427387904")),
    "early-stopping-after-many-epochs": ('''
        net = pn.Network([2, 3, 1], seed=0)
        X = np.random.default_rng(0).standard_normal((8, 2))
        h = net.fit(X, np.abs(X[:, :1]) / 4, lr=0.5, epochs=10**8, monitor="loss", patience=50,
                    min_delta=1e-3)
        return [h.stopped_early, int(h.epoch_loss.size) < 10**6]''', 128, ("ok", [True, True])),
    "layer-width-2-63": ('''
        pn.Network([2, 2**63, 1])''', 64,
        ("ValueError", r"^layers\[1\]: expected an int <= 4611686018427387904")),
    "network-beyond-memory": ('''
        pn.Network([784, 400_000, 10])''', 512,
        ("MemoryError", r"^layers: 318000010 parameters of float64 need 2544000080 bytes, more "
                        r"than could be allocated")),
    "initialisation-within-parameters-plus-a-block": ('''
        net = pn.Network([784, 50_000, 10], dtype="float32", seed=1)
        return net.num_parameters''', 200, ("ok", 39750010)),
    "full-batch-fit-beyond-memory": ('''
        net = pn.Network([100, 2000, 10], seed=0)
        X = np.zeros((100_000, 100)); y = np.zeros((100_000, 10))
        before = net.weights[0].copy()
        limit(256 * 2**20)
        try:
            net.fit(X, y, epochs=1)
        except MemoryError as exc:
            assert np.array_equal(net.weights[0], before)
            assert net.optimizer is None
            raise''', 0,
        ("MemoryError", r"^fit: out of memory before training started: batches of 100000 rows "
                        r"need 6\.\d+ GB of buffers \(every layer's output .*use a smaller "
                        r"batch_size")),
    "full-batch-fit-with-dropout-beyond-memory": ('''
        net = pn.Network([100, 2000, 10], seed=0, dropout=0.5)
        X = np.zeros((100_000, 100)); y = np.zeros((100_000, 10))
        limit(256 * 2**20)
        net.fit(X, y, epochs=1)''', 0,
        ("MemoryError", r"^fit: out of memory before training started: batches of 100000 rows "
                        r"need 8\.\d+ GB of buffers \(every layer's output and weighted sum, "
                        r"dropout's masks: 5\.\d+ GB; .*use a smaller batch_size")),
    "nan-in-the-last-row-of-a-large-X": ('''
        net = pn.Network([1000, 3, 1], seed=0)
        X = np.ones((100_000, 1000)); X[-1, -1] = np.nan
        limit(48 * 2**20)  # the old check's mask alone was 100 MB
        net.predict(X)''', 0,
        ("ValueError", r"^X: expected finite values, got nan at index \(99999, 999\)")),
    "predict-beyond-memory": ("""
        net = pn.Network([2, 3_000_000, 1], seed=0, dtype="float32")
        X = np.ones((5000, 2))
        limit(200 * 2**20)
        net.predict(X)""", 0,
        ("MemoryError", r"^predict: out of memory for 5000 rows: each row's pass through the "
                        r"layers takes 24 MB \(120 GB for all 5000 at once; the widest layer has "
                        r"3000000 units of float32\); pass fewer rows at a time\. The network is "
                        r"unchanged\.")),
}
if HAVE_SKLEARN:
    ALLOCATION_CASES["mlp-max-iter-10-8"] = ('''
        from plainnet.sklearn import MLPClassifier
        X = np.random.default_rng(0).standard_normal((30, 3)); y = (X[:, 0] > 0).astype(int)
        clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=10**8, random_state=0).fit(X, y)
        return clf.n_iter_ < 10**6''', 256, ("ok", True))


# Cases whose outcome is the limit's: without one (under ASan) they would succeed.
NEEDS_LIMIT = {"network-beyond-memory", "full-batch-fit-beyond-memory",
               "full-batch-fit-with-dropout-beyond-memory", "predict-beyond-memory"}


@pytest.mark.parametrize("case", sorted(ALLOCATION_CASES))
def test_nothing_is_allocated_for_work_that_is_not_run(tmp_path, case):
    if SANITIZED and case in NEEDS_LIMIT:
        pytest.skip("the sanitizer's shadow memory rules out an address-space limit")
    code, budget_mb, (expected, detail) = ALLOCATION_CASES[case]
    outcome = run_case(tmp_path, f'''
        def run():
            limit({budget_mb} * 2**20){textwrap.indent(textwrap.dedent(code), " " * 12)}
    ''', timeout=180)
    if expected == "ok":
        assert outcome["outcome"] == "ok", outcome
        assert outcome["result"] == detail
    else:
        assert_refused(outcome, expected, detail)


# ---------------------------------------------------------------- fuzzing a save's bytes

def _saved_bytes():
    net = pn.Network([3, 4, 2], activation=["tanh", "sigmoid"], seed=5)
    rng = np.random.default_rng(3)
    net.fit(rng.standard_normal((12, 3)), rng.uniform(0, 1, (12, 2)),
            optimizer=pn.optim.Adam(lr=0.01), epochs=2, batch_size=4, seed=1)
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"plainnet-fuzz-{os.getpid()}.npz")
    try:
        net.save(path)
        with open(path, "rb") as f:
            return net, f.read()
    finally:
        os.remove(path)


_NET, _SAVED = _saved_bytes()


def _same(a, b):
    return (a.layers == b.layers and a.activations == b.activations
            and a.loss_name == b.loss_name and a.dtype == b.dtype and a.optimizer == b.optimizer
            and all(np.array_equal(x, y) for x, y in zip(a.weights + a.biases,
                                                         b.weights + b.biases)))


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.integers(0, len(_SAVED) - 1), st.integers(0, 255)),
                      min_size=1, max_size=8),
       cut=st.one_of(st.none(), st.integers(0, len(_SAVED))),
       insert=st.one_of(st.none(), st.tuples(st.integers(0, len(_SAVED)),
                                             st.binary(min_size=1, max_size=16))))
def test_fuzzed_save_bytes_load_as_saved_or_are_refused(edits, cut, insert):
    data = bytearray(_SAVED)
    for at, value in edits:
        data[at] = value
    if insert is not None:
        data[insert[0]:insert[0]] = insert[1]
    if cut is not None:
        del data[cut:]
    start = time.monotonic()
    try:
        back = pn.Network.load(io.BytesIO(bytes(data)))
    except ValueError as exc:
        assert str(exc).startswith("load: the BytesIO given is not a plainnet save ("), exc
    else:
        assert _same(back, _NET)
    assert time.monotonic() - start < 2


def test_loading_takes_the_networks_size_and_no_copy_of_it(tmp_path):
    # Parameters and optimizer state are read straight into the arrays the
    # network keeps: the peak is their size plus the reader's chunk.
    outcome = run_case(tmp_path, r'''
        import tracemalloc
        def run():
            net = pn.Network([300, 500, 400, 10], seed=0)
            rng = np.random.default_rng(0)
            net.fit(rng.standard_normal((32, 300)), np.eye(10)[np.arange(32) % 10],
                    optimizer=pn.optim.Adam(), epochs=1)
            path = net.save(os.path.join(TMP, "net.npz"))
            del net
            tracemalloc.start()
            back = pn.Network.load(path)
            current, peak = tracemalloc.get_traced_memory()
            arrays = back.num_parameters * 8 * 3  # parameters and Adam's two arrays
            return [current >= arrays, peak - arrays < 3 * 2**20]
    ''')
    assert outcome["outcome"] == "ok", outcome
    assert outcome["result"] == [True, True]
