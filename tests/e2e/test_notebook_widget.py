"""The notebook widgets in a real JupyterLab: docs/notebook.ipynb opened in headless Chromium, its cells run,
the surface and network widgets drawn by the app's figures and animated by the kernel after a click on their
own Play buttons.

Skips when JupyterLab or anywidget is missing (the ``notebook`` extra), except in CI (env ``CI`` or
``GDP_REQUIRE_NOTEBOOK`` set; .ci/run sets the latter).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ARTIFACTS, free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "docs" / "notebook.ipynb"


def _require_notebook_extra() -> None:
    missing = [name for name in ("jupyterlab", "anywidget") if importlib.util.find_spec(name) is None]
    if not missing:
        return
    message = f"{', '.join(missing)} not installed (pip install -e '.[notebook]')"
    if os.environ.get("CI") or os.environ.get("GDP_REQUIRE_NOTEBOOK"):
        pytest.fail(f"{message}; CI (CI or GDP_REQUIRE_NOTEBOOK set) must run the notebook test")
    pytest.skip(message)


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory) -> Iterator[str]:
    """JupyterLab on 127.0.0.1 with no token, a temporary root holding the example notebook, and kernels
    that import this tree's ``app`` (PYTHONPATH); its own config, data and runtime dirs, so nothing of the
    machine's Jupyter setup leaks in."""
    _require_notebook_extra()
    root = tmp_path_factory.mktemp("lab")
    shutil.copy(NOTEBOOK, root / "notebook.ipynb")
    home = tmp_path_factory.mktemp("jupyter-home")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "IPYTHONDIR": str(home / "ipython"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
    }
    # start the notebook's kernel without asking which (the "Select Kernel" dialog), and keep every cell in
    # the page (no windowing: JupyterLab would detach a widget scrolled out of view)
    tracker = home / "settings" / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text('{"autoStartDefaultKernel": true, "windowingMode": "none"}')
    port = free_port()
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        f"--ServerApp.root_dir={root}", "--IdentityProvider.token=", "--ServerApp.password=",
        "--ServerApp.disable_check_xsrf=True", "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
        "--allow-root",
    ]  # fmt: skip
    log = (home / "server.log").open("w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if server.poll() is not None:
                pytest.fail(
                    f"JupyterLab exited with {server.returncode}: {(home / 'server.log').read_text()}"
                )
            try:
                if httpx.get(f"{url}/api/status", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer within 30 s: {(home / 'server.log').read_text()}")
            time.sleep(0.2)  # polling a starting server: the only signal it gives is answering
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_widget_renders_and_animates_in_jupyterlab(browser, jupyterlab: str) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{jupyterlab}/lab/tree/notebook.ipynb", timeout=30_000)
        page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=30_000)
        # the kernel connected and idle (the status bar says so); a cell run before that is dropped
        page.wait_for_function(
            "() => /\\| Idle/.test(document.querySelector('#jp-main-statusbar')?.textContent ?? '')",
            timeout=30_000,
        )
        surface = page.locator(".gdp-widget[data-view='surface']")
        network = page.locator(".gdp-widget[data-view='network']")
        editors = page.locator(".jp-CodeCell .cm-content")
        for editor, widget in ((editors.first, surface), (editors.last, network)):  # run each widget's cell
            editor.scroll_into_view_if_needed()
            editor.click()
            page.keyboard.press("Shift+Enter")
            widget.wait_for(state="attached", timeout=30_000)
        # the app's figures: a filled contour in the base plot; the diagram's neurons; a box per run
        page.wait_for_selector(".gdp-widget .plot-base .contour", state="attached", timeout=30_000)
        page.wait_for_selector(".gdp-widget .net-svg circle.neuron", state="attached", timeout=30_000)
        assert surface.locator("input[data-run]").count() == 2
        assert network.locator("circle.neuron").count() == 2 + 8 + 8 + 1

        for widget in (surface, network):
            widget.scroll_into_view_if_needed()
            widget.locator("button.gdp-play").click()
        points = "Number(document.querySelector('.gdp-widget[data-view=surface]').dataset.points)"
        epochs = "Number(document.querySelector('.gdp-widget[data-view=network]').dataset.epochs)"
        page.wait_for_function(f"() => {points} > 20 && {epochs} >= 2", timeout=20_000)
        first_points, first_epochs = page.evaluate(f"[{points}, {epochs}]")
        page.wait_for_function(
            f"() => {points} > {first_points + 20} && {epochs} > {first_epochs}", timeout=20_000
        )
        assert surface.locator(".loss .scatterlayer .trace").count() == 2  # a loss line per run
        assert surface.get_attribute("data-playing") == "true"
        assert network.locator(".gdp-decision .heatmaplayer, .gdp-decision .contourlayer").count() >= 1
        ARTIFACTS.mkdir(exist_ok=True)
        surface.scroll_into_view_if_needed()
        surface.screenshot(path=str(ARTIFACTS / "notebook_widget.png"))
        network.screenshot(path=str(ARTIFACTS / "notebook_widget_network.png"))
        surface.locator("button.gdp-play").click()  # pause again: the kernel stops stepping
        page.wait_for_function("() => document.querySelector('.gdp-widget').dataset.playing === 'false'")
    finally:
        print("cell outputs:", page.locator(".jp-OutputArea-output").all_inner_texts())  # shown on failure
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "notebook_widget_page.png"), full_page=True)
        context.close()
    assert not errors, f"JavaScript errors in JupyterLab: {errors}"
