"""The tutorial's claims, asserted from the numbers the experiments return."""

import io
import json
import math
import re
import sys

import numpy as np
import pytest

from plainnet import experiments
from plainnet.__main__ import main
from plainnet.experiments import report

_CACHE = {}


def result(name, backend="native", **options):
    """Each experiment runs once per test session (they are deterministic)."""
    key = (name, backend, tuple(sorted(options.items())))
    if key not in _CACHE:
        _CACHE[key] = experiments.run(name, backend=backend, **options)
    return _CACHE[key]


def test_registry_lists_every_experiment_in_report_order():
    assert experiments.names() == [
        "xor-dataset", "sigmoid", "linear-collapse", "house-prices", "xor", "lr-too-high",
        "lr-too-low", "few-hidden", "activations", "xor-reliability", "universal-approximation"]


def test_run_rejects_unknown_names_and_backends():
    with pytest.raises(ValueError, match="name: unknown experiment 'xr'"):
        experiments.run("xr")
    with pytest.raises(TypeError, match="name: expected an experiment name"):
        experiments.run(3)
    with pytest.raises(ValueError, match="backend: expected one of"):
        experiments.run("xor", backend="cuda")


def test_xor_dataset_is_not_linearly_separable():
    r = result("xor-dataset")
    assert r.data["targets"] == [0, 1, 1, 0]
    assert r.data["best_line_correct"] == 3
    assert r.as_claimed


def test_sigmoid_derivative_peaks_at_a_quarter():
    r = result("sigmoid")
    assert r.data["max_derivative"] == pytest.approx(0.25, abs=1e-15)
    assert r.data["argmax_z"] == 0.0
    assert np.all(np.asarray(r.data["derivative"]) <= 0.25)
    assert r.data["vanishing"]["10"] == pytest.approx(9.5367431640625e-07, rel=1e-15)
    z = np.asarray(r.data["z"])
    np.testing.assert_allclose(r.data["sigmoid"], 1 / (1 + np.exp(-z)), rtol=1e-14)


def test_linear_layers_collapse_and_cannot_learn_xor():
    r = result("linear-collapse")
    assert r.data["max_abs_difference"] <= 1e-12
    assert r.data["best_affine_mse"] == pytest.approx(0.25, abs=1e-12)
    assert abs(r.data["linear_xor"]["final_loss"] - 0.25) < 0.01
    # the best a linear map can do: 0.5 for every point
    np.testing.assert_allclose(r.data["linear_xor"]["predictions"], 0.5, atol=0.01)
    assert r.data["sigmoid_xor"]["correct"] == 4
    assert r.data["sigmoid_xor"]["final_loss"] < 0.001


def test_house_price_prediction_within_a_dollar():
    r = result("house-prices")
    assert abs(r.data["predicted_price"] - 500_000.0) <= 1.0
    assert r.data["dollars_per_sqft"] == pytest.approx(200.0, abs=1e-3)
    assert "scaling" in r.table


def test_xor_learns_all_four_points():
    r = result("xor")
    assert r.data["correct"] == 4
    assert r.data["final_loss"] < 0.001
    assert r.data["initial_loss"] == pytest.approx(0.2556753002334093, rel=1e-12)
    assert sorted(r.data["logged_losses"]) == [0, 2000, 4000, 6000, 8000]
    assert len(r.data["loss_history"]) == 10000
    assert r.as_claimed and "learned" in r.verdict


def test_lr_too_high_gets_a_point_wrong():
    r = result("lr-too-high")
    assert r.data["correct"] < 4 or r.data["diverged_at"] >= 0
    assert r.data["loss_rises"] > 0


def test_lr_too_low_barely_moves():
    r = result("lr-too-low")
    drop = r.data["initial_loss"] - r.data["final_loss"]
    assert 0 < drop < 0.01


def test_few_hidden_gets_a_point_wrong_and_matches_the_tutorials_loop():
    r = result("few-hidden")
    assert r.data["correct"] < 4
    variant = r.data["tutorial_variant"]
    assert variant["correct"] == r.data["correct"]
    assert variant["final_loss"] == pytest.approx(r.data["final_loss"], rel=1e-3)


def test_activations_covers_every_activation():
    import plainnet as pn

    r = result("activations")
    assert list(r.data["runs"]) == list(pn.ACTIVATIONS)
    assert "linear" in r.data["failed"]
    assert {"sigmoid", "tanh"} <= set(r.data["learned"])
    for act, run in r.data["runs"].items():
        assert (act in r.data["learned"]) == (run["correct"] == 4 and run["final_loss"] < 0.001)


def test_xor_reliability_counts_seeds():
    r = result("xor-reliability", hidden=(1, 2, 4), lrs=(2.0,), seeds=50)
    f = np.asarray(r.data["fraction_solved"])
    assert f.shape == (3, 1)
    assert f[0, 0] == 0.0          # one hidden neuron never solves XOR
    assert 0.0 < f[1, 0] < 1.0     # two: depends on the seed
    assert f[2, 0] > f[1, 0]
    assert r.data["two_hidden_lr2_seed42_solved"] is False
    assert 42 not in r.data["seed_solved"]["2,2"]


