"""Learning-rate schedules and gradient clipping: the same rates and weights as
torch.optim.lr_scheduler and torch.nn.utils driving torch.optim on the torch
export of the network, the same on both backends, carried across fits, saves
and pickles, and bad settings refused."""

import pickle

import numpy as np
import pytest

import plainnet as pn
from plainnet import optim, reference
from plainnet.optim import lr_scheduler as sch

try:
    import torch
except ImportError:  # pragma: no cover - CI installs torch
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="the torch comparisons need torch")

EPOCHS, ROWS, BATCH = 12, 40, 16  # 3 updates per epoch
PER_EPOCH = -(-ROWS // BATCH)

# (id, plainnet schedule, torch schedule(optimizer), plainnet optimizer, torch optimizer(params))
SCHEDULES = [
    ("step", lambda: sch.StepLR(step_size=3, gamma=0.5),
     lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5)),
    ("multistep", lambda: sch.MultiStepLR(milestones=[2, 5, 5, 9], gamma=0.3),
     lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3)),
    ("exponential", lambda: sch.ExponentialLR(gamma=0.8),
     lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.8)),
    ("cosine", lambda: sch.CosineAnnealingLR(T_max=4, eta_min=0.01),
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=4, eta_min=0.01)),
    ("onecycle", lambda: sch.OneCycleLR(max_lr=0.3, epochs=EPOCHS, steps_per_epoch=PER_EPOCH),
     lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.3, epochs=EPOCHS,
                                                   steps_per_epoch=PER_EPOCH)),
    ("onecycle-linear-3phase", lambda: sch.OneCycleLR(
        max_lr=0.3, total_steps=EPOCHS * PER_EPOCH + 5, anneal_strategy="linear",
        three_phase=True, pct_start=0.25),
     lambda o: torch.optim.lr_scheduler.OneCycleLR(
         o, max_lr=0.3, total_steps=EPOCHS * PER_EPOCH + 5, anneal_strategy="linear",
         three_phase=True, pct_start=0.25)),
    ("plateau", lambda: sch.ReduceLROnPlateau(patience=1, factor=0.5, threshold=0.3),
     lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, patience=1, factor=0.5,
                                                          threshold=0.3)),
    ("plateau-abs-cooldown", lambda: sch.ReduceLROnPlateau(
        patience=0, factor=0.7, threshold=0.1, threshold_mode="abs", cooldown=2, min_lr=0.02),
     lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(
         o, patience=0, factor=0.7, threshold=0.1, threshold_mode="abs", cooldown=2,
         min_lr=0.02)),
]
OPTIMIZERS = [
    ("sgd", lambda: optim.SGD(lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    ("sgd-momentum", lambda: optim.SGD(lr=0.1, momentum=0.9),
     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
    ("adam", lambda: optim.Adam(lr=0.05), lambda p: torch.optim.Adam(p, lr=0.05)),
]


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((ROWS + 10, 5))
    labels = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 0.5)
    return X, labels


def _net(backend="native"):
    return pn.Network([5, 7, 3], activation="tanh", output_activation="softmax",
                      loss="cross_entropy", seed=3, backend=backend)


def _flat(net):
    return np.concatenate([np.concatenate([W.ravel(), b]) for W, b in
                           zip(net.weights, net.biases)])


def _torch_flat(model):
    return np.concatenate([np.concatenate([m.weight.detach().numpy().T.ravel(),
                                           m.bias.detach().numpy()])
                           for m in model if isinstance(m, torch.nn.Linear)])


def _torch_run(net, make_opt, make_sched, X, labels, clip_norm=None, clip_value=None,
               validate=False):
    """The loop fit runs, written in torch: the same batches (reference.epoch_permutation),
    the schedule stepped after each epoch (after each update for OneCycleLR), and
    ReduceLROnPlateau on the validation loss, or the epoch's training loss. Returns
    (model, the rate of every update)."""
    model = net.to_torch()[:-1]  # logits: CrossEntropyLoss applies the softmax
    topt = make_opt(model.parameters())
    tsched = make_sched(topt)
    lossf = torch.nn.CrossEntropyLoss()
    Xt, Xv = (X[:ROWS], X[ROWS:]) if validate else (X, None)
    yt, yv = (labels[:ROWS], labels[ROWS:]) if validate else (labels, None)
    m = Xt.shape[0]
    rates = []
    for epoch in range(EPOCHS):
        order = reference.epoch_permutation(m, 7, epoch)
        loss_sum = 0.0
        for b in range(0, m, BATCH):
            rows = order[b:b + BATCH]
            topt.zero_grad()
            loss = lossf(model(torch.tensor(Xt[rows])), torch.tensor(yt[rows]))
            loss.backward()
            if clip_norm is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
            if clip_value is not None:
                torch.nn.utils.clip_grad_value_(model.parameters(), clip_value)
            rates.append(topt.param_groups[0]["lr"])
            topt.step()
            loss_sum += loss.item() * len(rows)
            if isinstance(tsched, torch.optim.lr_scheduler.OneCycleLR):
                tsched.step()
        if isinstance(tsched, torch.optim.lr_scheduler.ReduceLROnPlateau):
            if validate:
                with torch.no_grad():
                    metric = lossf(model(torch.tensor(Xv)), torch.tensor(yv)).item()
            else:
                metric = loss_sum / m
            tsched.step(metric)
        elif not isinstance(tsched, torch.optim.lr_scheduler.OneCycleLR):
            tsched.step()
    return model, rates, topt.param_groups[0]["lr"]


@needs_torch
@pytest.mark.parametrize("backend", pn.BACKENDS)
@pytest.mark.parametrize("oname,make_ours,make_theirs", OPTIMIZERS,
                         ids=[o[0] for o in OPTIMIZERS])
@pytest.mark.parametrize("sname,make_sched,make_tsched", SCHEDULES, ids=[s[0] for s in SCHEDULES])
def test_schedule_equals_torch(backend, oname, make_ours, make_theirs, sname, make_sched,
                               make_tsched):
    X, labels = _data()
    validate = sname == "plateau"  # ReduceLROnPlateau on the validation loss; else training loss
    fit_kw = dict(validation_data=(X[ROWS:], labels[ROWS:])) if validate else {}
    one_cycle = sname.startswith("onecycle")
    net = _net(backend)
    model, rates, last = _torch_run(net, make_theirs, make_tsched, X if validate else X[:ROWS],
                                    labels if validate else labels[:ROWS], validate=validate)
    sched = make_sched()
    net.fit(X[:ROWS], labels[:ROWS], optimizer=make_ours(), scheduler=sched, epochs=EPOCHS,
            batch_size=BATCH, seed=7, **fit_kw)
    assert sched.last_epoch == (EPOCHS * PER_EPOCH if one_cycle else EPOCHS)
    assert sched.get_last_lr() == [last]  # bit for bit: torch's formulas
    np.testing.assert_allclose(_flat(net), _torch_flat(model), rtol=1e-12, atol=1e-14)
    # Every update's rate, bit for bit: fitting one epoch at a time carries the
    # schedule on (the weights end equal to the single fit's), and before each
    # epoch get_last_lr() is the rate of its updates; OneCycleLR's come from
    # its step count.
    net2, sched2, opt2 = _net(backend), make_sched(), make_ours()
    seen = []
    for _ in range(EPOCHS):
        seen.extend([sched2.get_last_lr()[0] if sched2.state is not None else rates[0]]
                    * PER_EPOCH)
        net2.fit(X[:ROWS], labels[:ROWS], optimizer=opt2, scheduler=sched2, epochs=1,
                 batch_size=BATCH, seed=7, **fit_kw)
    if one_cycle:
        core = {"name": "one_cycle", **sched._core_settings()}
        seen = [reference.one_cycle_at(core, k)[0] for k in range(EPOCHS * PER_EPOCH)]
    assert seen == rates
    assert len(set(rates)) > 2  # the schedule did change the rate
    np.testing.assert_array_equal(_flat(net2), _flat(net))  # split fits equal one fit


@needs_torch
@pytest.mark.parametrize("backend", pn.BACKENDS)
@pytest.mark.parametrize("clip", [dict(clip_norm=0.05), dict(clip_norm=100.0),
                                  dict(clip_value=0.01)], ids=["norm", "norm-unused", "value"])
def test_clipping_equals_torch(backend, clip):
    X, labels = _data(1)
    net = _net(backend)
    model, _, _ = _torch_run(net, lambda p: torch.optim.SGD(p, lr=0.5, momentum=0.5),
                             lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=1.0),
                             X[:ROWS], labels[:ROWS], **clip)
    net.fit(X[:ROWS], labels[:ROWS], optimizer=optim.SGD(lr=0.5, momentum=0.5), epochs=EPOCHS,
            batch_size=BATCH, seed=7, **clip)
    np.testing.assert_allclose(_flat(net), _torch_flat(model), rtol=1e-12, atol=1e-14)
    plain = _net(backend)
    plain.fit(X[:ROWS], labels[:ROWS], optimizer=optim.SGD(lr=0.5, momentum=0.5),
              epochs=EPOCHS, batch_size=BATCH, seed=7)
    if clip.get("clip_norm") == 100.0:  # never reached: the same as no clipping
        np.testing.assert_array_equal(_flat(plain), _flat(net))
    else:
        assert np.abs(_flat(plain) - _flat(net)).max() > 1e-3


@pytest.mark.parametrize("sname,make_sched,_", SCHEDULES, ids=[s[0] for s in SCHEDULES])
@pytest.mark.parametrize("clip", [{}, dict(clip_norm=0.1), dict(clip_value=0.02)],
                         ids=["noclip", "norm", "value"])
def test_backends_agree(sname, make_sched, _, clip):
    X, labels = _data(2)
    nets, scheds = [], []
    for backend in pn.BACKENDS:
        net, sched = _net(backend), make_sched()
        net.fit(X[:ROWS], labels[:ROWS], optimizer=optim.Adam(lr=0.05), scheduler=sched,
                epochs=EPOCHS, batch_size=BATCH, seed=7, **clip)
        nets.append(net)
        scheds.append(sched)
    np.testing.assert_allclose(_flat(nets[0]), _flat(nets[1]), rtol=1e-12, atol=1e-14)
    assert scheds[0].get_last_lr() == scheds[1].get_last_lr()
    assert scheds[0].last_epoch == scheds[1].last_epoch


@pytest.mark.parametrize("backend", pn.BACKENDS)
@pytest.mark.parametrize("sname,make_sched,_", SCHEDULES, ids=[s[0] for s in SCHEDULES])
def test_a_fit_split_by_save_and_pickle_equals_one_fit(tmp_path, backend, sname, make_sched, _):
    X, labels = _data(3)
    X, labels = X[:ROWS], labels[:ROWS]
    kw = dict(batch_size=BATCH, seed=7)
    whole = _net(backend)
    whole.fit(X, labels, optimizer=optim.SGD(lr=0.1, momentum=0.5), scheduler=make_sched(),
              epochs=EPOCHS, **kw)
    first = _net(backend)
    first.fit(X, labels, optimizer=optim.SGD(lr=0.1, momentum=0.5), scheduler=make_sched(),
              epochs=5, **kw)
    first.save(tmp_path / "half.npz")
    loaded = pn.Network.load(tmp_path / "half.npz", backend=backend)
    assert loaded.optimizer == first.optimizer  # the schedule and its state included
    resumed = pickle.loads(pickle.dumps(loaded))
    # the optimizer carries its schedule on: no scheduler argument needed
    resumed.fit(X, labels, optimizer=resumed.optimizer, epochs=4, **kw)
    resumed.fit(X, labels, optimizer=resumed.optimizer,
                scheduler=resumed.optimizer.scheduler, epochs=EPOCHS - 9, **kw)
    np.testing.assert_array_equal(_flat(resumed), _flat(whole))
    assert resumed.optimizer.scheduler == whole.optimizer.scheduler


def test_a_schedule_is_not_started_by_a_refused_fit():
    X, labels = _data()
    sched = sch.StepLR(2)
    with pytest.raises(ValueError, match="epochs"):
        _net().fit(X, labels, scheduler=sched, epochs=-1)
    assert sched.state is None and sched.last_epoch == -1 and sched.get_last_lr() == []


BAD = [
    (lambda: sch.StepLR(0), ValueError, r"^step_size: expected an int >= 1"),
    (lambda: sch.StepLR(2.5), TypeError, r"^step_size"),
    (lambda: sch.StepLR(2, gamma=0), ValueError, r"^gamma: expected a finite number > 0"),
    (lambda: sch.StepLR(2, gamma=float("nan")), ValueError, r"^gamma"),
    (lambda: sch.MultiStepLR(5), TypeError, r"^milestones: expected a list of ints"),
    (lambda: sch.MultiStepLR([1, -2]), ValueError, r"^milestones\[1\]"),
    (lambda: sch.ExponentialLR(-0.5), ValueError, r"^gamma"),
    (lambda: sch.CosineAnnealingLR(0), ValueError, r"^T_max"),
    (lambda: sch.CosineAnnealingLR(3, eta_min=-1.0), ValueError, r"^eta_min"),
    (lambda: sch.OneCycleLR(0.1), ValueError, r"^total_steps: give total_steps"),
    (lambda: sch.OneCycleLR(0.1, epochs=3), ValueError, r"^total_steps"),
    (lambda: sch.OneCycleLR(-0.1, total_steps=10), ValueError, r"^max_lr"),
    (lambda: sch.OneCycleLR(0.1, total_steps=0), ValueError, r"^total_steps"),
    (lambda: sch.OneCycleLR(0.1, total_steps=10, pct_start=1.5), ValueError, r"^pct_start"),
    (lambda: sch.OneCycleLR(0.1, total_steps=10, pct_start=0.1), ValueError,
     r"^pct_start: 0.1 leaves a phase"),
    (lambda: sch.OneCycleLR(0.1, total_steps=10, anneal_strategy="cosine"), ValueError,
     r"^anneal_strategy"),
    (lambda: sch.OneCycleLR(0.1, total_steps=10, base_momentum=1.0), ValueError,
     r"^base_momentum"),
    (lambda: sch.OneCycleLR(0.1, total_steps=10, three_phase="yes"), TypeError, r"^three_phase"),
    (lambda: sch.ReduceLROnPlateau(mode="lowest"), ValueError, r"^mode"),
    (lambda: sch.ReduceLROnPlateau(factor=1.0), ValueError, r"^factor"),
    (lambda: sch.ReduceLROnPlateau(patience=-1), ValueError, r"^patience"),
    (lambda: sch.ReduceLROnPlateau(threshold_mode="relative"), ValueError, r"^threshold_mode"),
    (lambda: sch.ReduceLROnPlateau(min_lr=-1), ValueError, r"^min_lr"),
    (lambda: sch.StepLR(optim.SGD(lr=0.1), 10), TypeError, r"^step_size: StepLR is made without"),
]


@pytest.mark.parametrize("make,exc,match", BAD)
def test_bad_schedule_settings_are_refused_naming_the_argument(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_bad_fit_arguments_are_refused_before_training():
    X, labels = _data()
    net = _net()
    before = _flat(net)
    cases = [
        (dict(scheduler="step"), TypeError, r"^scheduler: expected a plainnet"),
        (dict(clip_norm=0.0), ValueError, r"^clip_norm: expected a finite number > 0"),
        (dict(clip_norm=-1.0), ValueError, r"^clip_norm"),
        (dict(clip_value=float("inf")), ValueError, r"^clip_value"),
        (dict(clip_value="1"), TypeError, r"clip_value"),
        (dict(clip_norm=1.0, clip_value=1.0), ValueError, r"^clip_value: pass clip_norm or"),
        (dict(optimizer=optim.Rprop(), scheduler=sch.OneCycleLR(0.1, total_steps=100)),
         ValueError, r"^scheduler: OneCycleLR\(cycle_momentum=True\) cycles the momentum"),
        (dict(optimizer=optim.Adam(), scheduler=sch.OneCycleLR(0.1, total_steps=5),
              epochs=3, batch_size=16), ValueError, r"^scheduler: OneCycleLR\(total_steps=5\) has 5"),
        (dict(optimizer=optim.Adam(), scheduler=sch.ReduceLROnPlateau(),
              validation_split=0.2, monitor="val_accuracy"), ValueError,
         r"^scheduler: ReduceLROnPlateau\(mode='min'\)"),
    ]
    for kwargs, exc, match in cases:
        kwargs.setdefault("epochs", 2)
        with pytest.raises(exc, match=match):
            net.fit(X, labels, **kwargs)
        np.testing.assert_array_equal(_flat(net), before)
        assert net.optimizer is None


def test_one_cycle_on_rprop_runs_without_momentum_cycling():
    X, labels = _data()
    net = _net()
    sched = sch.OneCycleLR(0.05, total_steps=8, cycle_momentum=False)
    net.fit(X, labels, optimizer=optim.Rprop(), scheduler=sched, epochs=2, batch_size=16)
    assert sched.last_epoch == 8 and net.optimizer.scheduler is sched


# ---------------------------------------------------------------- hostile saves and pickles


def _saved_with(tmp_path, change):
    """A save of a network trained with a schedule, its meta's scheduler record changed."""
    import io
    import json
    import zipfile
    X, labels = _data()
    net = _net()
    net.fit(X, labels, optimizer=optim.SGD(lr=0.1), epochs=3, batch_size=BATCH,
            scheduler=sch.ReduceLROnPlateau(patience=1, cooldown=2))
    path = tmp_path / "net.npz"
    net.save(path)
    with zipfile.ZipFile(path) as z:
        items = {n: z.read(n) for n in z.namelist()}
    meta = json.loads(str(np.load(io.BytesIO(items["meta.npy"]))))
    change(meta["optimizer"]["scheduler"])
    buf = io.BytesIO()
    np.save(buf, np.array(json.dumps(meta)))
    items["meta.npy"] = buf.getvalue()
    out = tmp_path / "changed.npz"
    with zipfile.ZipFile(out, "w") as z:
        for n, data in items.items():
            z.writestr(n, data)
    return out


HOSTILE = {
    "name": (lambda r: r.update(name="os.system"), r"meta\.optimizer\.scheduler\.name: expected"),
    "unknown-key": (lambda r: r.update(extra=1), r"meta\.optimizer\.scheduler: unknown keys"),
    "setting-unknown": (lambda r: r["settings"].update(verbose=True),
                        r"meta\.optimizer\.scheduler\.settings: unknown keys 'verbose'"),
    "setting-bad": (lambda r: r["settings"].update(factor=2.0),
                    r"meta\.optimizer\.scheduler\.settings: factor: expected a number in \[0, 1\)"),
    "setting-object": (lambda r: r["settings"].update(patience={"a": 1}),
                       r"meta\.optimizer\.scheduler\.settings\.patience: expected a number"),
    "state-missing": (lambda r: r["state"].pop("lr"),
                      r"meta\.optimizer\.scheduler\.state: missing lr"),
    "state-lr-negative": (lambda r: r["state"].update(lr=-1.0),
                          r"meta\.optimizer\.scheduler\.state\.lr: expected a finite number"),
    "state-lr-string": (lambda r: r["state"].update(lr="0.1"),
                        r"meta\.optimizer\.scheduler\.state\.lr: expected a number, got str"),
    "state-last-epoch-huge": (lambda r: r["state"].update(last_epoch=2**60),
                              r"meta\.optimizer\.scheduler\.state\.last_epoch: expected an int"),
    "state-cooldown-beyond": (lambda r: r["state"].update(cooldown_left=3),
                              r"meta\.optimizer\.scheduler\.state\.cooldown_left: expected an "
                              r"int in \[0, 2\]"),
    "state-bad-epochs-float": (lambda r: r["state"].update(bad_epochs=1.5),
                               r"meta\.optimizer\.scheduler\.state\.bad_epochs: expected an int"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_crafted_schedule_in_a_save_is_refused_naming_the_field(tmp_path, case):
    change, pattern = HOSTILE[case]
    path = _saved_with(tmp_path, change)
    with pytest.raises(ValueError, match=pattern):
        pn.Network.load(path)


def test_a_crafted_schedule_in_a_pickle_is_refused():
    X, labels = _data()
    net = _net()
    net.fit(X, labels, optimizer=optim.SGD(lr=0.1), epochs=2, scheduler=sch.StepLR(1))
    state = net.__getstate__()
    state["optimizer"].scheduler.state[reference.RATE] = np.nan
    with pytest.raises(ValueError, match=r"optimizer\.scheduler\.state\.lr: expected a finite"):
        pn.Network.__new__(pn.Network).__setstate__(state)
    state["optimizer"].scheduler = "StepLR(1)"
    with pytest.raises(ValueError, match=r"optimizer\.scheduler: expected a plainnet\.optim"):
        pn.Network.__new__(pn.Network).__setstate__(state)


# ---------------------------------------------------------------- scikit-learn's learning_rate

def _sk():
    return pytest.importorskip("sklearn.neural_network",
                               reason="the estimators' schedules need scikit-learn")


def _quiet_fit(est, X, y):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


@pytest.mark.parametrize("backend", pn.BACKENDS)
def test_invscaling_gives_scikit_learns_rate(backend):
    sk = _sk()
    from plainnet.sklearn import MLPRegressor
    rng = np.random.default_rng(4)
    X = rng.standard_normal((60, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    kw = dict(hidden_layer_sizes=(5,), solver="sgd", learning_rate="invscaling",
              learning_rate_init=0.05, power_t=0.7, max_iter=6, batch_size=16, tol=0.0,
              n_iter_no_change=100, random_state=0)
    theirs = _quiet_fit(sk.MLPRegressor(**kw), X, y)
    ours = _quiet_fit(MLPRegressor(backend=backend, **kw), X, y)
    sched = ours.network_.optimizer.scheduler
    assert isinstance(sched, sch.InvScalingLR)
    assert ours.t_ == theirs.t_ == sched.last_epoch == 6 * 60
    assert sched.get_last_lr() == [theirs._optimizer.learning_rate]  # bit for bit
    constant = _quiet_fit(MLPRegressor(backend=backend, **{**kw, "learning_rate": "constant"}),
                          X, y)
    assert constant.loss_curve_[0] == ours.loss_curve_[0]  # the same first epoch
    assert constant.loss_curve_[-1] != ours.loss_curve_[-1]
    # partial_fit carries the schedule on: t counts every row trained on
    inc = MLPRegressor(backend=backend, **kw)
    for _ in range(3):
        inc.partial_fit(X, y)
    assert inc.network_.optimizer.scheduler.last_epoch == inc.t_ == 180
    assert inc.network_.optimizer.scheduler.get_last_lr() == [0.05 / 181 ** 0.7]


@pytest.mark.parametrize("early_stopping", [False, True], ids=["loss", "validation"])
def test_adaptive_divides_by_5_and_stops_as_scikit_learn_does(early_stopping):
    # With a tol no epoch can meet, every epoch counts as one without improvement,
    # whatever the losses: the rate is divided by 5 every n_iter_no_change + 1
    # epochs until it is at most 1e-6, and the next such stretch stops the fit.
    sk = _sk()
    from plainnet.sklearn import MLPClassifier
    rng = np.random.default_rng(5)
    X = rng.standard_normal((80, 4))
    y = (X[:, 0] > 0).astype(np.int64)
    kw = dict(hidden_layer_sizes=(5,), solver="sgd", learning_rate="adaptive",
              learning_rate_init=0.1, tol=1e6, n_iter_no_change=2, max_iter=200,
              early_stopping=early_stopping, random_state=0)
    theirs = _quiet_fit(sk.MLPClassifier(**kw), X, y)
    ours = _quiet_fit(MLPClassifier(**kw), X, y)
    # the first epoch improves on the best (infinite, or -inf for scores), then
    # 9 stretches of 3 epochs: 8 divisions, and a stop at 2.56e-7
    assert ours.n_iter_ == theirs.n_iter_ == 28
    assert ours.network_.optimizer.scheduler.get_last_lr() == [theirs._optimizer.learning_rate]
    assert theirs._optimizer.learning_rate <= 1e-6


def test_adaptive_and_invscaling_leave_other_solvers_alone():
    _sk()
    from plainnet.sklearn import MLPClassifier
    X, labels = _data()
    est = MLPClassifier(hidden_layer_sizes=(4,), learning_rate="invscaling", max_iter=3,
                        random_state=0)
    _quiet_fit(est, X, labels)
    assert est.network_.optimizer.scheduler is None  # adam keeps learning_rate_init


@pytest.mark.parametrize("backend", pn.BACKENDS)
def test_inv_scaling_and_adaptive_on_both_backends_and_saved(tmp_path, backend):
    X, labels = _data()
    for make in (lambda: sch.InvScalingLR(power_t=0.25),
                 lambda: sch.AdaptiveLR(tol=10.0, n_iter_no_change=1)):
        whole, split = _net(backend), _net(backend)
        whole.fit(X, labels, optimizer=optim.SGD(lr=0.1), scheduler=make(), epochs=8,
                  batch_size=BATCH, seed=1)
        split.fit(X, labels, optimizer=optim.SGD(lr=0.1), scheduler=make(), epochs=3,
                  batch_size=BATCH, seed=1)
        split.save(tmp_path / "s.npz")
        split = pn.Network.load(tmp_path / "s.npz", backend=backend)
        split.fit(X, labels, optimizer=split.optimizer, epochs=5, batch_size=BATCH, seed=1)
        np.testing.assert_array_equal(_flat(split), _flat(whole))
        assert split.optimizer.scheduler == whole.optimizer.scheduler
    other = _net("numpy" if backend == "native" else "native")
    other.fit(X, labels, optimizer=optim.SGD(lr=0.1), scheduler=make(), epochs=8,
              batch_size=BATCH, seed=1)
    np.testing.assert_allclose(_flat(other), _flat(whole), rtol=1e-12, atol=1e-14)
    assert other.optimizer.scheduler.get_last_lr() == whole.optimizer.scheduler.get_last_lr()
