"""The OpenAI-compatible server over a plain aiohttp session, reached as the shared ``AsyncOpenAI`` client reaches
it: for the two requests on every job's way to its picture, the prompt's moderation and the streamed generation.

The SDK builds each request anew, checking headers and URLs through its own HTTP client's models, and wraps a
stream in several layers of async generators: under a burst, a third of the event loop's time went to its image
call, and without it the bot's CPU per job fell from 7.2 to 4.7 ms. Everything else (generations that do not
stream, from proxies that answer with links too) stays on the SDK.
"""

import urllib.request
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from http import HTTPStatus
from urllib.parse import urlsplit

import aiohttp
import httpx2
import openai
import yarl

# As the SDK's own pool: a stream holds its connection for a whole generation, and waiting for a free one counts
# against the time to connect; idle connections are dropped before a proxy with a short keep-alive would drop them.
CONNECTION_LIMIT = 1000
KEEPALIVE_SECONDS = 5.0

# What a request raises, besides TimeoutError, when the server cannot be reached or stops answering: aiohttp's own
# errors, a header it refuses (ValueError) and a session closed at shutdown (RuntimeError). The SDK reported each of
# them as a connection error.
UNREACHABLE_ERRORS = (aiohttp.ClientError, ValueError, RuntimeError)


def phase_timeout(seconds: float) -> aiohttp.ClientTimeout:
    """A limit on connecting and on each wait for the answer's next bytes, as the SDK's timeout is: never on the
    whole exchange, so neither sending a picture on a slow line nor a long stream is cut short."""
    return aiohttp.ClientTimeout(total=None, connect=seconds, sock_read=seconds)


def succeeded(response: aiohttp.ClientResponse) -> bool:
    """Whether the server answered with a success: any 2xx, as the SDK takes it."""
    return HTTPStatus.OK <= response.status < HTTPStatus.MULTIPLE_CHOICES


class OpenAIEndpoint:
    """Posts JSON bodies below the client's base URL with its credentials (see :func:`openai_endpoint`)."""

    def __init__(self, session: aiohttp.ClientSession, *, headers: Mapping[str, str]) -> None:
        self._session = session
        self._headers = headers

    async def post(self, path: str, body: bytes, *, limits: aiohttp.ClientTimeout) -> aiohttp.ClientResponse:
        """Send ``body`` to ``path`` (relative to the base URL); the caller reads and releases the response.
        Raises ``TimeoutError`` or one of :data:`UNREACHABLE_ERRORS`."""
        return await self._session.post(path, data=body, headers=self._headers, timeout=limits)


@asynccontextmanager
async def openai_endpoint(client: openai.AsyncOpenAI) -> AsyncIterator[OpenAIEndpoint]:
    """An :class:`OpenAIEndpoint` for the server ``client`` talks to, as ``client`` would: its base URL, key,
    organisation and project, its TLS trust, and the environment's proxy for that URL (looked up once, here: aiohttp's
    ``trust_env`` would look it up per request, in two worker-thread round trips)."""
    headers = {
        "Authorization": f"Bearer {client.api_key}",
        "Content-Type": "application/json",
        "User-Agent": client.user_agent,
    }
    if client.organization:
        headers["OpenAI-Organization"] = client.organization
    if client.project:
        headers["OpenAI-Project"] = client.project
    base_url = str(client.base_url)
    # The headers go with each request, not as the session's defaults: aiohttp copies those into what it sends a
    # proxy, and would hand the key to it as the proxy's credentials. A proxy's own come from its URL.
    async with aiohttp.ClientSession(
        base_url=base_url,
        connector=aiohttp.TCPConnector(
            ssl=httpx2.create_ssl_context(),  # the SDK's own certificate trust
            limit=CONNECTION_LIMIT,
            keepalive_timeout=KEEPALIVE_SECONDS,
        ),
        timeout=aiohttp.ClientTimeout(total=None),  # each request brings its own (see phase_timeout)
        proxy=environment_proxy(base_url),
    ) as session:
        yield OpenAIEndpoint(session, headers=headers)


def environment_proxy(url: str) -> yarl.URL | None:
    """The proxy the environment sets for ``url`` (``HTTPS_PROXY`` or ``HTTP_PROXY``, else ``ALL_PROXY``, unless
    ``NO_PROXY`` exempts its host), as the SDK's HTTP client picks it; with its credentials, if it has any."""
    parts = urlsplit(url)
    if not parts.hostname or urllib.request.proxy_bypass(parts.netloc):
        return None
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy:
        return None
    return yarl.URL(proxy if "://" in proxy else f"http://{proxy}")  # "proxy:3128" means an HTTP proxy
