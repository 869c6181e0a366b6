"""Faults against a real Uvicorn server: a client that stops reading, and a server shutdown mid-stream."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn
import websockets

from app.config import Settings
from app.main import create_app
from app.web.session import ClientGone, StreamSession

CONFIG = {
    "surface": "parabola",
    "steps": 100_000,
    "tolerance": 0,
    "runs": [{"optimizer": "sgd", "hyperparameters": {"lr": 1e-9}}],
}


def run_async(coroutine):
    """asyncio.run in a thread of its own: the browser tests' Playwright keeps a loop running on this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


class Server:
    def __init__(self, **settings: object) -> None:
        app = create_app(Settings(**settings))
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="critical")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/v1/stream"

    def streams(self) -> int:
        return httpx.get(f"http://127.0.0.1:{self.port}/healthz").json()["streams_this_process"]

    def wait_streams(self, count: int, seconds: float = 15) -> None:
        deadline = time.monotonic() + seconds
        while self.streams() != count:
            assert time.monotonic() < deadline, f"live streams did not return to {count}"
            time.sleep(0.05)


@pytest.fixture
def slow_server() -> Iterator[Server]:
    with Server(send_timeout_s=0.5) as server:
        yield server


def test_a_client_that_stops_reading_is_dropped_and_others_are_served(slow_server: Server) -> None:
    async def scenario() -> tuple[int | None, str | None, int]:
        # a small receive buffer (it also turns off the kernel's buffer autotuning) fills in moments
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", slow_server.port))
        stalled = await websockets.connect(slow_server.ws, sock=sock, max_queue=1, max_size=2**24)
        await stalled.recv()
        race = {**CONFIG, "runs": CONFIG["runs"] * 8}
        race["runs"] = [{**run, "id": f"r{i}"} for i, run in enumerate(race["runs"])]
        await stalled.send(json.dumps({"type": "start", "speed": "max", "config": race}))
        # never read again: the socket's buffers fill, the server's send times out and it closes
        await asyncio.to_thread(slow_server.wait_streams, 0)
        async with websockets.connect(slow_server.ws) as other:
            await other.recv()
            await other.send(json.dumps({"type": "start", "speed": "max", "config": {**CONFIG, "steps": 10}}))
            kinds = []
            while "done" not in kinds:
                kinds.append(json.loads(await other.recv())["type"])
        code = reason = None
        try:
            while True:
                await stalled.recv()
        except websockets.ConnectionClosed as closed:
            code, reason = (
                closed.rcvd.code if closed.rcvd else None,
                closed.rcvd.reason if closed.rcvd else None,
            )
        return code, reason, len(kinds)

    code, reason, other_messages = run_async(scenario())
    assert (code, reason) == (1008, "client too slow")
    assert other_messages >= 3
    assert slow_server.streams() == 0


def test_server_shutdown_closes_streams_with_a_reason() -> None:
    server = Server()
    server.__enter__()

    async def scenario() -> int | None:
        async with websockets.connect(server.ws) as ws:
            await ws.recv()
            await ws.send(json.dumps({"type": "start", "speed": 30, "config": CONFIG}))
            await ws.recv()
            server.server.should_exit = True
            try:
                while True:
                    await ws.recv()
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else None

    try:
        code = run_async(scenario())
    finally:
        server.__exit__()
    assert code == 1012, "service restart: the client knows to reconnect"


def test_a_send_to_a_closed_socket_means_the_client_left_not_an_engine_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Starlette raises on a send after the client closed; the pump must stop quietly, not report a bug."""

    async def scenario() -> type[BaseException]:
        sent: list[str] = []

        async def send(text: str) -> None:
            if len(sent) >= 3:  # hello, started, step 0: then the client is gone
                raise RuntimeError("Cannot call 'send' once a close message has been sent.")
            sent.append(text)

        session = StreamSession(send, Settings())
        await session.hello()
        await session.handle(json.dumps({"type": "start", "speed": "max", "config": CONFIG}))
        try:
            await asyncio.wait_for(session.pump(), timeout=10)
        except BaseException as error:
            return type(error)
        return type(None)

    assert run_async(scenario()) is ClientGone
    assert not [r for r in caplog.records if "engine failure" in r.getMessage()]
