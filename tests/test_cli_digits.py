"""The digits command: plainnet's MLPClassifier next to scikit-learn's on real data."""

import argparse
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from plainnet import _digits
from plainnet.__main__ import _argument, main
from plainnet.network import BACKENDS

try:
    import sklearn
except ImportError:  # the tests of what the command says without it still run
    sklearn = None

needs_sklearn = pytest.mark.skipif(sklearn is None, reason="the digits command trains with "
                                   "scikit-learn's data and estimators")


def run(capsys, *args):
    code = main(["digits", *args])
    out, err = capsys.readouterr()
    return code, out, err


def row(out, label):
    """The cells of the table row starting with ``label``."""
    for line in out.splitlines():
        if line.strip().startswith(label):
            return line.strip()[len(label):].split()
    raise AssertionError(f"no row {label!r} in:\n{out}")


def parse(*argv):
    parser = argparse.ArgumentParser()
    _digits.add_arguments(parser, BACKENDS, _argument)
    return parser.parse_args(argv)


@needs_sklearn
def test_both_models_get_the_same_hyper_parameters():
    (_, ours), (_, theirs) = _digits.estimators(parse("--hidden", "32,16", "--max-iter", "7",
                                                      "--seed", "5", "--dtype", "float32",
                                                      "--backend", "numpy"))
    from sklearn.neural_network import MLPClassifier

    assert type(theirs) is MLPClassifier
    mine, sk = ours.get_params(), theirs.get_params()
    # every parameter scikit-learn's model has, plainnet's has with the same value
    assert {k: mine[k] for k in sk} == sk
    assert sk["hidden_layer_sizes"] == (32, 16) and sk["max_iter"] == 7
    assert sk["random_state"] == 5 and sk["early_stopping"] is True
    assert (mine["dtype"], mine["backend"]) == ("float32", "numpy")
    assert [name for name, _ in _digits.estimators(parse("--no-sklearn"))] == ["plainnet"]


@needs_sklearn
def test_prints_the_data_the_network_and_both_models_side_by_side(capsys, tmp_path):
    pytest.importorskip("matplotlib", reason="--plot needs matplotlib")
    png = tmp_path / "curves.png"
    code, out, err = run(capsys, "--max-iter", "3", "--hidden", "32", "--plot", str(png),
                         "--seed", "1")
    assert code == 0 and err == ""
    assert "1,797 grayscale images of 8x8 pixels" in out and "10 classes" in out
    assert "1,347 images to train on, 450 to test on" in out
    assert "64-32-10 (2,410 parameters)" in out
    assert "Timed: each model's fit() call alone" in out
    header = next(line for line in out.splitlines() if "plainnet" in line and "scikit-learn"
                  in line and line.startswith("  ") and "MLPClassifier" not in line)
    assert header.split() == ["plainnet", "scikit-learn", sklearn.__version__]
    accuracy = [float(v) for v in row(out, "test accuracy")]
    seconds = [float(v) for v in row(out, "fit time, s")]
    assert len(accuracy) == 2 and all(0.5 < a <= 1 for a in accuracy)  # 3 epochs already learn
    assert len(seconds) == 2 and all(s > 0 for s in seconds)
    assert row(out, "epochs run (n_iter_)") == ["3", "3"]
    assert out.count("max_iter reached") >= 3  # both columns and the note below
    ratio = re.search(r"scikit-learn / plainnet: ([\d.]+) for the whole fit", out)
    # the ratio of the times, which the table shows rounded to 0.01 s
    low, high = (seconds[1] - 0.005) / (seconds[0] + 0.005), (seconds[1] + 0.005) / max(
        seconds[0] - 0.005, 1e-9)
    assert ratio and low - 0.05 <= float(ratio.group(1)) <= high + 0.05, (ratio, seconds)
    assert f"figure: {png}" in out


@needs_sklearn
def test_default_settings_learn_the_digits(capsys, tmp_path, monkeypatch):
    # plainnet alone, with the command's defaults: early stopping ends it well
    # before 200 epochs, above 95 % on the test images (seeds 0-19 give 94.7-98.2 %)
    pytest.importorskip("matplotlib", reason="the default figure needs matplotlib")
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "--no-sklearn")
    assert code == 0 and err == ""
    accuracy = [float(v) for v in row(out, "test accuracy")]
    epochs = [int(v) for v in row(out, "epochs run (n_iter_)")]
    assert min(accuracy) > 0.95, out
    assert max(epochs) < 200 and row(out, "stopped by") == ["early", "stopping"]
    # the figure goes where the experiments' figures go
    figure = tmp_path / "plainnet-report" / "digits.png"
    from matplotlib.image import imread

    image = imread(figure)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert f"figure: {figure.relative_to(tmp_path)}" in out


