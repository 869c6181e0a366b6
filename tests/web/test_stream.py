"""Protocol v1 over TestClient's websocket_connect: every command, batching, live set, errors, cleanup."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.config import Settings
from app.main import create_app

PARABOLA = {"surface": "parabola", "start": [2.0], "steps": 200, "runs": [{"id": "a", "optimizer": "sgd"}]}
RACE = {
    "surface": "rosenbrock",
    "start": [-1.5, 2.0],
    "steps": 300,
    "runs": [
        {"id": "sgd", "optimizer": "sgd", "hyperparameters": {"lr": 0.001}},
        {"id": "nesterov", "optimizer": "nesterov", "hyperparameters": {"lr": 0.0005}},
        {"id": "adam", "optimizer": "adam", "hyperparameters": {"lr": 0.05}},
    ],
}


@pytest.fixture
def app():
    return create_app()


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def _connect(client: TestClient):
    ws = client.websocket_connect("/api/v1/stream")
    return ws


def _until(ws, kind: str, limit: int = 10_000) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Read messages until one of type ``kind``; returns it and everything before it."""
    seen = []
    for _ in range(limit):
        message = ws.receive_json()
        if message["type"] == kind:
            return message, seen
        seen.append(message)
    raise AssertionError(f"no {kind!r} within {limit} messages")


def _start(ws, config: dict, **options: Any) -> dict[str, Any]:
    ws.send_json({"type": "start", "config": config, **options})
    started, before = _until(ws, "started")
    assert not [m for m in before if m["type"] == "error"], before
    return started


def _merge(messages: list[dict[str, Any]]) -> dict[str, dict[str, list]]:
    """Concatenate the columns of every `steps` message, per run."""
    runs: dict[str, dict[str, list]] = {}
    for message in messages:
        if message["type"] != "steps":
            continue
        for rid, cols in message["runs"].items():
            merged = runs.setdefault(rid, {})
            for name, values in cols.items():
                merged.setdefault(name, []).extend(values)
    return runs


def test_hello_announces_version_limits_and_commands(client: TestClient) -> None:
    with _connect(client) as ws:
        hello = ws.receive_json()
    assert hello["type"] == "hello" and hello["version"] == 1
    assert hello["limits"]["max_steps"] == 100_000 and hello["limits"]["max_runs"] == 32
    assert set(hello["commands"]) == {
        "start",
        "pause",
        "resume",
        "step",
        "stop",
        "speed",
        "set",
        "add_run",
        "remove_run",
        "explain",
    }


def test_stream_of_a_config_equals_its_rest_trace(client: TestClient) -> None:
    rest = client.post("/api/v1/traces", json=RACE).json()
    with _connect(client) as ws:
        ws.receive_json()
        started = _start(ws, RACE, speed="max")
        done, messages = _until(ws, "done")
    assert [r["id"] for r in started["runs"]] == ["sgd", "nesterov", "adam"]
    assert started["columns"] == rest["columns"]
    streamed = _merge(messages)
    for run in rest["runs"]:
        assert streamed[run["id"]] == run["trace"], f"stream of {run['id']} differs from REST"
        assert done["summaries"][run["id"]] == run["summary"]
    events = {m["run"]: m for m in messages if m["type"] == "event"}
    assert {rid: e["reason"] for rid, e in events.items()} == {
        r["id"]: r["end"]["reason"] for r in rest["runs"]
    }


def test_step_zero_arrives_at_once_even_when_paused(client: TestClient) -> None:
    with _connect(client) as ws:
        ws.receive_json()
        _start(ws, RACE, paused=True)
        first = ws.receive_json()
    assert first["type"] == "steps"
    assert {rid: cols["step"] for rid, cols in first["runs"].items()} == {
        "sgd": [0],
        "nesterov": [0],
        "adam": [0],
    }
    assert first["runs"]["sgd"]["update_x"] == [None]


def test_slow_speed_sends_each_step_in_its_own_message(client: TestClient) -> None:
    with _connect(client) as ws:
        ws.receive_json()
        _start(ws, PARABOLA, speed=60)
        messages = [ws.receive_json() for _ in range(4)]
    steps = [m["runs"]["a"]["step"] for m in messages]
    assert steps == [[0], [1], [2], [3]]


