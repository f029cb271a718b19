"""EventStreamDecoder: the same events however a stream's bytes are cut into reads."""

from bot.services.event_stream import EventStreamDecoder, ServerSentEvent

STREAM = (
    b": a comment the server sends to keep the line open\n"
    b"event: image_generation.partial_image\n"
    b'data: {"type": "image_generation.partial_image"}\n'
    b"\n"
    b"id: 7\r\n"
    b"retry: 1000\r\n"
    b"event: image_generation.completed\r\n"
    b"data: first line\r\n"
    b"data:second line\r\n"
    b"\r\n"
    b"\n"
    b"data: [DONE]\n"
    b"\n"
)
EVENTS = [
    ServerSentEvent("image_generation.partial_image", b'{"type": "image_generation.partial_image"}'),
    ServerSentEvent("image_generation.completed", b"first line\nsecond line"),
    ServerSentEvent(None, b"[DONE]"),
]


def decode(chunks: list[bytes]) -> list[ServerSentEvent]:
    decoder = EventStreamDecoder()
    return [event for chunk in chunks for event in decoder.feed(chunk)]


def test_a_stream_read_whole_gives_each_event_with_its_type_and_data() -> None:
    assert decode([STREAM]) == EVENTS


def test_every_way_of_cutting_the_stream_in_two_or_into_single_bytes_gives_the_same_events() -> None:
    for cut in range(len(STREAM) + 1):
        assert decode([STREAM[:cut], STREAM[cut:]]) == EVENTS, f"cut at byte {cut}"
    assert decode([STREAM[i : i + 1] for i in range(len(STREAM))]) == EVENTS


def test_an_event_the_stream_ends_in_the_middle_of_is_dropped() -> None:
    assert decode([b"event: image_generation.completed\ndata: half an ima"]) == []
    assert decode([b"data: complete but never ended by a blank line\n"]) == []


def test_a_line_of_megabytes_in_many_reads_comes_out_whole() -> None:
    data = b"A" * 3_000_000
    body = b"data: " + data + b"\n\n"
    chunks = [body[i : i + 65_536] for i in range(0, len(body), 65_536)]
    assert decode(chunks) == [ServerSentEvent(None, data)]
