"""The training view (/network) in headless Chromium against the live server and its network stream."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.e2e.conftest import ARTIFACTS

T = 15_000  # ms: upper bound of every wait (each is a condition, never a sleep)
HOOK = "window.__network"


def hook(page):
    return page.evaluate(f"() => JSON.parse(JSON.stringify({HOOK}))")


def wait(page, condition: str, arg=None, timeout: int = T):
    page.wait_for_function(
        f"(arg) => {{ const h = {HOOK}; return Boolean(h && ({condition})); }}", arg=arg, timeout=timeout
    )


def csv_file(name: str, text: str) -> dict:
    return {"name": name, "mimeType": "text/csv", "buffer": text.encode()}


def open_view(page, live_server, query: str = ""):
    page.goto(f"{live_server}/network{query}")
    wait(page, "h.codeKeras.length > 0 && h.previewRows > 0")


def test_play_trains_pause_and_step(page, live_server):
    open_view(page, live_server, "?speed=60&hp=" + quote(json.dumps({"lr": 0.003})))
    page.click("#play")
    wait(page, "h.iterations > 0 && h.iterationsPerEpoch === 10")  # 320 training rows / 32 = 10
    assert "/10 ━" in page.text_content("#progress")  # Keras 3's bar
    wait(page, "h.epochs >= 4 && h.curvePoints >= 8")
    state = hook(page)
    assert state["progress"].startswith("Epoch ")
    assert all(v is not None for v in state["valLoss"])
    assert "val loss" in state["curveTraces"]
    assert "val_loss:" in page.text_content("#history")
    assert state["trainLoss"][-1] < state["trainLoss"][0]
    assert state["accuracy"][-1] >= state["accuracy"][0]
    assert state["accuracy"][-1] > 0.9

    acks = state["stateAcks"]
    page.click("#play")  # pause
    wait(page, "h.stateAcks > arg && h.serverPaused === true && h.status === 'paused'", acks)
    before = hook(page)
    page.click("#step")
    wait(page, "h.stateAcks > arg", before["stateAcks"])
    after = hook(page)
    assert after["iterations"] == before["iterations"] + 1
    assert after["last"]["global_step"] == before["last"]["global_step"] + 1
    page.wait_for_function("(n) => window.__network.frames > n + 2", arg=after["frames"], timeout=T)
    assert hook(page)["iterations"] == after["iterations"]  # paused: nothing more arrives


def test_learning_rate_change_mid_run(page, live_server):
    open_view(page, live_server, "?speed=60&epochs=500")
    page.click("#play")
    wait(page, "h.iterations > 5")
    assert set(hook(page)["lrs"]) == {0.01}
    page.fill("#lr", "0.003")
    page.dispatch_event("#lr", "change")
    wait(page, "h.lrs.length && h.lrs[h.lrs.length - 1] === 0.003")
    lrs = hook(page)["lrs"]
    assert 0.01 in lrs and lrs[-1] == 0.003
    page.click("#reset")


def test_dropout_greys_neurons_live(page, live_server):
    open_view(page, live_server, "?speed=60&drop=0.5&epochs=500")
    assert hook(page)["dropped"] == 0
    page.click("#play")
    wait(page, "h.iterations > 0 && h.dropped > 0")
    first = hook(page)["droppedKey"]
    wait(page, "h.dropped > 0 && h.droppedKey !== arg", first)
    assert page.locator("#diagram circle.neuron.dropped").count() > 0
    page.click("#reset")


def test_early_stopping_marks_best_epoch(page, live_server):
    es = {"monitor": "val_loss", "patience": 3, "min_delta": 0.05, "restore_best_weights": True}
    open_view(page, live_server, "?speed=max&epochs=300&es=" + quote(json.dumps(es)))
    assert page.is_checked("#es-on")
    page.click("#play")
    wait(page, "h.end === 'early_stop' && h.stopEpoch !== null && h.bestEpoch !== null && h.confusion")
    state = hook(page)
    assert state["bestEpoch"] <= state["stopEpoch"] < 300
    shapes = page.evaluate("() => document.querySelector('#curves').layout.shapes.length")
    assert shapes == 2
    assert f"best epoch {state['bestEpoch']}" in page.text_content("#curves")
    assert page.locator("table.confusion").count() == 1
    assert "Early stopping" in page.text_content("#status")


def test_code_panel_follows_config(page, live_server):
    open_view(page, live_server, "?bs=16&epochs=42")
    wait(page, "h.codeKeras.includes('model.fit(')")
    state = hook(page)
    fit = next(line for line in state["codeKeras"].splitlines() if "model.fit(" in line)
    assert "batch_size=16" in fit and "epochs=42" in fit
    assert "torch.optim." in state["codePytorch"]
    assert "model.fit(" in page.text_content("#code-keras")
    page.fill("#batch-size", "8")
    page.dispatch_event("#batch-size", "change")
    wait(page, "h.codeKeras.includes('batch_size=8,')")
    page.click("#tab-pytorch")
    assert page.is_visible("#code-pytorch") and not page.is_visible("#code-keras")
    assert "torch.optim." in page.text_content("#code-pytorch")


def test_bad_csv_error_inline(page, live_server):
    open_view(page, live_server)
    page.select_option("#dataset", "upload")
    assert page.is_visible("#csv-file")
    bad = "age,affordability,have_insurance\n22,1,0\n25,zero,0\n47,1,1\n52,0,0\n"
    page.set_input_files(
        "#csv-file", files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": bad.encode()}]
    )
    page.wait_for_selector("#csv-error:not([hidden])", timeout=T)
    text = page.text_content("#csv-error")
    assert "zero" in text and "not a number" in text
    assert page.is_disabled("#play")
    good = "age,affordability,have_insurance\n" + "".join(
        f"{20 + i},{i % 2},{int(i > 10)}\n" for i in range(24)
    )
    page.set_input_files(
        "#csv-file", files=[{"name": "good.csv", "mimeType": "text/csv", "buffer": good.encode()}]
    )
    wait(page, "h.csvOk === true")
    assert page.is_hidden("#csv-error")
    assert not page.is_disabled("#play")


def test_shared_url_reproduces_config(page, live_server, browser):
    open_view(page, live_server)
    page.fill("#batch-size", "16")
    page.dispatch_event("#batch-size", "change")
    page.fill("#dropout", "0.25")
    page.dispatch_event("#dropout", "change")
    page.select_option("#dataset", "circle")
    page.click("#add-layer")
    page.select_option("#act-2", "tanh")
    page.select_option("#optimizer", "sgd")
    page.click("#copy-link")
    url = page.input_value("#share-url")
    config = hook(page)["config"]
    assert config["batch_size"] == 16 and config["dropout"] == 0.25 and config["hidden"] == [8, 8, 8]
    other = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    other.goto(url)
    other.wait_for_function(f"() => {HOOK} && {HOOK}.previewRows > 0", timeout=T)
    assert hook(other)["config"] == config
    assert other.input_value("#batch-size") == "16"
    assert other.input_value("#dataset") == "circle"
    assert other.input_value("#act-2") == "tanh"
    other.context.close()


@pytest.mark.parametrize("width", [375])
def test_phone_no_horizontal_scroll(browser, live_server, width):
    context = browser.new_context(viewport={"width": width, "height": 800}, device_scale_factor=1)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server}/network?speed=max&epochs=20&drop=0.3")
    wait(page, "h.codeKeras.length > 0 && h.previewRows > 0")
    page.click("#play")
    wait(page, "h.end === 'done' && h.confusion")
    page.wait_for_function("(n) => window.__network.frames > n + 2", arg=hook(page)["frames"], timeout=T)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "network_phone.png"), full_page=True)
    context.close()
    assert not errors
