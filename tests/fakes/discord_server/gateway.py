"""The gateway websocket: HELLO, IDENTIFY (READY and a GUILD_CREATE per guild), RESUME with its replay,
heartbeats, and dispatching events to the client."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from tests.fakes.discord_server import payloads
from tests.fakes.discord_server.state import APPLICATION_ID, BOT_USER

if TYPE_CHECKING:
    from tests.fakes.discord_server.state import DiscordState

HEARTBEAT_INTERVAL_MS = 41250


class Gateway:
    """Serves ``/gateway`` for ``state``: one session at a time, resumable on a new connection."""

    def __init__(self, state: DiscordState) -> None:
        self._state = state
        self._sockets: set[web.WebSocketResponse] = set()
        self._ws: web.WebSocketResponse | None = None  # the session's connection
        self._send_lock = asyncio.Lock()
        self._session_id: str | None = None
        self._seq = 0
        self._dispatched: list[dict[str, Any]] = []  # this session's dispatches, for RESUME replays
        self.session_ready = False  # READY and GUILD_CREATE (or RESUMED) sent, and the connection still open
        self.client_seq = -1  # the highest sequence the client reported in a heartbeat

    async def dispatch(self, event: str, data: dict[str, Any], socket: web.WebSocketResponse | None = None) -> float:
        """Send one event to the session's client (or to ``socket``); returns when, by ``time.perf_counter()``."""
        async with self._send_lock:
            # A cooperative yield, not synchronisation: one event per turn of the event loop, so a burst of events
            # does not keep this loop from handling what the client sends meanwhile (requests are stamped then).
            await asyncio.sleep(0)
            self._seq += 1
            frame = {"op": 0, "s": self._seq, "t": event, "d": data}
            self._dispatched.append(frame)
            sent_at = time.perf_counter()  # before sending: the send may wait for the socket, and a reply with it
            await self._send(frame, socket)
            return sent_at

    async def ask_heartbeat(self) -> int:
        """Ask the client for a heartbeat; returns the sequence it will report once it has read every event sent
        so far (see ``client_seq``)."""
        target = self._seq
        await self._send({"op": 1, "d": None, "s": None, "t": None})
        return target

    async def disconnect(self, code: int) -> None:
        """Drop the session's connection; discord.py then resumes the session."""
        self.session_ready = False
        if self._ws is not None:
            await self._ws.close(code=code)
        await self._state.notify()

    async def close(self) -> None:
        """Close every connection, noting any client still connected: the fake is stopping."""
        for socket in list(self._sockets):
            if not socket.closed:
                # A client that outlives the fake retries, and discord.py's last resort is the real gateway.
                self._state.violation("gateway: a client was still connected when the fake stopped; stop the bot first")
            await socket.close(code=1001)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """One client's websocket, from HELLO until it closes."""
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        if request.query.get("v") != "10" or request.query.get("encoding") != "json":
            self._state.violation(f"gateway: connected with {dict(request.query)}, expected v=10 and encoding=json")
        self._sockets.add(socket)
        try:
            await self._send(
                {"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}, "s": None, "t": None}, socket
            )
            async for frame in socket:
                if frame.type is WSMsgType.TEXT:
                    await self._on_frame(socket, json.loads(frame.data))
                else:
                    self._state.violation(f"gateway: unexpected {frame.type.name} frame from the client")
        finally:
            self._sockets.discard(socket)
            if socket is self._ws:
                self._ws = None
                self.session_ready = False
            await self._state.notify()
        return socket

    async def _send(self, frame: dict[str, Any], socket: web.WebSocketResponse | None = None) -> None:
        target = socket or self._ws
        if target is None or target.closed:
            raise RuntimeError("no discord.py client is connected to the gateway")
        await target.send_str(json.dumps(frame))

    async def _on_frame(self, socket: web.WebSocketResponse, frame: dict[str, Any]) -> None:
        op, data = frame.get("op"), frame.get("d")
        if op == 1:
            if socket is self._ws and isinstance(data, int):
                self.client_seq = max(self.client_seq, data)
            await self._send({"op": 11, "d": None, "s": None, "t": None}, socket)
        elif op == 2:
            await self._identify(socket, data)
        elif op == 6:
            await self._resume(socket, data)
        elif op not in (3, 4, 8, 31):  # presence, voice state, request members, request soundboard sounds
            self._state.violation(f"gateway: unknown opcode {op}")
            await socket.close(code=4001)
        await self._state.notify()

    async def _identify(self, socket: web.WebSocketResponse, data: dict[str, Any]) -> None:
        state = self._state
        if data.get("token") != state.token:
            state.violation("gateway: IDENTIFY with a wrong token")
            await socket.close(code=4004)
            return
        if "intents" not in data:
            state.violation("gateway: IDENTIFY without intents (required in v10)")
        state.identifies.append({**data, "token": "<redacted>"})
        shard_id, shard_count = data.get("shard", [0, 1])
        self._ws, self._session_id, self._seq, self._dispatched = socket, secrets.token_hex(16), 0, []
        self.client_seq = -1
        guilds = [g for g in state.guilds.values() if (g.id >> 22) % shard_count == shard_id]
        ready = {
            "v": 10,
            "user": {**BOT_USER.payload(), "verified": True, "mfa_enabled": False, "email": None},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": self._session_id,
            "session_type": "normal",
            "resume_gateway_url": state.gateway_url,
            "shard": [shard_id, shard_count],
            "application": {
                "id": str(APPLICATION_ID),
                "flags": payloads.application_flags(state.message_content_intent),
            },
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "user_settings": {},
            "geo_ordered_rtc_regions": ["fake"],
        }
        await self.dispatch("READY", ready, socket)
        for guild in guilds:
            tier = state.guild_premium_tier.get(guild.id, 0)
            await self.dispatch("GUILD_CREATE", payloads.guild_create(guild, tier), socket)
        state.session_count += 1
        self.session_ready = True

    async def _resume(self, socket: web.WebSocketResponse, data: dict[str, Any]) -> None:
        if data.get("token") != self._state.token:
            self._state.violation("gateway: RESUME with a wrong token")
            await socket.close(code=4004)
            return
        self._state.resumes.append({**data, "token": "<redacted>"})
        if data.get("session_id") != self._session_id:
            # Discord would invalidate the session, and discord.py would then reconnect to the real gateway.
            self._state.violation(f"gateway: RESUME of unknown session {data.get('session_id')!r}")
        self._ws = socket
        async with self._send_lock:
            for frame in self._dispatched:
                if frame["s"] > (data.get("seq") or 0):
                    await self._send(frame, socket)
        await self.dispatch("RESUMED", {}, socket)
        self.session_ready = True
