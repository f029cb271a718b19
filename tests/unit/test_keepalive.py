"""The keep-alive HTTP/1.1 pool, against real local servers (aiohttp, and raw sockets where a server misbehaves)."""

import asyncio
import json
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
import trustme
from aiohttp import web

from bot.services.keepalive import KeepAlivePool

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
WAIT = 5.0  # a bound for a broken pool, never a synchronisation


@asynccontextmanager
async def serving(handler: Handler, ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[tuple[int, set]]:
    """An aiohttp server on 127.0.0.1 (port 0); yields its port and the transports it was reached on."""
    transports: set = set()

    async def noting(request: web.Request) -> web.StreamResponse:
        transports.add(request.transport)
        return await handler(request)

    app = web.Application()
    app.router.add_post("/{tail:.*}", noting)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield port, transports
    finally:
        await runner.cleanup()


@asynccontextmanager
async def pool_for(base_url: str, **options: object) -> AsyncIterator[KeepAlivePool]:
    async with KeepAlivePool(base_url, user_agent="tests/1.0", timeout=WAIT, **options) as pool:  # type: ignore[arg-type]
        yield pool


async def echo(request: web.Request) -> web.Response:
    return web.json_response(
        {
            "path": request.path_qs,
            "body": await request.json(),
            "content_type": request.headers["Content-Type"],
            "user_agent": request.headers["User-Agent"],
            "host": request.headers["Host"],
        }
    )


async def test_posts_go_out_as_json_and_share_one_kept_alive_connection() -> None:
    async with serving(echo) as (port, transports), pool_for(f"http://127.0.0.1:{port}/api/v10") as pool:
        answers = [await pool.post_json(f"/things/{i}?with_response=true", b'{"n": %d}' % i) for i in range(3)]
    assert [a.status for a in answers] == [200, 200, 200]
    first = json.loads(answers[0].body)
    assert first == {
        "path": "/api/v10/things/0?with_response=true",
        "body": {"n": 0},
        "content_type": "application/json",
        "user_agent": "tests/1.0",
        "host": f"127.0.0.1:{port}",
    }
    assert [json.loads(a.body)["body"]["n"] for a in answers] == [0, 1, 2]
    assert len(transports) == 1, "each request opened its own connection"


async def test_a_chunked_answer_is_read_whole() -> None:
    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=201)
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b'{"first": "half", ')
        await response.write(b'"second": "half"}')
        await response.write_eof()
        return response

    async with serving(chunked) as (port, _), pool_for(f"http://127.0.0.1:{port}") as pool:
        answer = await pool.post_json("/x", b"{}")
    assert answer.status == 201
    assert json.loads(answer.body) == {"first": "half", "second": "half"}


async def test_a_connection_the_server_closes_is_not_used_again() -> None:
    async def closing(request: web.Request) -> web.Response:
        response = web.json_response({"ok": True})
        response.force_close()
        return response

    async with serving(closing) as (port, transports), pool_for(f"http://127.0.0.1:{port}") as pool:
        first = await pool.post_json("/x", b"{}")
        second = await pool.post_json("/x", b"{}")
    assert (first.status, second.status) == (200, 200)
    assert len(transports) == 2


@pytest.mark.parametrize(("idle_seconds", "connections"), [(3600.0, 1), (0.0, 3)])
async def test_an_idle_connection_is_reused_only_while_it_is_fresh(idle_seconds: float, connections: int) -> None:
    async with (
        serving(echo) as (port, transports),
        pool_for(f"http://127.0.0.1:{port}", idle_seconds=idle_seconds) as pool,
    ):
        answers = [await pool.post_json("/x", b"{}") for _ in range(3)]
    assert [a.status for a in answers] == [200, 200, 200]
    assert len(transports) == connections


async def test_connections_probe_the_server_when_idle() -> None:
    async with serving(echo) as (port, _), pool_for(f"http://127.0.0.1:{port}") as pool:
        await pool.post_json("/x", b"{}")
        (connection,) = pool._connections  # the options are not visible from the server
        sock = connection._transport.get_extra_info("socket")  # type: ignore[union-attr]
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        if hasattr(socket, "TCP_KEEPIDLE"):
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) < 120, "not before the pool's idle limit"


async def test_requests_beyond_the_connection_cap_wait_for_a_free_connection() -> None:
    arrived: list[int] = []
    first_arrived, let_first_go = asyncio.Event(), asyncio.Event()

    async def held_first(request: web.Request) -> web.Response:
        body = await request.json()
        arrived.append(body["n"])
        if body["n"] == 1:
            first_arrived.set()
            await let_first_go.wait()
        return web.json_response(body)

    async with (
        serving(held_first) as (port, transports),
        pool_for(f"http://127.0.0.1:{port}", max_connections=1) as pool,
    ):
        first = pool.post_json("/x", b'{"n": 1}')
        second = pool.post_json("/x", b'{"n": 2}')
        await asyncio.wait_for(first_arrived.wait(), WAIT)
        assert arrived == [1], "the second request went out while the only connection was busy"
        let_first_go.set()
        answers = await asyncio.wait_for(asyncio.gather(first, second), WAIT)
    assert [json.loads(a.body)["n"] for a in answers] == [1, 2]
    assert arrived == [1, 2]
    assert len(transports) == 1


