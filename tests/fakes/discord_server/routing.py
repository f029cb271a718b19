"""REST plumbing: a request under ``/api/v10`` matched to its route, read, checked against the spec, recorded and
answered, with Discord's error bodies for whatever goes wrong."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from aiohttp import BodyPartReader, web

from tests.fakes.discord_server import spec
from tests.fakes.discord_server.state import RecordedRequest

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from tests.fakes.discord_server.spec import SpecChecks
    from tests.fakes.discord_server.state import DiscordState

_FILE_PART = re.compile(r"files\[(\d+)\]")


class Upload(NamedTuple):
    """A file part of a multipart request."""

    filename: str
    content_type: str | None
    data: bytes


@dataclass
class Call:
    """What a route's handler gets."""

    params: dict[str, str]
    query: dict[str, str]
    body: Any
    uploads: dict[int, Upload]  # by the N of their files[N] part
    received_at: float  # time.perf_counter() when the handler first saw the request
    where: str  # "METHOD /route/template", for notes


@dataclass
class Reply:
    """A handler's answer: a status, and a JSON body or none."""

    status: int
    body: Any = None


class ApiError(Exception):
    """Answer a request with a Discord error body (and note ``violation``, if the bot made a mistake)."""

    def __init__(self, status: int, code: int, message: str, violation: str | None = None) -> None:
        super().__init__(message)
        self.reply = Reply(status, {"message": message, "code": code})
        self.violation = violation


class DroppedConnectionError(Exception):
    """The request was applied, but its connection is cut before any answer."""


@dataclass
class Route:
    """One route of the spec the fake serves: its handler, and whether it takes the bot's token."""

    method: str
    template: str
    handler: Callable[[Call], Awaitable[Reply]]
    auth: bool
    pattern: re.Pattern[str] = field(init=False, repr=False)  # matches the template's paths, naming their parameters

    def __post_init__(self) -> None:
        parts = [f"(?P<{s[1:-1]}>[^/]+)" if s.startswith("{") else re.escape(s) for s in self.template.split("/")]
        self.pattern = re.compile("/".join(parts))


def _dump(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class Router:
    """Serves ``/api/v10/{tail}`` with ``routes`` (every one of them in the spec), recording each request."""

    def __init__(self, state: DiscordState, checks: SpecChecks, routes: list[Route]) -> None:
        spec.require_routes(route.template for route in routes)
        self._state = state
        self._checks = checks
        self._routes = routes

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Answer one REST request; it was received when this starts, on the clock of ``dispatched_at``."""
        received_at = time.perf_counter()
        state = self._state
        path = "/" + request.match_info["tail"]
        matches = [(r, m) for r in self._routes if (m := r.pattern.fullmatch(path))]
        route, match = next(((r, m) for r, m in matches if r.method == request.method), (None, None))
        recorded = RecordedRequest(
            request.method, route.template if route else "", path, dict(request.query), None, received_at
        )
        state.requests.append(recorded)
        try:
            if route is None or match is None:
                status, message = (405, "405: Method Not Allowed") if matches else (404, "404: Not Found")
                raise ApiError(status, 0, message, f"{request.method} {path}: the fake serves no such route")
            if route.auth and request.headers.get("Authorization") != f"Bot {state.token}":
                raise ApiError(401, 0, "401: Unauthorized")
            call = await self._read_call(request, route, match.groupdict(), received_at)
            recorded.json = call.body
            recorded.files = [f"files[{i}]" for i in call.uploads]
            reply = await route.handler(call)
        except DroppedConnectionError:
            await state.notify()
            if request.transport is not None:
                request.transport.abort()
            raise
        except ApiError as error:
            if error.violation:
                state.violation(error.violation)
            reply = error.reply
        except (KeyError, TypeError, ValueError, AttributeError) as error:  # a body the spec check already flagged
            state.violation(f"{request.method} {route.template if route else path}: malformed request ({error!r})")
            reply = Reply(400, {"message": "Invalid Form Body", "code": 50035})
        recorded.status = reply.status
        if route is not None:
            self._checks.response(route.method, route.template, reply.status, reply.body)
        await state.notify()
        if reply.body is None:
            return web.Response(status=reply.status)
        return web.Response(status=reply.status, body=_dump(reply.body), headers={"Content-Type": "application/json"})

    async def _read_call(self, request: web.Request, route: Route, params: dict[str, str], at: float) -> Call:
        where = f"{route.method} {route.template}"
        operation = spec.operation(route.method, route.template)
        self._checks.query(where, operation, request.query)
        body: Any = None
        uploads: dict[int, Upload] = {}
        multipart = request.content_type == "multipart/form-data"
        if multipart:
            body, uploads = await self._read_multipart(request, where)
        elif request.body_exists:
            raw = await request.read()
            try:
                body = json.loads(raw)
            except ValueError:
                raise ApiError(
                    400, 50109, "The request body contains invalid JSON.", f"{where}: invalid JSON"
                ) from None
            if request.content_type != "application/json":
                self._state.violation(f"{where}: JSON body sent as {request.content_type!r}")
        self._checks.request(where, operation, body, "multipart/form-data" if multipart else "application/json")
        return Call(params, dict(request.query), body, uploads, at, where)

    async def _read_multipart(self, request: web.Request, where: str) -> tuple[Any, dict[int, Upload]]:
        body: Any = None
        uploads: dict[int, Upload] = {}
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                self._state.violation(f"{where}: nested multipart body")
                continue
            name = part.name or ""
            if name == "payload_json":
                body = json.loads(await part.text())
            elif index := _FILE_PART.fullmatch(name):
                content_type = part.headers.get("Content-Type")
                uploads[int(index.group(1))] = Upload(part.filename or name, content_type, await part.read())
            else:
                self._state.violation(f"{where}: unexpected multipart part {name!r}")
        if body is None:
            self._state.violation(f"{where}: multipart request without payload_json")
        return body, uploads
