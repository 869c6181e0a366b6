"""The ticker: paced sockets of one process step together, and each still gets exactly its own values."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.web.session import StreamSession
from app.web.ticker import Ticker
from tests.web.test_faults import run_async


def _config(lr: float, steps: int = 30) -> dict[str, Any]:
    return {
        "surface": "rosenbrock",
        "start": [-1.5, 2.0],
        "steps": steps,
        "tolerance": 0,
        "runs": [{"id": "r", "optimizer": "adam", "hyperparameters": {"lr": lr}}],
    }


@pytest.fixture
def app():
    return create_app(Settings())


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def _rest(client: TestClient, config: dict[str, Any]) -> dict[str, list]:
    return client.post("/api/v1/traces", json=config).json()["runs"][0]["trace"]


def _read_until(ws, kind: str, into: list[dict[str, Any]], limit: int = 1000) -> dict[str, Any]:
    for _ in range(limit):
        message = ws.receive_json()
        into.append(message)
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind!r} within {limit} messages")


def _columns(messages: list[dict[str, Any]]) -> dict[str, list]:
    merged: dict[str, list] = {}
    for message in messages:
        if message["type"] == "steps":
            for name, values in message["runs"]["r"].items():
                merged.setdefault(name, []).extend(values)
    return merged


@pytest.fixture
def sockets() -> Iterator[contextlib.ExitStack]:
    with contextlib.ExitStack() as stack:
        yield stack


def _open(sockets: contextlib.ExitStack, client: TestClient, config: dict[str, Any], **options: Any):
    ws = sockets.enter_context(client.websocket_connect("/api/v1/stream"))
    ws.receive_json()  # hello
    ws.send_json({"type": "start", "speed": 60, "config": config, **options})
    return ws


def test_two_paced_sockets_step_together_and_each_get_their_rest_trace(
    client: TestClient, app, sockets
) -> None:
    configs = [_config(0.01), _config(0.02)]
    opened = [_open(sockets, client, c) for c in configs]
    seen: list[list[dict[str, Any]]] = [[], []]
    for ws, messages in zip(opened, seen, strict=True):
        _read_until(ws, "done", messages)
    ticker: Ticker = app.state.ticker
    assert ticker.steps > ticker.batches, "the two sockets never stepped in the same batch"
    for config, messages in zip(configs, seen, strict=True):
        assert _columns(messages) == _rest(client, config), "a socket's stream differs from its REST trace"
        assert not [m for m in messages if m["type"] == "error"], messages


def test_a_paused_socket_does_not_advance_while_its_neighbour_plays(client: TestClient, sockets) -> None:
    playing = _open(sockets, client, _config(0.01))
    paused = _open(sockets, client, _config(0.02), paused=True)
    first: list[dict[str, Any]] = []
    _read_until(paused, "steps", first)  # step 0, sent at once even when paused
    _read_until(playing, "done", [])
    paused.send_json({"type": "step", "n": 1})
    later: list[dict[str, Any]] = []
    _read_until(paused, "steps", later)
    assert _columns(later)["step"] == [1], "the paused socket moved while the other one played"
    paused.send_json({"type": "resume"})
    _read_until(paused, "done", later)
    assert _columns(first + later) == _rest(client, _config(0.02))


def test_a_learning_rate_change_on_one_socket_leaves_the_other_as_alone(client: TestClient, sockets) -> None:
    changed, other = _open(sockets, client, _config(0.01, 40)), _open(sockets, client, _config(0.02, 40))
    mine: list[dict[str, Any]] = []
    while len(_columns(mine).get("step", [])) < 10:
        _read_until(changed, "steps", mine)
    changed.send_json({"type": "set", "run": "r", "hyperparameters": {"lr": 0.3}})
    updated = _read_until(changed, "updated", mine)
    _read_until(changed, "done", mine)
    theirs: list[dict[str, Any]] = []
    _read_until(other, "done", theirs)
    assert _columns(theirs) == _rest(client, _config(0.02, 40)), "the change reached the other socket"
    lr = _columns(mine)["lr"]
    cut = updated["from_step"]
    assert set(lr[:cut]) == {0.01} and set(lr[cut:]) == {0.3}
    assert _columns(mine)["x"][:cut] == _rest(client, _config(0.01, 40))["x"][:cut]


def test_sessions_sharing_a_ticker_wake_on_one_beat() -> None:
    """Many paced sessions: steps made in far fewer batches than steps, every record sent, none lost."""

    async def scenario() -> tuple[Ticker, list[list[str]]]:
        ticker = Ticker(1 / 60)
        sent: list[list[str]] = [[] for _ in range(20)]
        sessions = []
        for i in range(20):

            async def send(text: str, into: list[str] = sent[i]) -> None:
                into.append(text)

            session = StreamSession(send, Settings(), ticker)
            await session.handle(json.dumps({"type": "start", "speed": 60, "config": _config(0.01, 12)}))
            sessions.append(session)
        pumps = [asyncio.create_task(s.pump()) for s in sessions]
        try:
            for _ in range(200):  # bounded: 12 steps at 60/s take about 0.2 s
                if all(s.stream is not None and s.stream.finished for s in sessions):
                    break
                await asyncio.sleep(0.02)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
        return ticker, sent

    ticker, sent = run_async(scenario())
    assert ticker.steps >= 20 * 12 and ticker.batches <= ticker.steps / 5, (ticker.steps, ticker.batches)
    for texts in sent:
        steps = [json.loads(t)["runs"]["r"]["step"] for t in texts if t.startswith('{"type":"steps"')]
        assert [s for batch in steps for s in batch] == list(range(13))


def test_explain_on_a_socket_paused_after_stepping_with_others_is_its_own_ledger(
    client: TestClient, app, sockets
) -> None:
    """The ledger of a socket whose run stepped in the ticker's stack (state kept stacked between beats)
    is the ledger of the same run stepped alone to the same step."""
    mine, other = _open(sockets, client, _config(0.01, 400)), _open(sockets, client, _config(0.02, 400))
    seen: list[dict[str, Any]] = []
    while len(_columns(seen).get("step", [])) < 12:
        _read_until(mine, "steps", seen)
    assert app.state.ticker.steps > app.state.ticker.batches, "the two sockets never stepped together"
    mine.send_json({"type": "pause"})
    _read_until(mine, "state", seen)
    mine.send_json({"type": "explain", "run": "r"})
    ledger = _read_until(mine, "ledger", seen)
    solo = _open(sockets, client, _config(0.01, 400), paused=True)
    solo.send_json({"type": "step", "n": ledger["step"]})
    alone: list[dict[str, Any]] = []
    while _columns(alone).get("step", [-1])[-1] < ledger["step"]:
        _read_until(solo, "steps", alone)
    solo.send_json({"type": "explain", "run": "r"})
    assert _read_until(solo, "ledger", alone) == ledger
    other.send_json({"type": "stop"})
