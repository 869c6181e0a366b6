"""The live stream endpoint /api/v1/stream: a thin Starlette loop around StreamSession (protocol v1)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from app.web.commands import CommandError
from app.web.deps import SettingsDep
from app.web.security import origin_allowed
from app.web.session import ClientGone, CommandFlood, MessageTooBig, SlowClient, StreamSession

router = APIRouter()


async def _next_message(websocket: WebSocket, pump: asyncio.Task[None], timeout: float) -> Any:
    """The next frame, or None after ``timeout``; re-raises at once what stopped the pump (a slow client)."""
    receiving = asyncio.ensure_future(websocket.receive())
    try:
        done, _ = await asyncio.wait({receiving, pump}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not receiving.done():
            receiving.cancel()
    if pump in done:
        pump.result()
    return receiving.result() if receiving in done else None


async def _bounded(work: Any, timeout: float, session: StreamSession) -> None:
    """Handle a command; a client that stops reading while its answer is sent is too slow.

    The command itself may take longer than the send timeout (a ``step n`` on a heavy network computes
    in a thread): only a send that waits that long counts, checked a few times meanwhile.
    """
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=timeout / 4)
            if done:
                task.result()
                return
            if session.stalled():
                raise SlowClient
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, SlowClient, ClientGone):
                await task


@router.websocket("/stream")
async def stream(websocket: WebSocket, settings: SettingsDep) -> None:
    """Read commands while the session's pump sends steps; every way out frees the run at once."""
    sessions: set[StreamSession] = websocket.app.state.streams
    await websocket.accept()
    origin = websocket.headers.get("origin")
    if not origin_allowed(origin, websocket.headers.get("host"), settings.allowed_stream_origins):
        reason = f"origin not allowed: {origin}".encode()[:120].decode(errors="ignore")
        await websocket.close(1008, reason)  # the close reason may hold at most 123 bytes
        return
    if len(sessions) >= settings.max_streams:
        await websocket.close(1013, f"server busy: {settings.max_streams} live streams; try again later")
        return
    session = StreamSession(websocket.send_text, settings, websocket.app.state.ticker)
    sessions.add(session)
    pump = asyncio.create_task(session.pump())
    close: tuple[int, str] | None = None
    # Wake a few times per send timeout to look for a stalled send (the session arms no timer per send).
    tick = min(settings.idle_timeout_s, settings.send_timeout_s / 4)
    try:
        await asyncio.wait_for(session.hello(), settings.send_timeout_s)
        last_command = time.monotonic()
        while True:
            message = await _next_message(websocket, pump, tick)
            if session.stalled():
                raise SlowClient
            if message is None:
                if session.running or time.monotonic() - last_command < settings.idle_timeout_s:
                    continue
                close = (1000, "idle")
                break
            last_command = time.monotonic()
            if message["type"] == "websocket.disconnect":
                break
            # A command's answer is sent from here: bound it, since this loop is the one that watches.
            if message.get("text") is not None:
                await _bounded(session.handle(message["text"]), settings.send_timeout_s, session)
            else:
                error = CommandError("not_text", "commands are JSON text frames, not binary")
                await _bounded(session.error(error), settings.send_timeout_s, session)
    except CommandFlood:
        close = (1008, "command flood")
    except MessageTooBig:
        close = (1009, f"message too big: a command may be at most {settings.max_message_bytes} bytes")
    except SlowClient:
        close = (1008, "client too slow")
    except (WebSocketDisconnect, ClientGone):
        pass
    finally:
        pump.cancel()
        with contextlib.suppress(
            asyncio.CancelledError, SlowClient, ClientGone, WebSocketDisconnect, RuntimeError
        ):
            await pump
        session.close()
        sessions.discard(session)
    if close is not None:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await asyncio.wait_for(websocket.close(*close), settings.send_timeout_s)
