"""The playground's page in a real Chromium, driven by Playwright, against the real server.

The server is ``python -m plainnet playground --no-browser`` on 127.0.0.1 and
a free port, started here and stopped at the end. Playwright's own browser
download is not used: the browser is the system's ``chromium`` (Debian:
``apt-get install chromium``). With PLAINNET_PLAYGROUND_SCREENSHOT set to a
path, the XOR test saves its screenshot there too (docs/playground.png comes
from it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

import plainnet as pn

pytest.importorskip("starlette", reason="the playground needs plainnet[playground]")
pytest.importorskip("uvicorn", reason="the playground needs plainnet[playground]")
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="the browser tests need Playwright (plainnet[playground-test])")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("the browser tests need Chromium on PATH (Debian: apt-get install chromium)",
                allow_module_level=True)

TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    proc = subprocess.Popen([sys.executable, "-m", "plainnet", "playground", "--no-browser"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("plainnet playground: http://127.0.0.1:"), line
        yield line.split(": ", 1)[1].strip()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "Traceback" not in err, err


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, url: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.goto(url)
    pg.wait_for_function("document.querySelector('[data-testid=train-loss]').textContent !== '-'")
    yield pg
    context.close()
    assert errors == [], errors  # no script errors on the page


def text(page: Any, testid: str) -> str:
    return str(page.text_content(f"[data-testid={testid}]"))


def wait_epoch_at_least(page: Any, epochs: int) -> None:
    page.wait_for_function(
        f"Number(document.querySelector('[data-testid=epoch]').textContent) >= {epochs}")


def colours(page: Any) -> dict[str, float]:
    """Shares of the boundary canvas's pixels that are bluish and orangish, and their spread."""
    result: dict[str, float] = page.evaluate("""() => {
        const c = document.querySelector('[data-testid=boundary]');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let blue = 0, orange = 0, sum = 0, sq = 0;
        const n = d.length / 4;
        for (let i = 0; i < d.length; i += 4) {
            if (d[i + 2] > d[i] + 60) blue++; else if (d[i] > d[i + 2] + 60) orange++;
            const g = d[i] - d[i + 2]; sum += g; sq += g * g;
        }
        return {blue: blue / n, orange: orange / n, std: Math.sqrt(sq / n - (sum / n) ** 2)};
    }""")
    return result


def test_train_xor_to_a_small_test_loss(page: Any, tmp_path: Path) -> None:
    assert page.input_value("[data-testid=dataset]") == "xor"
    assert text(page, "epoch") == "0"
    before = colours(page)
    # play pauses by itself once the test loss is below the stop loss
    page.fill("[data-testid=stop-loss]", "0.05")
    page.dispatch_event("[data-testid=stop-loss]", "change")
    page.wait_for_function("decodeURIComponent(location.hash).includes('\"stop_loss\":0.05')")
    page.click("[data-testid=play]")
    page.wait_for_function("document.body.classList.contains('playing')")
    page.wait_for_function("!document.body.classList.contains('playing')")
    assert float(text(page, "test-loss")) < 0.05
    assert int(text(page, "epoch")) > 0
    after = colours(page)
    # the output now separates the classes: both colours fill a good part of the plane
    assert after["blue"] > 0.08 and after["orange"] > 0.08, (before, after)
    assert after["std"] > 3 * before["std"], (before, after)
    assert text(page, "error") == ""
    shot = tmp_path / "playground.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    target = os.environ.get("PLAINNET_PLAYGROUND_SCREENSHOT")
    if target:
        shutil.copyfile(shot, target)


