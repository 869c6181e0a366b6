"""The cross-entropy view (/cross-entropy): what is drawn — the table's numbers, the contour, the moving path,
the current mini-batch's surface, the Keras counters, the three batch sizes — in English and Turkish."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import ARTIFACTS, VISIBLE_TEXT, english_left, host_page, ready_frame

pytestmark = pytest.mark.e2e

T = 20_000
HOOK = "window['__cross-entropy']"


def wait(page, condition: str, arg=None, timeout: int = T):
    page.wait_for_function(
        f"(arg) => {{ const h = {HOOK}; return Boolean(h && ({condition})); }}", arg=arg, timeout=timeout
    )


def hook(page, name: str, *args):
    return page.evaluate(f"(args) => {HOOK}.{name}(...args)", list(args))


def wait_text(page, selector: str, text: str) -> None:
    """Wait until ``selector`` shows ``text`` (counters are redrawn on a later animation frame)."""
    page.wait_for_function(
        "([sel, text]) => document.querySelector(sel)?.textContent === text", arg=[selector, text], timeout=T
    )


def step_to(page, target: int) -> None:
    """Press Step until the last record is step ``target`` (the first press shows step 0, the start)."""
    for _ in range(target + 2):
        last = hook(page, "lastStep")
        if last == target:
            return
        page.click("#step")
        wait(page, "h.lastStep() !== arg && h.status() === 'paused'", last)
    assert hook(page, "lastStep") == target


def cells(page, row: int) -> list[str]:
    return page.locator(f"#xent-table tbody tr[data-row='{row}'] td").all_inner_texts()


def test_the_table_shows_each_rows_loss_and_the_slides_4_6(page, live_server):
    page.goto(f"{live_server}/cross-entropy")
    wait(page, "h.ready()")
    assert page.locator("#xent-table tbody tr").count() == 13
    # the default start (3, -1.25): the insured 27-year-old gets ŷ = 0.01, the slide's error of 4.6
    assert cells(page, 12) == ["27", "0", "1", "-1.12", "-4.6", "0.00999", "4.606"]
    assert page.locator("#xent-table tbody tr.worst").get_attribute("data-row") == "12"
    assert cells(page, 0)[:3] == ["22", "1", "0"]
    assert "−ln 0.01 = 4.605" in page.text_content("#slide-case")
    assert page.text_content("#mean-loss") == "0.7404"
    assert page.text_content("#bce") == "0.4802"
    assert "700 training rows" in page.text_content("#bce-label")
    arith = page.text_content("#arith")
    assert arith.startswith("700 training rows / 32 (batch size) = 21.875 → 22 iterations")
    contour = page.evaluate(
        "() => { const d = document.querySelector('#contour .plot-base').data;"
        " return {type: d[0].type, n: d[0].z.length, star: [d[1].x[0], d[1].y[0]]}; }"
    )
    assert contour["type"] == "contour" and contour["n"] == 120
    assert contour["star"] == [pytest.approx(1.9131, abs=1e-4), pytest.approx(-0.5159, abs=1e-4)]
    assert page.locator("#contour .xtitle").text_content() == "w"


def test_steps_move_the_path_count_iterations_and_show_the_batch_surface(page, live_server):
    page.goto(f"{live_server}/cross-entropy?speed=max")
    wait(page, "h.ready()")
    step_to(page, 2)
    wait(page, "h.batchShown() === 2 && h.table() && h.table().w === h.point().w")
    wait_text(page, "#count-updates", "2")
    assert page.text_content("#count-epoch") == "1"
    assert page.text_content("#count-iteration") == "3 / 22"
    point = hook(page, "point")
    assert [point["w"], point["b"]] != [3, -1.25]
    assert page.text_content("#table-point") == f"at w = {point['w']:.3g}, b = {point['b']:.3g}"
    layer = page.evaluate(
        "() => document.querySelector('#contour .plot-layer').data.map((t) => [t.type, t.x.length])"
    )
    assert layer[0] == ["contour", 40] and layer[1][0] == "scatter"  # the batch's loss and its minimum
    # play to the end: 300 updates = epoch 14, iteration 15 of 22
    page.click("#play")
    wait(page, "h.status() === 'finished'")
    assert hook(page, "lastStep") == 300 and hook(page, "pathLength") == 301
    wait(page, "h.batchShown() === 300")
    wait_text(page, "#count-updates", "300")
    assert page.text_content("#count-epoch") == "14"
    assert page.text_content("#count-iteration") == "15 / 22"
    assert hook(page, "drawnPoints") == 301
    end = hook(page, "point")
    assert abs(end["w"] - 1.91) < 0.4 and abs(end["b"] + 0.52) < 0.4  # zig-zags near the minimum


def test_full_batch_mini_batch_and_batch_size_one_side_by_side(page, live_server):
    page.goto(f"{live_server}/cross-entropy")
    wait(page, "h.comparisons().drawn === 3")
    captions = [page.text_content(f"#cap-{k}") for k in range(3)]
    assert captions == [
        "Full batch (700 rows): 1 iteration per epoch",
        "Mini-batch of 32: 22 iterations per epoch",
        "Batch size 1: 700 iterations per epoch",
    ]
    ends = [page.text_content(f"#end-{k}") for k in range(3)]
    assert ends[0].startswith("300 updates = 300 epochs")
    assert ends[1].startswith("300 updates = 13.6 epochs")
    assert ends[2].startswith("300 updates = 0.429 epochs")
    paths = page.evaluate(
        "() => [0, 1, 2].map((k) => document.querySelector(`#cmp-${k} .plot-overlay`).data[0].x.length)"
    )
    assert paths == [301, 301, 301]
    # the full batch ends nearest the minimum of all training rows (final BCE smallest)
    bce = [float(re.search(r"BCE ([\d.]+)", e).group(1)) for e in ends]
    assert bce[0] <= bce[1] < bce[2]


def test_the_full_batch_preset_is_plain_gradient_descent(page, live_server):
    page.goto(f"{live_server}/cross-entropy")
    wait(page, "h.ready()")
    page.click("[data-batch='full']")
    wait(page, "document.querySelector('#arith').textContent.startsWith('Full batch')")  # the new table came
    wait(page, "h.state().batch_size === 700 && h.ready()")
    assert "batch_size=700" in page.url
    step_to(page, 1)
    assert hook(page, "batchShown") is None  # no mini-batch: the layer stays empty
    wait_text(page, "#count-updates", "1")
    assert page.text_content("#count-epoch") == "2" and page.text_content("#count-iteration") == "1 / 1"
    assert page.get_attribute("[data-batch='full']", "aria-pressed") == "true"


def test_a_shared_link_reopens_the_same_descent(page, live_server):
    page.goto(
        f"{live_server}/cross-entropy?optimizer=adam&hyperparameters=%7B%22lr%22%3A0.2%7D&batch_size=1&start=0,2"
    )
    wait(page, "h.ready()")
    state = hook(page, "state")
    assert state["optimizer"] == "adam" and state["batch_size"] == 1 and state["start"] == [0, 2]
    assert page.input_value("#optimizer") == "adam" and page.input_value("#batch-size") == "1"
    assert page.text_content("#arith").startswith("700 training rows / 1 (batch size) = 700 → 700 iterations")


@pytest.mark.parametrize("lang", ["en", "tr"])
@pytest.mark.parametrize(("width", "height"), [(1440, 900), (390, 844)])
def test_screenshots_fit_and_speak_the_language(browser, live_server, lang, width, height):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server}/cross-entropy?lang={lang}&speed=60&steps=120")
    wait(page, "h.ready() && h.comparisons().drawn === 3")
    page.click("#play")
    wait(page, "h.status() === 'finished' && h.batchShown() === 120")
    wait_text(page, "#count-updates", "120")
    page.wait_for_timeout(300)  # let the last frame paint before the picture
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    table = page.locator("#xent-table").inner_text()
    if lang == "tr":
        assert re.search(r"\d,\d", table) and not re.search(r"\d\.\d", table), "decimal comma in Turkish"
        assert english_left(page.evaluate(VISIBLE_TEXT)) == []
        assert page.text_content("#count-iteration") == "11 / 22"
    else:
        assert re.search(r"\d\.\d", table)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"cross_entropy_{lang}_{width}.png"), full_page=True)
    context.close()
    assert not errors


def test_a_course_page_drives_the_embed(page, live_server, host_server):
    origin, root = host_server
    name = host_page(root, live_server, "xent.html", "cross-entropy", "steps=60&speed=max", "390")
    page.goto(f"{origin}/{name}")
    frame = ready_frame(page, live_server)
    assert page.evaluate("window.events.find((m) => m.type === 'gdp:ready')")["view"] == "cross-entropy"
    frame.wait_for_function(f"() => {HOOK}.ready()", timeout=T)
    page.evaluate("window.send({type: 'gdp:set', hyperparameters: {lr: 0.2}})")
    frame.wait_for_function(f"() => {HOOK}.state().hyperparameters.lr === 0.2", timeout=T)
    page.evaluate("window.send({type: 'gdp:play'})")
    page.wait_for_function("() => window.events.some((m) => m.type === 'gdp:done')", timeout=T)
    events = page.evaluate("window.events.filter((m) => m.type === 'gdp:event')")
    assert events == [{"type": "gdp:event", "run": "descent", "event": "max_steps"}]
    assert frame.evaluate(f"{HOOK}.lastStep()") == 60
    overflow = frame.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0 and frame.locator(".site-header").count() == 0
