"""The xor command: what it prints, and how it refuses bad arguments."""

import pytest

from plainnet.__main__ import main


def run_xor(capsys, *args):
    code = main(["xor", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_zero_epochs_reports_the_untrained_network(capsys):
    code, out, err = run_xor(capsys, "--epochs", "0")
    assert code == 0 and err == ""
    assert "nan" not in out.lower()
    assert "no iterations run" in out
    assert "per iteration" not in out
    # the loss of the untrained weights, printed before and after
    assert out.count("loss (MSE): 0.255675") == 2
    assert "2 of 4 correct" in out


def test_final_loss_is_the_loss_of_the_final_weights(capsys):
    # one update moves the loss from 0.255675; the printed final loss is the one
    # the updated weights give, not the loss before the update
    code, out, _ = run_xor(capsys, "--epochs", "1", "--log-every", "0")
    assert code == 0
    assert "Training: 1 iteration of" in out
    assert out.count("loss (MSE): 0.255675") == 1
    assert "loss (MSE): 0.253124" in out


@pytest.mark.parametrize("args, name, message", [
    (["--lr", "-1"], "--lr", "expected a finite number > 0, got -1.0"),
    (["--lr", "0"], "--lr", "expected a finite number > 0, got 0.0"),
    (["--lr", "nan"], "--lr", "expected a finite number > 0, got nan"),
    (["--lr", "inf"], "--lr", "expected a finite number > 0, got inf"),
    (["--lr", "fast"], "--lr", "expected a number, got 'fast'"),
    (["--lr", "1e39", "--dtype", "float32"], "--lr", "for a float32 network, got 1e+39"),
    (["--lr", "1e-50", "--dtype", "float32"], "--lr", "for a float32 network, got 1e-50"),
    (["--epochs", "-1"], "--epochs", "expected an int >= 0, got -1"),
    (["--epochs", str(2**62 + 1)], "--epochs", f"{2**62 + 1} epochs of 1 iterations each is more than 2**62 iterations"),
    (["--epochs", "1.5"], "--epochs", "got '1.5'"),
    (["--hidden", "0"], "--hidden", "expected an int >= 1, got 0"),
    (["--log-every", "-1"], "--log-every", "expected an int >= 0, got -1"),
    (["--seed", "-1"], "--seed", "expected an int >= 0, got -1"),
    (["--seed", str(2**32)], "--seed", f"expected an int in [0, 2**32), got {2**32}"),
])
def test_bad_arguments_are_refused_before_anything_is_printed(capsys, args, name, message):
    with pytest.raises(SystemExit) as info:
        main(["xor", *args])
    out, err = capsys.readouterr()
    assert info.value.code == 2
    assert out == ""
    last = err.strip().splitlines()[-1]
    assert last.startswith("python -m plainnet xor: error: ")
    assert f"error: argument {name}: " in last and message in last


def test_arguments_at_their_limits_are_accepted(capsys):
    code, out, err = run_xor(capsys, "--epochs", "0", "--seed", str(2**32 - 1), "--hidden", "1",
                             "--lr", "1e-45", "--dtype", "float32", "--log-every", "0")
    assert code == 0 and err == ""
    assert "no iterations run" in out


def test_a_network_too_big_for_memory_is_an_error_not_a_traceback(capsys):
    code, out, err = run_xor(capsys, "--hidden", str(10**12))
    assert code == 2 and out == ""
    assert err.startswith("error: ") and "bytes" in err
