"""Server-sent events (``text/event-stream``), decoded from a response's bytes as they arrive."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ServerSentEvent:
    """One event: its type (``event:``), if named, and its data (``data:`` lines joined by newlines)."""

    event: str | None
    data: bytes


class EventStreamDecoder:
    """Takes a stream's bytes chunk by chunk and returns the events each chunk completes.

    Only ``event:`` and ``data:`` matter here; ``id:``, ``retry:`` and comments are read past, and an event the
    stream ends in the middle of is dropped, as the format says. Lines end in LF or CRLF: a lone CR, which the
    format allows too, is not taken as a line end (no OpenAI-compatible server we know of sends one). One line of
    data may be megabytes (a picture in base64) arriving in dozens of chunks, so each byte is searched for a line
    end once, not once per chunk.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._event: str | None = None
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """The events completed by ``chunk``, in order."""
        searched = len(self._buffer)  # what came before holds no line end: it would have been taken already
        self._buffer += chunk
        events: list[ServerSentEvent] = []
        start = 0
        while (end := self._buffer.find(b"\n", searched)) >= 0:
            line = bytes(self._buffer[start:end]).removesuffix(b"\r")
            start = searched = end + 1
            if not line:
                if self._data:
                    events.append(ServerSentEvent(self._event, b"\n".join(self._data)))
                self._event, self._data = None, []
                continue
            field, _, value = line.partition(b":")
            value = value.removeprefix(b" ")
            if field == b"data":
                self._data.append(value)
            elif field == b"event":
                self._event = value.decode(errors="replace")
        del self._buffer[:start]
        return events
