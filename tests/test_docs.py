"""The documentation's own checks: the README's size and links, an API page for
every public name, each estimator's full parameter list, and the link checker
that CI runs on the built site (docs/check_links.py)."""

import importlib
import importlib.util
import inspect
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

import plainnet as pn

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"

# The checks read the checkout's files: where the tests run from a copy beside
# an installed wheel (.ci/wheel-test, .ci/sanitize), there is nothing to check.
pytestmark = pytest.mark.skipif(not (DOCS / "conf.py").exists() or not README.exists(),
                                reason="the documentation sources are not beside these tests")


def _markdown_links(text):
    return re.findall(r"\]\(([^)\s]+)\)", text)


def test_the_readme_is_one_page_that_links_into_the_site():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200
    links = _markdown_links("\n".join(lines))
    assert sum(link.startswith("docs/") for link in links) >= 20
    for link in links:
        if "://" in link or link.startswith("#"):
            continue
        target = ROOT / link.split("#")[0]
        assert target.exists(), f"README links to {link}, which does not exist"


def test_the_readmes_commands_are_those_ci_runs():
    readme = README.read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    extras = re.search(r'pip install --quiet --no-build-isolation "(\.\[test[^"]*\])"', ci).group(1)
    assert f'pip install --no-build-isolation "{extras}" && python -m pytest' in readme
    assert "pip install --no-build-isolation . && python -m plainnet xor" in readme
    assert "python -m sphinx -W --keep-going -b html docs docs/_build/html" in readme


# sphinx-gallery writes these folders at build time from their sources (conf.py's
# examples_dirs and gallery_dirs): a link into one needs its source.
GENERATED = {DOCS / "tutorial": DOCS / "examples" / "tutorial",
             DOCS / "auto_examples": DOCS / "examples" / "gallery"}


def _generated_from(target):
    for built, source in GENERATED.items():
        if target == built or built in target.parents:
            return source
    return None


def test_every_markdown_page_links_to_pages_that_exist():
    for page in DOCS.rglob("*.md"):
        if {"_build", "tutorial", "auto_examples"} & set(page.relative_to(DOCS).parts):
            continue
        for link in _markdown_links(page.read_text(encoding="utf-8")):
            if "://" in link or link.startswith("#") or link.startswith("mailto:"):
                continue
            target = (page.parent / link.split("#")[0]).resolve()
            source = _generated_from(target)
            if source is not None:  # written by the build; its source must be there
                assert source.is_dir(), f"{page.relative_to(ROOT)} links to {link}"
                continue
            assert target.exists(), f"{page.relative_to(ROOT)} links to {link}"


def _api_text():
    return "\n".join(p.read_text(encoding="utf-8") for p in (DOCS / "api").glob("*.rst"))


def _public_names():
    names = {f"plainnet.{n}" for n in pn.__all__ if n not in ("__version__",)}
    modules = ["plainnet.optim", "plainnet.datasets", "plainnet.experiments"]
    if importlib.util.find_spec("sklearn") is not None:
        modules.append("plainnet.sklearn")
    for name in modules:
        module = importlib.import_module(name)
        public = getattr(module, "__all__", None) or [
            n for n, v in vars(module).items()
            if not n.startswith("_") and inspect.isfunction(v) and v.__module__ == name]
        names |= {f"{name}.{n}" for n in public}
    from plainnet import reference
    names |= {f"plainnet.reference.{n}" for n, v in vars(reference).items()
              if not n.startswith("_") and (inspect.isfunction(v) or inspect.isclass(v))
              and v.__module__ in ("plainnet.reference", "plainnet._layout")
              and n not in ("unpack",)}
    return names


def test_every_public_name_has_a_reference_entry():
    api = _api_text()
    listed = set()
    for page in (DOCS / "api").glob("*.rst"):
        text = page.read_text(encoding="utf-8")
        module = re.search(r"^\.\. (?:currentmodule|py:module):: (\S+)", text, re.M)
        entries = re.findall(r"^   ([A-Za-z_]\w*)$", text, re.M)
        entries += re.findall(r"^\.\. py:(?:data|function):: (\w+)", text, re.M)
        if module:
            listed |= {f"{module.group(1)}.{e}" for e in entries}
    missing = sorted(n for n in _public_names()
                     if n not in listed and n.rsplit(".", 1)[-1] not in ("datasets", "optim",
                                                                          "reference",
                                                                          "experiments"))
    assert not missing, f"no API entry for {missing}"
    assert "plainnet._core" in api  # the core's page says what of it is public


@pytest.mark.skipif(importlib.util.find_spec("sklearn") is None,
                    reason="plainnet.sklearn needs scikit-learn")
@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_each_estimators_help_lists_every_one_of_its_parameters(name):
    from plainnet import sklearn as psk

    cls = getattr(psk, name)
    doc = inspect.getdoc(cls)
    assert "see there" not in doc
    section = doc.split("Parameters\n----------\n", 1)[1].split("\nAttributes\n", 1)[0]
    described = set()
    for line in section.splitlines():
        if line and not line.startswith(" ") and " : " in line:
            described |= {n.strip() for n in line.split(" : ")[0].split(",")}
    expected = set(inspect.signature(cls.__init__).parameters) - {"self"}
    assert described == expected


def _site(tmp_path, pages):
    for name, body in pages.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"<html><body>{body}</body></html>", encoding="utf-8")
    return tmp_path


def test_the_link_checker_finds_broken_links_and_passes_good_ones(tmp_path):
    check = runpy.run_path(str(DOCS / "check_links.py"))
    good = _site(tmp_path / "good", {
        "index.html": '<a href="guide/page.html#part">p</a> <a href="https://example.org/x">x</a>'
                      '<img src="img/a.png"> <a href="#top" id="top">t</a>',
        "guide/page.html": '<h2 id="part">Part</h2><a href="../index.html">home</a>'
                           '<a href="../">dir</a>',
        "img/a.png": ""})
    assert check["broken_links"](good) == []
    bad = _site(tmp_path / "bad", {
        "index.html": '<a href="guide/missing.html">m</a> <a href="guide/page.html#nothere">n</a>'
                      '<img src="img/none.png">',
        "guide/page.html": '<h2 id="part">Part</h2>'})
    problems = check["broken_links"](bad)
    assert len(problems) == 3
    assert any("missing.html" in p for p in problems)
    assert any("'nothere'" in p for p in problems)
    assert any("none.png" in p for p in problems)
    out = subprocess.run([sys.executable, str(DOCS / "check_links.py"), str(bad)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "3 broken internal links" in out.stdout