def test_max_speed_coalesces_many_steps_per_message(client: TestClient) -> None:
    config = {
        **PARABOLA,
        "steps": 20_000,
        "runs": [{"id": "a", "optimizer": "sgd", "hyperparameters": {"lr": 1e-6}}],
    }
    with _connect(client) as ws:
        ws.receive_json()
        _start(ws, config, speed="max")
        _done, messages = _until(ws, "done")
    batches = [len(m["runs"]["a"]["step"]) for m in messages if m["type"] == "steps"]
    assert sum(batches) == 20_001
    assert max(batches) > 100, "at max speed steps are coalesced"
    assert len(batches) < 2_000


def test_pause_stops_and_step_makes_exactly_n_steps(client: TestClient) -> None:
    with _connect(client) as ws:
        ws.receive_json()
        _start(ws, PARABOLA, speed=200)
        ws.send_json({"type": "pause"})
        state, before = _until(ws, "state")
        assert state["paused"] is True
        last = _merge(before)["a"]["step"][-1]
        ws.send_json({"type": "step", "n": 3})
        steps = ws.receive_json()
        assert steps["type"] == "steps" and steps["runs"]["a"]["step"] == [last + 1, last + 2, last + 3]
        assert ws.receive_json() == {"type": "state", "seq": 1, "paused": True, "speed": 200}
        ws.send_json({"type": "step"})
        assert ws.receive_json()["runs"]["a"]["step"] == [last + 4], "nothing was made while paused"


def test_resume_and_speed_change(client: TestClient) -> None:
    with _connect(client) as ws:
        ws.receive_json()
        _start(ws, PARABOLA, paused=True)
        ws.send_json({"type": "speed", "value": "max"})
        state, _ = _until(ws, "state")
        assert state == {"type": "state", "seq": 1, "paused": True, "speed": "max"}
        ws.send_json({"type": "resume"})
        state, _ = _until(ws, "state")
        assert state["paused"] is False
        done, _messages = _until(ws, "done")
    assert done["summaries"]["a"]["steps_taken"] >= 1


def test_live_learning_rate_change_takes_effect_at_the_next_step(client: TestClient) -> None:
    with _connect(client) as ws:
        ws.receive_json()
        _start(ws, PARABOLA, paused=True)
        ws.receive_json()  # step 0
        ws.send_json({"type": "step", "n": 2})
        cols = ws.receive_json()["runs"]["a"]
        ws.receive_json()  # state
        ws.send_json({"type": "set", "run": "a", "hyperparameters": {"lr": 0.25}})
        updated = ws.receive_json()
        assert updated["type"] == "updated" and updated["hyperparameters"]["lr"] == 0.25
        assert updated["from_step"] == 3 and updated["hyperparameters"]["momentum"] == 0.0
        ws.send_json({"type": "step"})
        after = ws.receive_json()["runs"]["a"]
    x2 = cols["x"][-1]
    assert after["step"] == [3] and after["lr"] == [0.25]
    assert after["x"][0] == pytest.approx(x2 - 0.25 * 2 * x2, abs=1e-15)


def test_add_and_remove_runs_in_a_race(client: TestClient) -> None:
    with _connect(client) as ws:
        ws.receive_json()
        _start(ws, PARABOLA, paused=True)
        ws.receive_json()
        ws.send_json({"type": "step", "n": 5})
        ws.receive_json()
        ws.receive_json()
        ws.send_json(
            {"type": "add_run", "run": {"id": "b", "optimizer": "adam", "hyperparameters": {"lr": 0.1}}}
        )
        added = ws.receive_json()
        assert added["type"] == "run_added" and added["run"]["id"] == "b"
        assert added["run"]["hyperparameters"]["betas"] == [0.9, 0.999]
        first = ws.receive_json()
        assert first["runs"] == {"b": first["runs"]["b"]} and first["runs"]["b"]["step"] == [0]
        ws.send_json({"type": "step"})
        both = ws.receive_json()["runs"]
        assert both["a"]["step"] == [6] and both["b"]["step"] == [1]
        ws.receive_json()
        ws.send_json({"type": "remove_run", "run": "a"})
        event = ws.receive_json()
        assert (event["type"], event["run"], event["reason"]) == ("event", "a", "stopped")
        assert ws.receive_json() == {"type": "run_removed", "seq": 1, "run": "a"}
        ws.send_json({"type": "step"})
        assert list(ws.receive_json()["runs"]) == ["b"]