def test_xor_reliability_does_not_depend_on_threads():
    one = experiments.run("xor-reliability", hidden=(2, 3), lrs=(0.5, 2.0), seeds=12,
                          iterations=3000, workers=1)
    two = experiments.run("xor-reliability", hidden=(2, 3), lrs=(0.5, 2.0), seeds=12,
                          iterations=3000, workers=2)
    assert one.data["seed_solved"] == two.data["seed_solved"]


def test_universal_approximation_error_falls_with_width():
    r = result("universal-approximation")
    errors = dict(zip(r.data["widths"], r.data["rms_errors"]))
    assert errors[1] > errors[4] > errors[16]
    assert r.data["strictly_decreasing"] == all(
        a > b for a, b in zip(r.data["rms_errors"], r.data["rms_errors"][1:]))


# The repr of a NumPy scalar, such as np.float64(0.5) or np.int64(3), where a
# plain number belongs.
NUMPY_REPR = re.compile(r"\bnp\.[A-Za-z_]\w*\(")
# xor-reliability on fewer cells (the same as test_xor_reliability_counts_seeds, so
# the cached result is reused); the others run as the report runs them
QUICK = {"xor-reliability": {"hidden": (1, 2, 4), "lrs": (2.0,), "seeds": 50}}


@pytest.mark.parametrize("name", experiments.names())
def test_printed_text_shows_plain_numbers(name):
    r = result(name, **QUICK.get(name, {}))
    for text in (r.title, r.table, r.verdict, *r.notes):
        assert not NUMPY_REPR.search(text), text


@pytest.mark.parametrize("name", ["xor", "lr-too-low", "few-hidden"])
def test_native_and_numpy_backends_agree(name):
    native = result(name).data
    numpy = result(name, backend="numpy").data
    for key in ("loss_history", "predictions", "initial_predictions"):
        np.testing.assert_allclose(numpy[key], native[key], rtol=1e-9)
    assert numpy["final_loss"] == pytest.approx(native["final_loss"], rel=1e-9)
    assert numpy["rounded"] == native["rounded"]


def test_lr_too_high_backends_agree_until_chaos_takes_over():
    # At lr 100 a last-bit difference grows ~10x every few iterations (the
    # experiment measures it: a 1e-15 nudge parts the curves by 1e-9 within a few
    # dozen iterations), so the backends can only agree early on, and on the outcome.
    native = result("lr-too-high").data
    numpy = result("lr-too-high", backend="numpy").data
    early = 15
    assert early < native["nudged_split_at"] < 100
    np.testing.assert_allclose(numpy["loss_history"][:early], native["loss_history"][:early],
                               rtol=1e-9)
    np.testing.assert_allclose(numpy["initial_predictions"], native["initial_predictions"],
                               rtol=1e-12)
    assert numpy["correct"] < 4 and native["correct"] < 4


# ---------------------------------------------------------------- the command


def test_cli_list(capsys):
    assert main(["experiments", "--list"]) == 0
    out = capsys.readouterr().out
    for name in experiments.names():
        assert name in out


