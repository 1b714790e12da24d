"""What an installed plainnet says about itself: version, command line, type stubs."""

import ast
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest

import plainnet as pn
from plainnet import _core

PACKAGE_DIR = Path(pn.__file__).parent

def test_version_matches_the_package_metadata():
    assert pn.__version__ == importlib.metadata.version("plainnet")
    assert re.fullmatch(r"\d+\.\d+\.\d+([.-]?\w+)*", pn.__version__)


def test_python_m_plainnet_version():
    out = subprocess.run([sys.executable, "-m", "plainnet", "--version"], capture_output=True,
                         text=True, timeout=60, check=True)
    assert out.stdout.strip() == f"plainnet {pn.__version__}"


def test_package_is_typed():
    assert (PACKAGE_DIR / "py.typed").is_file()
    assert (PACKAGE_DIR / "_core.pyi").is_file()


def _stub():
    """{name: parameter names or None for a constant} from _core.pyi."""
    tree = ast.parse((PACKAGE_DIR / "_core.pyi").read_text(encoding="utf-8"))
    names = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            names[node.name] = [a.arg for a in node.args.args]
        elif isinstance(node, ast.AnnAssign):
            names[node.target.id] = None
    return names


def _core_parameters(fn):
    """Parameter names from the signature pybind11 writes on the first docstring line."""
    first = fn.__doc__.splitlines()[0]
    match = re.match(rf"{fn.__name__}\((.*)\) ->", first)
    assert match, first
    return re.findall(r"(?:^|, )(\w+):", match.group(1))


def test_stub_lists_exactly_the_core_module():
    stub = _stub()
    public = {n for n in dir(_core) if not n.startswith("_")}
    assert public - set(stub) == set(), "in plainnet._core but not in _core.pyi"
    assert set(stub) - public == set(), "in _core.pyi but not in plainnet._core"
    for name, params in stub.items():
        if params is None:
            assert not callable(getattr(_core, name)), name
        else:
            assert _core_parameters(getattr(_core, name)) == params, name


def test_stub_constants_have_the_stubbed_types():
    assert isinstance(_core.ACTIVATIONS, tuple) and all(isinstance(a, str)
                                                       for a in _core.ACTIVATIONS)
    assert isinstance(_core.LEAKY_SLOPE, float)


def test_build_info_keys():
    info = _core.build_info()
    assert {"compiler", "flags", "variants", "variant", "num_threads"} <= set(info)
    assert info["variant"] in info["variants"]


def test_import_plainnet_imports_no_optional_dependency():
    # tqdm, pandas, matplotlib, ... are imported where they are used, if at all
    optional = ["tqdm", "pandas", "matplotlib", "torch", "sklearn"]
    code = ("import sys, plainnet, plainnet.experiments, plainnet.experiments.report; "
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {optional!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert out.strip() == "[]"


def test_the_playground_static_files_are_in_the_sdist_patterns():
    # The sdist keeps only what pyproject's sdist.include lists: the page's files must match
    # (the wheel takes the whole package directory).
    import fnmatch

    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11+")
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    if not pyproject.exists():
        pytest.skip("the tests run from a copy, away from the checkout's pyproject.toml")
    patterns = tomllib.loads(pyproject.read_text())["tool"]["scikit-build"]["sdist"]["include"]
    static = PACKAGE_DIR / "playground" / "static"
    files = sorted(p.name for p in static.iterdir() if p.is_file())
    assert {"index.html", "app.js", "draw.js", "style.css"} <= set(files)
    for name in files:
        path = f"/python/plainnet/playground/static/{name}"
        assert any(fnmatch.fnmatch(path, pat) for pat in patterns), (path, patterns)