@needs_sklearn
def test_no_plot_writes_nothing(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "--no-sklearn", "--max-iter", "1", "--no-plot")
    assert code == 0 and "figure" not in out
    assert list(tmp_path.iterdir()) == []
    assert row(out, "test accuracy") and len(row(out, "fit time, s")) == 1


@pytest.mark.parametrize("args, name, message", [
    (["--hidden", "0"], "--hidden", "expected an int >= 1, got 0"),
    (["--hidden", "64,"], "--hidden", "expected ints separated by commas, got '64,'"),
    (["--hidden", "wide"], "--hidden", "expected ints separated by commas, got 'wide'"),
    (["--max-iter", "0"], "--max-iter", "expected an int >= 1, got 0"),
    (["--max-iter", "2.5"], "--max-iter", "expected an int, got '2.5'"),
    (["--seed", "-1"], "--seed", "expected an int >= 0, got -1"),
    (["--seed", str(2**32)], "--seed", f"expected an int in [0, 2**32), got {2**32}"),
    (["--dtype", "float16"], "--dtype", "invalid choice: 'float16'"),
    (["--backend", "cuda"], "--backend", "invalid choice: 'cuda'"),
    (["--plot", "x.png", "--no-plot"], "--no-plot", "not allowed with argument --plot"),
    (["--plot", ""], "--plot", "expected a file name, got ''"),
    (["--epochs", "3"], None, "unrecognized arguments: --epochs 3"),
])
def test_bad_options_are_refused_before_anything_runs(capsys, args, name, message):
    with pytest.raises(SystemExit) as info:
        main(["digits", *args])
    out, err = capsys.readouterr()
    assert info.value.code == 2 and out == ""
    last = err.strip().splitlines()[-1]
    assert last.startswith("python -m plainnet")
    if name is not None:
        assert f"error: argument {name}: " in last
    assert message in last


def test_a_figure_format_matplotlib_cannot_write_is_refused(capsys):
    pytest.importorskip("matplotlib", reason="the formats are matplotlib's")
    with pytest.raises(SystemExit):
        main(["digits", "--plot", "curves.xyz"])
    err = capsys.readouterr().err
    assert "argument --plot: expected a file name ending in one of" in err and ".png" in err


@needs_sklearn
def test_a_figure_path_that_is_a_directory_fails_before_training(capsys, tmp_path):
    pytest.importorskip("matplotlib", reason="without it no figure is written")
    folder = tmp_path / "figure.png"
    folder.mkdir()
    code, out, err = run(capsys, "--plot", str(folder))
    assert code == 2 and out == ""
    assert err.startswith(f"error: cannot write the figure to {folder}: ")


def _python(code, timeout=120):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout)


def test_without_scikit_learn_the_command_says_what_to_install():
    r = _python("""
        import sys
        sys.modules['sklearn'] = None   # as if it were not installed
        from plainnet.__main__ import main
        print(sorted(m for m in sys.modules if m.split('.')[0] in ('scipy', 'matplotlib')))
        sys.exit(main(['digits', '--max-iter', '1']))
    """)
    assert r.returncode == 2
    assert r.stdout.strip() == "[]"   # the command line imports neither before it runs
    assert r.stderr.startswith("error: python -m plainnet digits needs scikit-learn")
    assert 'pip install "plainnet[sklearn]"' in r.stderr
    assert "Traceback" not in r.stderr


def test_without_scikit_learn_help_still_works():
    r = _python("""
        import sys
        sys.modules['sklearn'] = None
        from plainnet.__main__ import main
        main(['digits', '--help'])
    """)
    assert r.returncode == 0, r.stderr
    text = " ".join(r.stdout.split())   # argparse wraps the lines
    assert "--no-sklearn" in text and 'pip install "plainnet[sklearn]"' in text


@needs_sklearn
def test_without_matplotlib_the_figure_is_skipped_or_refused_when_asked_for(tmp_path):
    code = """
        import sys
        sys.modules['matplotlib'] = None   # as if it were not installed
        from plainnet.__main__ import main
        sys.exit(main(['digits', '--no-sklearn', '--max-iter', '1'{extra}]))
    """
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code.format(extra=""))],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "note: the figure is skipped" in r.stdout and "plainnet[plots]" in r.stdout
    assert list(tmp_path.iterdir()) == []
    r = subprocess.run([sys.executable, "-c",
                        textwrap.dedent(code.format(extra=", '--plot', 'c.png'"))],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert "error: argument --plot: drawing the figure needs matplotlib" in r.stderr


@needs_sklearn
def test_a_network_too_big_for_memory_is_an_error_not_a_traceback(capsys):
    code, out, err = run(capsys, "--hidden", str(10**11), "--no-plot")
    assert code == 2
    assert out.rstrip().endswith("training plainnet ...")   # the line is ended, then the error
    assert err.startswith("error: layers: ") and "bytes" in err
