"""A small keep-alive HTTP/1.1 client for POSTs that must leave the moment they are asked for.

A general client (aiohttp, httpx) sends from a task of its own after building a request object, so under a burst
each request waits its turn behind every other piece of work on the event loop. Here a request on a free kept-alive
connection is written before :meth:`KeepAlivePool.post_json` returns, and only the answer is awaited. Answers are
parsed by httptools (llhttp, the parser Node.js uses), never by hand.
"""

import asyncio
import re
import socket
import ssl
import time
from collections import deque
from dataclasses import dataclass
from urllib.parse import urlsplit

import httptools

# Printable ASCII without spaces: nothing that could end the request line or start a header.
_SAFE_TARGET = re.compile(r"/[!-~]*")
# TCP keep-alive probes on an idle connection: after 30 s, then every 10 s, given up after 3 unanswered. They keep
# a NAT's mapping alive, and a connection that a middlebox dropped silently is noticed (and left out of the pool)
# instead of swallowing a request until its timeout.
_KEEPALIVE_OPTIONS = (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3))


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """A response: its status and its whole body."""

    status: int
    body: bytes


class KeepAlivePool:
    """Keep-alive connections to one origin (``base_url`` with its path prefix), for JSON POSTs.

    At most ``max_connections`` are open; a request that finds none free waits for the first to come free. Idle
    connections are reused newest first and dropped after ``idle_seconds``. Every request is answered or failed
    within ``timeout`` seconds, connecting included; a connection whose answer is late is closed.
    """

    def __init__(
        self,
        base_url: str,
        *,
        user_agent: str,
        timeout: float,
        max_connections: int = 256,
        idle_seconds: float = 15.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._ssl = (ssl_context or ssl.create_default_context()) if parts.scheme == "https" else None
        self._prefix = parts.path.rstrip("/")
        self._head = (
            f"Host: {parts.netloc.rpartition('@')[2]}\r\nUser-Agent: {user_agent}\r\nContent-Type: application/json\r\n"
        ).encode("latin-1")
        self._timeout = timeout
        self._max_connections = max_connections
        self._idle_seconds = idle_seconds
        self._idle: list[_Connection] = []  # a stack: the most recently used connection is on top
        self._connections: set[_Connection] = set()
        self._opening: set[asyncio.Task[None]] = set()
        self._waiting: deque[tuple[bytes, asyncio.Future[HttpAnswer]]] = deque()
        self._closed = False

    def post_json(self, path: str, body: bytes) -> "asyncio.Future[HttpAnswer]":
        """POST ``body`` to ``path`` (below the base URL); written at once if a connection is free.

        The future fails with :class:`OSError` (connection errors, a closed pool) or :class:`TimeoutError`.
        """
        target = self._prefix + path
        if not _SAFE_TARGET.fullmatch(target):
            raise ValueError("the request target must be printable ASCII without spaces")
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[HttpAnswer] = loop.create_future()
        if self._closed:
            answer.set_exception(ConnectionError("the connection pool is closed"))
            return answer
        request = b"POST %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s" % (
            target.encode("ascii"),
            self._head,
            len(body),
            body,
        )
        timer = loop.call_later(self._timeout, _give_up, answer)
        answer.add_done_callback(lambda _: timer.cancel())
        connection = self._take_idle()
        if connection is not None:
            connection.send(request, answer)
        elif len(self._connections) + len(self._opening) < self._max_connections:
            self._open(request, answer)
        else:
            self._waiting.append((request, answer))
        return answer

    async def __aenter__(self) -> "KeepAlivePool":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every connection; requests still waiting or under way fail with :class:`ConnectionError`."""
        self._closed = True
        for task in list(self._opening):
            task.cancel()
        await asyncio.gather(*self._opening, return_exceptions=True)
        for _, answer in self._waiting:
            _fail(answer, ConnectionError("the connection pool closed"))
        self._waiting.clear()
        for connection in list(self._connections):
            connection.close()
        self._idle.clear()

    def _take_idle(self) -> "_Connection | None":
        while self._idle:
            connection = self._idle.pop()
            if time.monotonic() - connection.idle_since < self._idle_seconds:
                return connection
            connection.close()  # the server may drop it at any moment; the older ones below are staler still
        return None

    def _open(self, request: bytes, answer: "asyncio.Future[HttpAnswer]") -> None:
        task = asyncio.get_running_loop().create_task(self._send_on_new_connection(request, answer))
        self._opening.add(task)
        task.add_done_callback(self._opening.discard)

    async def _send_on_new_connection(self, request: bytes, answer: "asyncio.Future[HttpAnswer]") -> None:
        try:
            async with asyncio.timeout(self._timeout):
                _, connection = await asyncio.get_running_loop().create_connection(
                    lambda: _Connection(self), self._host, self._port, ssl=self._ssl
                )
        except (OSError, TimeoutError) as exc:
            _fail(answer, exc)
            self._next_waiting_on_new_connection()
            return
        except asyncio.CancelledError:  # the pool is closing
            _fail(answer, ConnectionError("the connection pool closed"))
            raise
        if answer.done():  # timed out or cancelled while connecting: the connection serves the next request
            self._reusable(connection)
        else:
            connection.send(request, answer)

    def _next_waiting_on_new_connection(self) -> None:
        while self._waiting and not self._closed:
            request, answer = self._waiting.popleft()
            if not answer.done():
                self._open(request, answer)
                return

    def _opened(self, connection: "_Connection") -> None:
        """A new connection is open (called by the connection)."""
        self._connections.add(connection)

    def _reusable(self, connection: "_Connection") -> None:
        """``connection`` has been answered and may carry another request (called by the connection)."""
        while self._waiting:
            request, answer = self._waiting.popleft()
            if not answer.done():
                connection.send(request, answer)
                return
        if self._closed:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        self._idle.append(connection)

    def _gone(self, connection: "_Connection") -> None:
        """``connection`` is gone (called by the connection)."""
        self._connections.discard(connection)
        if connection in self._idle:
            self._idle.remove(connection)
        else:
            self._next_waiting_on_new_connection()


class _Connection(asyncio.Protocol):
    """One connection: one request at a time, its answer parsed by httptools."""

    def __init__(self, pool: KeepAlivePool) -> None:
        self._pool = pool
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._answer: asyncio.Future[HttpAnswer] | None = None
        self._body: list[bytes] = []
        self.idle_since = 0.0

    def send(self, request: bytes, answer: "asyncio.Future[HttpAnswer]") -> None:
        """Write ``request``; ``answer`` gets its response."""
        assert self._transport is not None  # noqa: S101 - only connections that are made are handed out
        self._answer = answer
        self._body.clear()
        answer.add_done_callback(self._given_up_on)
        self._transport.write(request)

    def close(self) -> None:
        """Close the connection (its pending answer, if any, fails)."""
        if self._transport is not None:
            self._transport.close()

    def _given_up_on(self, answer: "asyncio.Future[HttpAnswer]") -> None:
        if answer is self._answer:  # timed out or cancelled before the response came: the connection is unusable
            self._answer = None
            self.close()

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)  # noqa: S101 - create_connection makes stream transports
        self._transport = transport
        _probe_when_idle(transport.get_extra_info("socket"))
        self._pool._opened(self)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionError(f"malformed HTTP response: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(ConnectionResetError("the connection closed before the response was complete"))
        self._pool._gone(self)

    # httptools callbacks

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        answer, self._answer = self._answer, None
        if answer is not None and not answer.done():
            answer.set_result(HttpAnswer(self._parser.get_status_code(), b"".join(self._body)))
        if answer is not None and self._parser.should_keep_alive():
            self._pool._reusable(self)
        else:  # the server closes it, or it answered a request nobody made
            self.close()

    def _fail(self, error: Exception) -> None:
        answer, self._answer = self._answer, None
        if answer is not None:
            _fail(answer, error)


def _fail(answer: "asyncio.Future[HttpAnswer]", error: Exception) -> None:
    if not answer.done():
        answer.set_exception(error)


def _give_up(answer: "asyncio.Future[HttpAnswer]") -> None:
    _fail(answer, TimeoutError("no answer in time"))


def _probe_when_idle(connection: socket.socket | None) -> None:
    if connection is None:
        return
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in _KEEPALIVE_OPTIONS:
        if hasattr(socket, name):  # Linux has all three; other systems may lack some and keep their defaults
            connection.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)
