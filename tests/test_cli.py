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