def test_add_a_layer_change_an_activation_and_see_one_step(page: Any) -> None:
    page.click("[data-testid=add-layer]")
    page.wait_for_selector("[data-testid=activation-1]")
    page.select_option("[data-testid=activation-1]", "relu")
    # the server took the setup: it comes back in the data message, and goes into the URL
    page.wait_for_function("decodeURIComponent(location.hash).includes('\"relu\"')")
    assert page.input_value("[data-testid=activation-0]") == "sigmoid"
    assert page.input_value("[data-testid=activation-1]") == "relu"
    page.click("[data-testid=remove-layer]")
    page.wait_for_function("!document.querySelector('[data-testid=activation-1]')")
    page.click("[data-testid=add-layer]")
    page.select_option("[data-testid=activation-1]", "tanh")
    page.wait_for_function("decodeURIComponent(location.hash).includes('\"tanh\"')")
    # keyboard: focus "step" and press Enter
    page.focus("[data-testid=step]")
    page.keyboard.press("Enter")
    wait_epoch_at_least(page, 1)
    # pick XOR's point (0, 1), training point 1, by clicking it (the plane spans -0.1 to 1.1)
    box = page.locator("[data-testid=boundary]").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.1 / 1.2, box["y"] + box["height"] * 0.1 / 1.2)
    page.wait_for_function("document.querySelector('[data-testid=one-step-output]')"
                           ".textContent.includes('training point 1')")
    assert page.input_value("[data-testid=numbers-point]") == "1"
    page.fill("[data-testid=numbers-point]", "2")
    page.click("[data-testid=one-step]")
    page.wait_for_function("document.querySelector('[data-testid=one-step-output]')"
                           ".textContent.includes('training point 2')")
    out = text(page, "one-step-output")
    assert "Layer 3 (sigmoid)" in out and "Layer 2 (tanh)" in out
    assert "def dense_forward" in out and "def dense_backward" in out
    assert "dE/dW" in out and "update of W" in out
    assert float(text(page, "one-step-loss")) >= 0
    assert text(page, "error") == ""


def test_copy_as_python_gives_the_page_weights(page: Any, tmp_path: Path) -> None:
    page.select_option("[data-testid=dataset]", "moons")
    page.wait_for_function("decodeURIComponent(location.hash).includes('moons')")
    page.select_option("[data-testid=optimizer]", "adam")
    page.fill("[data-testid=lr]", "0.03")
    page.dispatch_event("[data-testid=lr]", "change")
    page.wait_for_function("decodeURIComponent(location.hash).includes('0.03')")
    page.select_option("[data-testid=backend]", "numpy")
    page.click("[data-testid=play]")
    wait_epoch_at_least(page, 30)
    page.click("[data-testid=pause]")
    page.wait_for_function("!document.body.classList.contains('playing')")
    assert "numpy" in text(page, "speeds")
    with page.expect_download() as info:
        page.click("[data-testid=download]")
    saved = tmp_path / "page.npz"
    info.value.save_as(saved)
    page.click("[data-testid=copy-python]")
    page.wait_for_function(
        "document.querySelector('[data-testid=python-script]').textContent.includes('net.fit')")
    script = text(page, "python-script")
    epochs = int(text(page, "epoch"))
    assert f"epochs={epochs}," in script and "backend='numpy'" in script
    (tmp_path / "run.py").write_text(script)
    subprocess.run([sys.executable, str(tmp_path / "run.py"), str(tmp_path / "script.npz")],
                   check=True, capture_output=True, timeout=120)
    page_net = pn.Network.load(saved)
    script_net = pn.Network.load(tmp_path / "script.npz")
    assert page_net.layers == script_net.layers == [2, 4, 1]
    for a, b in zip(page_net.weights + page_net.biases, script_net.weights + script_net.biases):
        assert np.array_equal(a, b)


def test_errors_show_and_the_url_holds_the_setup(page: Any, browser: Any) -> None:
    page.fill("[data-testid=lr]", "-1")
    page.dispatch_event("[data-testid=lr]", "change")
    page.wait_for_function("document.querySelector('[data-testid=error]').textContent.includes('lr')")
    page.fill("[data-testid=lr]", "0.5")
    page.select_option("[data-testid=dataset]", "spiral")
    page.wait_for_function("decodeURIComponent(location.hash).includes('spiral')")
    page.select_option("#classes", "3")
    page.wait_for_function("decodeURIComponent(location.hash).includes('cross_entropy')")
    assert text(page, "error") == ""
    shared = page.url
    other = browser.new_page()
    errors: list[str] = []
    other.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        other.goto(shared)  # a new page: the XOR setup first, then the link's
        other.wait_for_function("document.querySelector('[data-testid=dataset]').value === 'spiral'")
        other.wait_for_function("document.querySelector('[data-testid=train-loss]').textContent "
                                "!== '-'")
        assert other.input_value("[data-testid=lr]") == "0.5"
        assert other.input_value("#classes") == "3"
        assert other.input_value("[data-testid=loss]") == "cross_entropy"
    finally:
        other.close()
    assert errors == []
