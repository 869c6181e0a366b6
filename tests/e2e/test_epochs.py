"""The epoch / batch / iteration view (/epochs): Keras arithmetic on insurance data; batch sizes 1, 32, n."""

from __future__ import annotations

from tests.e2e.conftest import ARTIFACTS

T = 15_000
HOOK = "window.__epochs"


def hook(page):
    return page.evaluate(f"() => JSON.parse(JSON.stringify({HOOK}))")


def wait(page, condition: str, arg=None, timeout: int = T):
    page.wait_for_function(
        f"(arg) => {{ const h = {HOOK}; return Boolean(h && ({condition})); }}", arg=arg, timeout=timeout
    )


def test_insurance_700_batch_32_is_22_iterations(page, live_server):
    page.goto(f"{live_server}/epochs")
    wait(page, "h.nTrain === 700 && h.arith.length > 0")
    arith = page.text_content("#arith")
    assert "700 training examples / batch size 32 = 21.875 → 22 iterations per epoch" in arith
    assert "last one of 28" in arith
    page.click("#step")
    wait(page, "h.iterations === 1 && h.highlighted === 32")
    assert page.text_content("#count-iteration") == "1 / 22"
    assert page.text_content("#count-epoch") == "1 / 300"
    assert page.text_content("#progress").startswith("Epoch 1/300\n 1/22 ━")
    for i in range(2, 23):
        page.click("#step")
        wait(page, "h.iterations === arg && h.iteration === arg", i)
    wait(page, "h.highlighted === 28 && h.usedThisEpoch === 700")
    state = hook(page)
    assert state["batchSize"] == 28 and state["iteration"] == 22 and state["epoch"] == 1
    assert page.text_content("#count-iteration") == "22 / 22"
    page.click("#step")  # first iteration of epoch 2: a fresh shuffle, one batch used
    wait(page, "h.epoch === 2 && h.iteration === 1 && h.highlighted === 32 && h.usedThisEpoch === 32")


def test_batch_size_comparison_draws_three_curves(page, live_server):
    page.goto(f"{live_server}/epochs")
    wait(page, "h.compareDone && h.compareCurves === 3", timeout=20_000)
    state = hook(page)
    assert state["compareIpe"] == [700, 22, 1]
    assert state["comparePoints"] == [3500, 110, 5]
    caps = [page.text_content(f"#cap-{k}") for k in range(3)]
    assert "700 iterations per epoch" in caps[0]
    assert "22 iterations per epoch" in caps[1]
    assert "1 iteration per epoch" in caps[2]
    assert "noisy" in page.text_content("#compare-note")


def test_other_dataset_and_batch_size(page, live_server):
    page.goto(f"{live_server}/epochs?ds=two_gaussians&n=1000&val=0&bs=500")
    wait(page, "h.nTrain === 1000 && h.arith.includes('= 2 → 2 iterations per epoch')")
    page.click("#play")
    wait(page, "h.iterations >= 1 && h.highlighted === 500")


def test_phone_no_horizontal_scroll(browser, live_server):
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server}/epochs")
    wait(page, "h.compareDone && h.nTrain === 700", timeout=20_000)
    page.click("#step")
    wait(page, "h.highlighted === 32")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "epochs_phone.png"), full_page=True)
    context.close()
    assert not errors
