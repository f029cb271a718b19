"""When a request reached this machine, as the kernel saw it, rather than when the fake's event loop read it.

Under a burst the fake's own event loop, busy sending events and answering earlier requests, can get round to
reading a request tens of milliseconds after it arrived; stamping it then would charge that wait to the client.
On Linux each connection the listener accepts reads with ``SO_TIMESTAMP``, which gives every read the time its
last packet arrived. Elsewhere, and for packets that came before the kernel switched its stamping on (it does
that shortly after the first socket asks for it), there is no kernel stamp and callers stamp the moment they read.
"""

import asyncio
import contextlib
import socket
import struct
import sys
import time

_SO_TIMESTAMP = 29  # Linux's value; the socket module does not name it
_TIMEVAL = struct.Struct("@ll")  # struct timeval: seconds and microseconds, in the machine's longs
_ANCILLARY_SPACE = socket.CMSG_SPACE(_TIMEVAL.size)

# By file descriptor: the arrival of the latest read's data on the time.perf_counter() clock, until taken.
_arrivals: dict[int, float] = {}
stamped_reads = 0  # reads the kernel stamped so far


class _StampedConnection(socket.socket):
    """An accepted connection that notes the kernel's arrival time of what each ``recv`` returns."""

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        data, ancillary, _, _ = self.recvmsg(bufsize, _ANCILLARY_SPACE, flags)
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMP:
                seconds, microseconds = _TIMEVAL.unpack(payload[: _TIMEVAL.size])
                waited = max(0.0, time.time() - (seconds + microseconds / 1e6))
                _arrivals[self.fileno()] = time.perf_counter() - waited
                global stamped_reads  # noqa: PLW0603 - a counter for tests to wait on
                stamped_reads += 1
        return data

    def close(self) -> None:
        _arrivals.pop(self.fileno(), None)  # never a stamp for the next connection given this descriptor
        super().close()


class _StampingListener(socket.socket):
    """A listening socket whose accepted connections are :class:`_StampedConnection` s."""

    def accept(self) -> tuple[socket.socket, object]:
        descriptor, address = self._accept()  # type: ignore[attr-defined]  # what socket.accept() itself calls
        connection = _StampedConnection(self.family, self.type, self.proto, fileno=descriptor)
        with contextlib.suppress(OSError):  # a kernel without it: its reads are stamped when read instead
            connection.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMP, 1)
        return connection, address


def listening_socket(host: str, backlog: int) -> socket.socket:
    """A TCP socket listening on a free port of ``host``, for ``loop.create_server(sock=...)``."""
    listener = (_StampingListener if sys.platform == "linux" else socket.socket)(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind((host, 0))
        listener.listen(backlog)
    except OSError:
        listener.close()
        raise
    return listener


def take_arrival(transport: asyncio.BaseTransport) -> float | None:
    """When the data ``transport`` just read arrived (``time.perf_counter()``), if the kernel said."""
    connection = transport.get_extra_info("socket")
    return None if connection is None else _arrivals.pop(connection.fileno(), None)