def test_stop_ends_every_run_and_sends_done(client: TestClient) -> None:
    with _connect(client) as ws:
        ws.receive_json()
        _start(ws, RACE, paused=True)
        ws.receive_json()
        ws.send_json({"type": "stop"})
        done, before = _until(ws, "done")
    assert sorted((m["run"], m["reason"]) for m in before) == [
        ("adam", "stopped"),
        ("nesterov", "stopped"),
        ("sgd", "stopped"),
    ]
    assert done["summaries"]["adam"]["final_position"] == [-1.5, 2.0]


def test_a_new_start_replaces_the_descent_with_a_new_seq(client: TestClient) -> None:
    with _connect(client) as ws:
        ws.receive_json()
        assert _start(ws, PARABOLA, paused=True)["seq"] == 1
        second = _start(ws, RACE, paused=True)
        assert second["seq"] == 2
        assert ws.receive_json()["seq"] == 2


@pytest.mark.parametrize(
    ("frame", "code", "field"),
    [
        ("{not json", "invalid_json", None),
        ('["start"]', "invalid_command", "type"),
        ('{"type": "jump"}', "unknown_command", "type"),
        ('{"type": "step", "n": "many"}', "invalid_command", "n"),
        ('{"type": "step", "n": 5000}', "invalid_command", "n"),
        ('{"type": "speed", "value": -3}', "invalid_command", "value"),
        ('{"type": "speed", "value": 1e9}', "invalid_command", "value"),
        (
            '{"type": "set", "run": "a", "hyperparameters": {"lr": -1}}',
            "invalid_config",
            "hyperparameters.lr",
        ),
        ('{"type": "set", "run": "zz", "hyperparameters": {"lr": 1}}', "unknown_run", "run"),
        ('{"type": "remove_run", "run": "zz"}', "unknown_run", "run"),
        ('{"type": "add_run", "run": {"id": "a", "optimizer": "sgd"}}', "invalid_config", "run.id"),
        ('{"type": "add_run", "run": {"optimizer": "sgdd"}}', "invalid_config", "run.optimizer"),
        (
            '{"type": "start", "config": {"runs": [{"optimizer": "adamm"}]}}',
            "invalid_config",
            "config.runs.0.optimizer",
        ),
        (
            '{"type": "start", "config": {"steps": 10000000, "runs": [{"optimizer": "sgd"}]}}',
            "invalid_config",
            "config.steps",
        ),
        (
            '{"type": "start", "config": {"expression": "x.y", "runs": [{"optimizer": "sgd"}]}}',
            "invalid_config",
            "config.expression",
        ),
        ('{"type": "pause", "extra": 1}', "invalid_command", "extra"),
    ],
)
def test_bad_commands_get_an_error_and_the_run_goes_on(
    client: TestClient, frame: str, code: str, field
) -> None:
    with _connect(client) as ws:
        ws.receive_json()
        _start(ws, PARABOLA, paused=True)
        ws.receive_json()
        ws.send_text(frame)
        error = ws.receive_json()
        assert (error["type"], error["code"], error["field"]) == ("error", code, field), error
        assert error["message"]
        ws.send_json({"type": "step"})
        assert ws.receive_json()["runs"]["a"]["step"] == [1], "the descent survived the bad command"


def test_errors_echo_the_command_ref(client: TestClient) -> None:
    with _connect(client) as ws:
        ws.receive_json()
        ws.send_json({"type": "pause", "ref": 41})
        error = ws.receive_json()
    assert (error["code"], error["ref"]) == ("not_started", 41)


def test_binary_frames_are_refused_and_the_socket_stays(client: TestClient) -> None:
    with _connect(client) as ws:
        ws.receive_json()
        ws.send_bytes(b"\x00\x01")
        assert ws.receive_json()["code"] == "not_text"
        _start(ws, PARABOLA, paused=True)