def test_cli_only_writes_figures_json_and_html(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "rep"
    assert main(["experiments", "--only", "xor", "lr-too-low", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "verdict: 4/4 correct" in text
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert list(doc["experiments"]) == ["xor", "lr-too-low"]
    xor = doc["experiments"]["xor"]
    # full precision: the stored float is the very number the verdict used
    assert xor["data"]["final_loss"] == result("xor").data["final_loss"]
    assert xor["data"]["loss_history"] == list(result("xor").data["loss_history"])
    assert xor["figures"] == ["xor-loss.png", "xor-decision-boundary.png"]
    html = (out / "report.html").read_text(encoding="utf-8")
    for name in ("xor-loss.png", "xor-decision-boundary.png", "lr-too-low-loss.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f'alt="{name}"' in html
    assert html.index('id="xor"') < html.index('id="lr-too-low"')
    assert "data:image/png;base64," in html
    assert "Verdict:" in html


def test_cli_without_matplotlib_still_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    out = tmp_path / "rep"
    assert main(["experiments", "--only", "sigmoid", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "figures are skipped" in text
    assert 'pip install "plainnet[plots]"' in text
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "results.json"]
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert doc["figures_skipped"]
    assert doc["experiments"]["sigmoid"]["data"]["max_derivative"] == pytest.approx(0.25)
    assert "Figures were skipped" in (out / "report.html").read_text(encoding="utf-8")


def test_cli_prints_plain_numbers(tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(["experiments", "--only", "sigmoid", "house-prices", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "sigmoid(0) = 0.5; largest derivative 0.25 at z = 0" in text
    assert "np.float64(" not in text and "np.int64(" not in text
    assert not NUMPY_REPR.search(text)


def test_line_styles_differ_in_colour_and_style():
    from plainnet.experiments._base import line_styles

    styles = [(s["color"], s["linestyle"]) for s in line_styles(20)]
    assert len(set(styles)) == 20
    for a, b in zip(styles, styles[1:]):  # neighbours differ in both
        assert a[0] != b[0] and a[1] != b[1]


@pytest.mark.parametrize("name, panels", [("activations", 1), ("universal-approximation", 2)])
def test_every_curve_can_be_told_apart(name, panels):
    pytest.importorskip("matplotlib")
    from matplotlib.colors import to_rgba

    [(_, fig)] = experiments.get(name).plot(result(name))
    assert len(fig.axes) == panels
    for ax in fig.axes:
        looks = [(to_rgba(line.get_color()), line.get_linestyle()) for line in ax.get_lines()]
        assert len(looks) >= 6 and len(set(looks)) == len(looks)
        # not colour alone: curves drawn on top of each other differ in line style too
        assert len({style for _, style in looks}) >= 3


def test_cli_rejects_unknown_experiment(capsys):
    with pytest.raises(SystemExit):
        main(["experiments", "--only", "nope"])
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_json_conversion_keeps_precision_and_refuses_objects():
    from plainnet.experiments._base import jsonable

    x = 0.1 + 0.2
    assert json.loads(json.dumps(jsonable({"a": np.float64(x), "b": np.arange(2)}))) == {
        "a": x, "b": [0, 1]}
    assert jsonable([math.inf, math.nan]) == ["inf", "nan"]
    with pytest.raises(TypeError, match="jsonable: cannot store object"):
        jsonable(object())


def test_xor_command_still_works(capsys):
    assert main(["xor", "--epochs", "100", "--log-every", "50"]) == 0
    assert "After training" in capsys.readouterr().out


def test_numpy_backend_warns_how_long_reliability_takes():
    text = report.numpy_estimate()
    assert "4,800 networks" in text and "minutes" in text


# ---------------------------------------------------------------- progress bars

SMALL_RELIABILITY = {"hidden": (1, 2), "lrs": (2.0,), "seeds": 6, "iterations": 500}


class Terminal(io.StringIO):
    """A stderr that says it is a terminal, as tqdm asks."""

    def isatty(self):
        return True


def test_xor_reliability_bar_counts_the_trainings():
    pytest.importorskip("tqdm", reason='the bar is tqdm\'s: pip install "plainnet[progress]"')
    buf = io.StringIO()
    shown = experiments.run("xor-reliability", progress={"file": buf}, **SMALL_RELIABILITY)
    plain = experiments.run("xor-reliability", **SMALL_RELIABILITY)
    last = buf.getvalue().replace("\n", "\r").rstrip("\r").split("\r")[-1]
    assert last.startswith("xor-reliability: 100%") and "12/12" in last and "training" in last
    assert shown.data["seed_solved"] == plain.data["seed_solved"]


def test_cli_shows_the_bar_on_a_terminal_only(tmp_path, capsys, monkeypatch):
    pytest.importorskip("tqdm", reason='the bar is tqdm\'s: pip install "plainnet[progress]"')
    texts = {}
    for tty in (True, False):
        err = Terminal() if tty else io.StringIO()
        monkeypatch.setattr(sys, "stderr", err)
        report.run_experiments(["xor-reliability"], tmp_path,
                               progress=report.cli_progress(),
                               options={"xor-reliability": SMALL_RELIABILITY})
        texts[tty] = capsys.readouterr().out, err.getvalue()
    (out_tty, err_tty), (out_plain, err_plain) = texts[True], texts[False]
    assert "xor-reliability:" in err_tty and "/12 " in err_tty   # the bar, on stderr
    assert err_plain == ""                                        # not a terminal: no bar
    # stdout is the report either way (the timings aside)
    strip = re.compile(r"\d+\.\d+ s")
    assert strip.sub("", out_tty) == strip.sub("", out_plain)
    assert "verdict:" in out_tty and "%|" not in out_tty
    assert report.cli_progress(False) is False


def test_cli_without_tqdm_runs_without_a_bar(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    assert report.cli_progress() is False
    monkeypatch.setattr(sys, "stderr", Terminal())
    rep = report.run_experiments(["xor-reliability"], tmp_path, progress=report.cli_progress(),
                                 options={"xor-reliability": SMALL_RELIABILITY})
    assert sys.stderr.getvalue() == ""
    assert "verdict:" in capsys.readouterr().out
    assert rep.results[0].data["runs"] == 12
    # and the command line itself, with the bar switched off or not
    for flag in ([], ["--no-progress"]):
        assert main(["experiments", "--only", "sigmoid", "--out", str(tmp_path), *flag]) == 0
    # asking for a bar without tqdm names the extra
    with pytest.raises(ImportError, match=r'pip install "plainnet\[progress\]"'):
        experiments.run("xor-reliability", progress=True, **SMALL_RELIABILITY)