async def test_tls() -> None:
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    async with (
        serving(echo, server_context) as (port, _),
        pool_for(f"https://127.0.0.1:{port}", ssl_context=client_context) as pool,
    ):
        answer = await pool.post_json("/secure", b'{"over": "tls"}')
    assert answer.status == 200
    assert json.loads(answer.body)["body"] == {"over": "tls"}


async def test_an_untrusted_certificate_is_refused() -> None:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(server_context)
    async with serving(echo, server_context) as (port, _), pool_for(f"https://127.0.0.1:{port}") as pool:
        with pytest.raises(ssl.SSLCertVerificationError):
            await pool.post_json("/secure", b"{}")


ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"


def listening_socket() -> socket.socket:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    return listener


async def next_request(listener: socket.socket) -> socket.socket:
    """The server side of the pool's next connection, once its first request has been read."""
    loop = asyncio.get_running_loop()
    server_side, _ = await asyncio.wait_for(loop.sock_accept(listener), WAIT)
    await asyncio.wait_for(loop.sock_recv(server_side, 65536), WAIT)
    return server_side


async def test_a_request_on_a_free_connection_is_written_before_post_json_returns() -> None:
    with listening_socket() as listener:
        async with pool_for(f"http://127.0.0.1:{listener.getsockname()[1]}") as pool:
            warm_up = pool.post_json("/warm", b"{}")
            with await next_request(listener) as server_side:
                await asyncio.get_running_loop().sock_sendall(server_side, ANSWER)
                await asyncio.wait_for(warm_up, WAIT)

                pool.post_json("/now", b'{"at": "once"}')
                # Blocking read on purpose: the event loop cannot run until it returns, so the request must
                # already have been written, not merely scheduled.
                server_side.setblocking(True)
                server_side.settimeout(WAIT)
                request = server_side.recv(65536)
    assert request.startswith(b"POST /now HTTP/1.1\r\n")
    assert request.endswith(b'\r\n\r\n{"at": "once"}')


async def test_no_answer_in_time_fails_and_drops_the_connection() -> None:
    loop = asyncio.get_running_loop()
    with listening_socket() as listener:
        async with KeepAlivePool(f"http://127.0.0.1:{listener.getsockname()[1]}", user_agent="t", timeout=0.2) as pool:
            unanswered = pool.post_json("/x", b"{}")
            with await next_request(listener) as server_side:
                with pytest.raises(TimeoutError):
                    await unanswered
                closed = await asyncio.wait_for(loop.sock_recv(server_side, 65536), WAIT)
    assert closed == b"", "the connection of a request given up on must be closed, not reused"


async def test_a_connection_lost_before_the_answer_fails_fast_and_the_next_request_gets_a_new_one() -> None:
    with listening_socket() as listener:
        async with pool_for(f"http://127.0.0.1:{listener.getsockname()[1]}") as pool:
            dropped = pool.post_json("/x", b"{}")
            (await next_request(listener)).close()
            with pytest.raises(ConnectionError):
                await asyncio.wait_for(dropped, WAIT)

            retried = pool.post_json("/x", b"{}")
            with await next_request(listener) as second:
                await asyncio.get_running_loop().sock_sendall(second, ANSWER)
                assert (await asyncio.wait_for(retried, WAIT)).status == 200


async def test_a_malformed_answer_fails_with_a_connection_error() -> None:
    loop = asyncio.get_running_loop()
    with listening_socket() as listener:
        async with pool_for(f"http://127.0.0.1:{listener.getsockname()[1]}") as pool:
            answer = pool.post_json("/x", b"{}")
            with await next_request(listener) as server_side:
                await loop.sock_sendall(server_side, b"<html>captive portal</html>\r\n\r\n")
                with pytest.raises(ConnectionError, match="malformed"):
                    await asyncio.wait_for(answer, WAIT)


async def test_a_refused_connection_fails_with_an_os_error() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # nothing listens here once the socket closes
    async with pool_for(f"http://127.0.0.1:{port}") as pool:
        with pytest.raises(ConnectionRefusedError):
            await pool.post_json("/x", b"{}")


async def test_closing_the_pool_fails_a_request_still_connecting() -> None:
    with listening_socket() as listener:  # accepts TCP, never answers the TLS handshake
        pool = KeepAlivePool(f"https://127.0.0.1:{listener.getsockname()[1]}", user_agent="t", timeout=60)
        connecting = pool.post_json("/x", b"{}")
        server_side, _ = await asyncio.wait_for(asyncio.get_running_loop().sock_accept(listener), WAIT)
        with server_side:
            await pool.aclose()
            with pytest.raises(ConnectionError):
                await asyncio.wait_for(connecting, WAIT)


async def test_a_closed_pool_fails_requests_instead_of_sending_them() -> None:
    with listening_socket() as listener:
        pool = KeepAlivePool(f"http://127.0.0.1:{listener.getsockname()[1]}", user_agent="t", timeout=WAIT)
        await pool.aclose()
        with pytest.raises(ConnectionError):
            await pool.post_json("/x", b"{}")


@pytest.mark.parametrize("path", ["/a b", "/a\r\nX-Injected: 1", "no-slash", "/ünïcode"])
async def test_a_target_that_could_break_the_request_line_is_refused(path: str) -> None:
    async with pool_for("http://127.0.0.1:9") as pool:
        with pytest.raises(ValueError, match="printable ASCII"):
            pool.post_json(path, b"{}")


def test_only_http_urls_make_a_pool() -> None:
    with pytest.raises(ValueError, match="not an http"):
        KeepAlivePool("ws://127.0.0.1/gateway", user_agent="t", timeout=1)