def test_an_oversized_frame_closes_the_socket_with_1009(client: TestClient) -> None:
    """docs/protocol.md: a frame over max_message_bytes (512 kB) closes with 1009, message too big."""
    with _connect(client) as ws:
        ws.receive_json()
        ws.send_text('{"type": "pause", "ref": "' + "x" * 600_000 + '"}')
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1009 and "at most 524288 bytes" in closed.value.reason


def _with_settings(**values: Any) -> FastAPI:
    return create_app(Settings(**values))


def test_commands_beyond_the_rate_are_refused_then_a_flood_is_closed() -> None:
    app = _with_settings(max_commands_per_second=1.0)
    with TestClient(app) as client, _connect(client) as ws:
        ws.receive_json()
        for _ in range(2):
            ws.send_json({"type": "pause"})
            assert ws.receive_json()["code"] == "not_started"
        ws.send_json({"type": "pause"})
        assert ws.receive_json()["code"] == "rate_limited"
        for _ in range(30):
            ws.send_json({"type": "pause"})
        with pytest.raises(WebSocketDisconnect) as closed:
            for _ in range(40):
                ws.receive_json()
    assert closed.value.code == 1008 and closed.value.reason == "command flood"


def test_runs_per_stream_are_limited() -> None:
    app = _with_settings(max_runs=2)
    with TestClient(app) as client, _connect(client) as ws:
        ws.receive_json()
        _start(
            ws,
            {**PARABOLA, "runs": [{"id": "a", "optimizer": "sgd"}, {"id": "b", "optimizer": "sgd"}]},
            paused=True,
        )
        ws.receive_json()
        ws.send_json({"type": "add_run", "run": {"optimizer": "adam"}})
        error = ws.receive_json()
    assert error["code"] == "limit_exceeded"


def test_idle_socket_is_closed() -> None:
    app = _with_settings(idle_timeout_s=0.2)
    with TestClient(app) as client, _connect(client) as ws:
        ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert (closed.value.code, closed.value.reason) == (1000, "idle")


def test_disconnect_mid_run_frees_the_descent(app) -> None:
    config = {
        **PARABOLA,
        "steps": 100_000,
        "runs": [{"id": "a", "optimizer": "sgd", "hyperparameters": {"lr": 1e-7}}],
    }
    with TestClient(app) as client:
        with _connect(client) as ws:
            ws.receive_json()
            _start(ws, config, speed="max")
            ws.receive_json()
            assert len(app.state.streams) == 1
        for _ in range(200):  # the server notices the close on its next receive
            if not app.state.streams:
                break
            client.get("/api/v1/schedules")
        assert not app.state.streams


def test_a_max_speed_stream_does_not_stall_another_socket(client: TestClient) -> None:
    busy = {
        **PARABOLA,
        "steps": 100_000,
        "runs": [{"id": "a", "optimizer": "sgd", "hyperparameters": {"lr": 1e-7}}],
    }
    with _connect(client) as fast, _connect(client) as slow:
        fast.receive_json()
        slow.receive_json()
        _start(fast, busy, speed="max")
        _start(slow, PARABOLA, speed=60)
        made: list[int] = []
        for _ in range(100):  # a loaded machine may also send a lag message (the stream fell behind)
            message = slow.receive_json()
            if message["type"] == "steps":
                made += message["runs"]["a"]["step"]
            if made and made[-1] >= 5:
                break
        assert made[-1] >= 5 and made == list(range(len(made))), "the paced socket got every step, in order"
        fast.send_json({"type": "stop"})
        event, _ = _until(fast, "event")
    assert event["reason"] == "stopped", "the fast run was still going while the slow socket got its steps"


