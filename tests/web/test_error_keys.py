# ruff: noqa: RUF001  (Turkish text: the dotless i is a letter of its own here)
"""Refusals carry a message key and params next to the English msg, and both catalogs can say every key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.i18n import catalog
from app.main import create_app

APP = Path(__file__).resolve().parents[2] / "app"
# the key argument of _Converter.refuse(message, node, key, **params)
REFUSE_KEY = re.compile(r'(?:node|node\.\w+|node\.keywords\[0\]),\s*"([a-z_]+)",?\s*(?:\w+=|\))')
CSV = "age,income,have_insurance\n22,1,0\n25,abc,0\n47,1,1\n"


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as c:
        yield c


def _detail(response) -> dict:
    assert response.status_code == 422, response.text
    return response.json()["detail"][0]


def _expression(client: TestClient, expression: str) -> dict:
    return _detail(client.get("/api/v1/surfaces/custom", params={"expression": expression, "grid": 10}))


@pytest.mark.parametrize(
    ("expression", "key", "params"),
    [
        ("x**2 + foo(y)", "expression.unknown_function", {"name": "foo"}),
        ("x +* 2 -", "expression.invalid_syntax", {}),
        ("(x + 1", "expression.never_closed", {"bracket": "("}),
        ("x + 1)", "expression.unmatched", {"bracket": ")"}),
        ("2x + y", "expression.decimal_literal", {}),
        ("z + 1", "expression.unknown_name", {"name": "z"}),
        ("sin + 1", "expression.function_not_called", {"name": "sin"}),
        ("x & y", "expression.operator", {"operator": "&"}),
        ("x if y else 1", "expression.construct", {"part": "x if y else 1"}),
        ("'a'", "expression.string", {}),
        ("x^1000", "expression.exponent_too_large", {}),
        ("max(x)", "expression.arity", {"name": "max", "arity": 2, "got": 1}),
        ("pi(x)", "expression.not_a_function", {"name": "pi"}),
        ("", "expression.empty", {}),
    ],
)
def test_a_refused_expression_names_its_key_params_and_column(
    client: TestClient, expression: str, key: str, params: dict
) -> None:
    detail = _expression(client, expression)
    assert detail["key"] == key, detail
    assert params.items() <= detail["params"].items(), detail
    assert detail["params"]["column"] == detail["ctx"]["start"] + 1
    assert detail["msg"], "the English msg stays"


def test_a_bad_csv_cell_names_row_column_and_value(client: TestClient) -> None:
    body = {"dataset": {"csv": CSV, "target": "have_insurance"}}
    detail = _detail(client.post("/api/v1/datasets/preview", json=body))
    assert detail["key"] == "csv.not_a_number"
    assert detail["params"] == {"row": 3, "column": "income", "value": "abc"}
    assert detail["msg"] == "row 3, column 'income': 'abc' is not a number"


def test_unknown_names_and_pydantic_checks_have_keys(client: TestClient) -> None:
    body = {"surface": "parabola", "runs": [{"optimizer": "adamm"}]}
    detail = _detail(client.post("/api/v1/traces", json=body))
    assert detail["key"] == "unknown_name" and detail["params"]["kind"] == "optimizer", detail
    assert detail["params"]["name"] == "adamm" and "adam" in detail["params"]["valid"]
    detail = _detail(client.post("/api/v1/traces", json={"surface": "parabola", "steps": -5, "runs": []}))
    assert detail["key"].startswith("validation."), detail


def test_a_websocket_error_frame_carries_the_key(client: TestClient) -> None:
    config = {"surface": "parabola", "expression": None, "runs": [{"id": "a", "optimizer": "sgdd"}]}
    with client.websocket_connect("/api/v1/stream") as ws:
        ws.receive_json()
        ws.send_json({"type": "start", "config": config})
        error = ws.receive_json()
    assert (error["type"], error["code"]) == ("error", "invalid_config"), error
    assert error["key"] == "unknown_name" and error["params"]["name"] == "sgdd", error
    assert error["message"].startswith("unknown optimizer 'sgdd'")


def _keys_in_source() -> set[str]:
    """Every literal message key the core and the web layer raise (``key="…"`` and refuse(…, "…"))."""
    keys: set[str] = set()
    for path in [*APP.glob("ml/*.py"), *APP.glob("web/*.py")]:
        text = path.read_text(encoding="utf-8")
        prefix = "expression." if path.name == "expressions.py" else ""
        keys.update(prefix + k for k in re.findall(r'\bkey="([a-z_.]+)"', text))
        keys.update("expression." + k for k in REFUSE_KEY.findall(text))
        if path.name == "expressions.py":  # _syntax_key's answers
            keys.update("expression." + k for k in re.findall(r'return "([a-z_]+)", \{', text))
    return keys


def test_every_key_the_server_raises_has_a_message_in_english_and_turkish() -> None:
    keys = _keys_in_source()
    assert {
        "expression.unknown_function",
        "expression.invalid_syntax",
        "csv.not_a_number",
        "unknown_name",
    } <= keys
    for lang in ("en", "tr"):
        messages = catalog(lang)
        missing = sorted(k for k in keys if f"error.{k}" not in messages)
        assert not missing, f"{lang}: no message for {missing}"
    tr = catalog("tr")
    assert tr["error.csv.not_a_number"].format(row=3, column="income", value="abc") == (
        "3. satır, 'income' sütunu: 'abc' bir sayı değil"
    )
