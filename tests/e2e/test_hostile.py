"""Hostile URLs: names and expressions from the query string are shown as text, never run as HTML."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

pytestmark = pytest.mark.e2e

PAYLOAD = '<img src=x onerror="window.__xss=1">'


def _assert_inert(page) -> None:
    assert page.evaluate("window.__xss") is None, "markup from the URL ran"
    assert page.locator("img[src=x]").count() == 0, "markup from the URL became an element"


def test_expression_from_the_url_is_shown_escaped(page, live_server: str) -> None:
    page.goto(f"{live_server}/playground?surface=custom&expr={quote(PAYLOAD)}")
    page.wait_for_function("document.body.innerText.includes('<img')", timeout=15_000)
    _assert_inert(page)


def test_run_ids_and_surface_names_from_the_url_are_inert(page, live_server: str) -> None:
    runs = [{"id": PAYLOAD, "optimizer": PAYLOAD, "hyperparameters": {"lr": PAYLOAD}}]
    page.goto(f"{live_server}/race?surface={quote(PAYLOAD)}&runs={quote(json.dumps(runs))}")
    page.wait_for_load_state("networkidle")
    _assert_inert(page)
    page.goto(f"{live_server}/sweep?optimizer={quote(PAYLOAD)}&hp={quote(json.dumps({PAYLOAD: PAYLOAD}))}")
    page.wait_for_load_state("networkidle")
    _assert_inert(page)