def test_an_engine_failure_reports_an_error_and_the_server_keeps_serving(app, monkeypatch) -> None:
    from app.ml.run import Descent

    real_advance = Descent.advance
    calls = {"n": 0}

    def flaky(self, n=1):
        calls["n"] += 1
        if calls["n"] > 3:
            raise RuntimeError("boom")
        return real_advance(self, n)

    monkeypatch.setattr(Descent, "advance", flaky)
    with TestClient(app) as client:
        with _connect(client) as ws:
            ws.receive_json()
            _start(ws, PARABOLA, speed="max")
            error, before = _until(ws, "error")
            assert error["code"] == "internal_error" and "RuntimeError" in error["message"]
            assert any(m["type"] == "steps" for m in before), "what was computed reached the client"
            ws.send_json({"type": "step"})
            assert ws.receive_json()["code"] == "not_started", "the broken run was dropped"
            monkeypatch.setattr(Descent, "advance", real_advance)
            _start(ws, PARABOLA, paused=True)
            assert ws.receive_json()["type"] == "steps", "the same socket serves a new run"
        assert client.get("/healthz").status_code == 200


def test_streams_per_process_are_limited() -> None:
    app = _with_settings(max_streams=1)
    with TestClient(app) as client, _connect(client) as first:
        first.receive_json()
        with _connect(client) as second, pytest.raises(WebSocketDisconnect) as closed:
            second.receive_json()
        assert closed.value.code == 1013 and "busy" in closed.value.reason
        first.send_json({"type": "pause"})
        assert first.receive_json()["code"] == "not_started", "the first socket is unaffected"


def test_explain_sends_the_ledger_of_the_next_update(client: TestClient) -> None:
    with _connect(client) as ws:
        ws.receive_json()
        _start(ws, RACE, paused=True)
        ws.send_json({"type": "step", "n": 3})
        ws.send_json({"type": "explain", "run": "adam"})
        ledger, _ = _until(ws, "ledger")
        ws.send_json({"type": "step", "n": 1})
        steps, _ = _until(ws, "steps")
        while "adam" not in steps["runs"] or steps["runs"]["adam"]["step"][-1] != ledger["step"] + 1:
            steps, _ = _until(ws, "steps")
        adam = steps["runs"]["adam"]
        assert [adam["update_x"][-1], adam["update_y"][-1]] == pytest.approx(ledger["update"], rel=1e-12)
        assert ledger["run"] == "adam" and ledger["optimizer"] == "adam" and ledger["update_rule"]
        assert [s["name"] for s in ledger["stages"]] == ["scale_by_adam", "scale_by_learning_rate"]
        assert len(ledger["step_size"]) == 2
        ws.send_json({"type": "explain", "run": "nobody"})
        error, _ = _until(ws, "error")
        assert error["code"] == "unknown_run" and error["field"] == "run"
        ws.send_json({"type": "ping"})  # the socket lives on


def test_a_tuned_race_streams_with_the_rates_the_rest_search_chose(client: TestClient) -> None:
    config = {**RACE, "steps": 60, "tune": {"count": 5}}
    rest = {run["id"]: run["tuning"] for run in client.post("/api/v1/traces", json=config).json()["runs"]}
    with _connect(client) as ws:
        ws.receive_json()
        started = _start(ws, config, paused=True)
    for run in started["runs"]:
        assert run["tuning"] == rest[run["id"]]
        assert run["hyperparameters"]["lr"] == run["tuning"]["lr"]


def test_a_saddle_escape_is_left_view_in_the_stream_and_the_rest_trace_alike(client: TestClient) -> None:
    config = {
        "surface": "saddle",
        "steps": 3000,
        "runs": [
            {"id": "sgd", "optimizer": "sgd", "hyperparameters": {"lr": 0.001}},
            {"id": "rmsprop", "optimizer": "rmsprop", "hyperparameters": {"lr": 0.01}},
        ],
    }
    rest = {r["id"]: r["end"] for r in client.post("/api/v1/traces", json=config).json()["runs"]}
    with _connect(client) as ws:
        ws.receive_json()
        _start(ws, config, speed="max")
        _, messages = _until(ws, "done")
    events = {m["run"]: m for m in messages if m["type"] == "event"}
    assert rest["rmsprop"]["reason"] == events["rmsprop"]["reason"] == "left_view"
    assert rest["rmsprop"]["detail"] == events["rmsprop"]["detail"]
    assert "left the view box downhill" in rest["rmsprop"]["detail"]
    assert rest["rmsprop"]["step"] < 3000, "RMSprop ran to loss -1195 and max_steps on main"
    assert rest["sgd"]["reason"] == events["sgd"]["reason"] == "max_steps"
