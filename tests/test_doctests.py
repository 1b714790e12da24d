"""The docstrings' Examples sections, run as doctests.

Every module of the installed plainnet package is searched for examples
(``python -m pytest --doctest-modules`` would do the same on a source tree;
this file runs them on whatever plainnet is imported, installed or editable).
An example that needs an optional library skips, naming it, when that
library is missing; CI installs them all.
"""

import doctest
import importlib
import importlib.util
import pkgutil
import re

import pytest

import plainnet

# The optional libraries an example may use, by the name that shows it does.
NEEDS = {
    "torch": ("torch", re.compile(r"\bimport torch\b|\bto_torch\(|\bfrom_torch\(")),
    "onnx": ("onnx", re.compile(r"\bto_onnx\(|\bimport onnx")),
    "sklearn": ("scikit-learn", re.compile(r"\bsklearn\b")),
    "scipy": ("scipy", re.compile(r"\bfit_lbfgs\(")),
}
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules():
    names = ["plainnet"]
    for info in pkgutil.walk_packages(plainnet.__path__, "plainnet."):
        if info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return names


def _examples():
    finder = doctest.DocTestFinder(exclude_empty=True)
    found = []
    for name in _modules():
        if name == "plainnet.sklearn" and importlib.util.find_spec("sklearn") is None:
            found.append(pytest.param(None, id=name, marks=pytest.mark.skip(
                reason="plainnet.sklearn needs scikit-learn")))
            continue
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a module of an extra (the playground's server)
            if exc.name is None or exc.name.split(".")[0] in ("plainnet",):
                raise
            found.append(pytest.param(None, id=name, marks=pytest.mark.skip(
                reason=f"{name} needs {exc.name} (an optional extra)")))
            continue
        for test in finder.find(module, name):
            if test.examples and test.name.startswith(name):
                found.append(pytest.param(test, id=test.name))
    return found


EXAMPLES = _examples()


def test_the_public_api_has_examples():
    names = {p.id for p in EXAMPLES}
    for required in ["plainnet.network.Network", "plainnet.network.Network.fit",
                     "plainnet.optim.Adam", "plainnet.sklearn.MLPRegressor",
                     "plainnet.datasets.xor", "plainnet._diagnostics.gradcheck"]:
        assert required in names or "plainnet.sklearn" in names, required


@pytest.mark.parametrize("test", EXAMPLES)
def test_docstring_examples(test, tmp_path, monkeypatch):
    source = "".join(example.source for example in test.examples)
    for module, (extra, pattern) in NEEDS.items():
        if pattern.search(source) and importlib.util.find_spec(module) is None:
            pytest.skip(f"this example needs {extra}")
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report = []
    runner.run(test, out=report.append)
    failed, attempted = runner.summarize(verbose=False)
    assert attempted > 0
    assert failed == 0, "".join(report)
