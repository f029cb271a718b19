"""Pictures members give to remix: where they may come from, what they must be, and how they are kept."""

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from bot.core.errors import DownloadTooLargeError, ImageRetrievalError, InputImageError, ResultGoneError
from bot.core.images.inputs import (
    INPUT_MAX_EDGE,
    MAX_INPUT_BYTES,
    InputImages,
    InputSource,
    prepare_input,
)
from storage.database import open_database
from storage.image_inputs import ImageInputsRepository

CDN = "https://cdn.discordapp.com/attachments/1/2/"


def encoded(
    size: tuple[int, int], image_format: str = "PNG", mode: str = "RGB", colour: object = (200, 30, 30)
) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, format=image_format)
    return buffer.getvalue()


def test_a_picture_within_limits_is_kept_as_it_is() -> None:
    data = encoded((640, 480), "JPEG")
    picture = prepare_input(data)
    assert (picture.data, picture.extension, picture.width, picture.height) == (data, "jpeg", 640, 480)


def test_a_large_picture_is_shrunk_to_what_the_models_take_in_its_own_format() -> None:
    picture = prepare_input(encoded((4000, 1000), "WEBP"))
    assert (picture.extension, picture.width, picture.height) == ("webp", INPUT_MAX_EDGE, INPUT_MAX_EDGE // 4)
    assert Image.open(io.BytesIO(picture.data)).format == "WEBP"


@pytest.mark.parametrize("edge", [8_000, 15_000], ids=["over our limit", "over Pillow's too"])
def test_a_decompression_bomb_is_refused_before_it_is_expanded(edge: int) -> None:
    bomb = encoded((edge, edge), mode="1", colour=0)  # a small file declaring tens of millions of pixels
    assert len(bomb) < 100_000
    with pytest.raises(InputImageError) as refused:
        prepare_input(bomb)
    assert refused.value.reason == "pixels"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (encoded((64, 64), "GIF", mode="P", colour=1), "format"),
        (encoded((64, 64), "BMP"), "format"),
        (b"%PDF-1.7 not a picture", "unreadable"),
        (encoded((64, 64))[:60], "unreadable"),  # a PNG cut short
    ],
    ids=["gif", "bmp", "not an image", "truncated"],
)
def test_only_whole_png_jpeg_and_webp_pictures_pass(data: bytes, reason: str) -> None:
    with pytest.raises(InputImageError) as refused:
        prepare_input(data)
    assert refused.value.reason == reason


@pytest.fixture
async def repository(tmp_path: Path) -> AsyncIterator[ImageInputsRepository]:
    async with open_database(tmp_path / "bot.db") as database:
        yield ImageInputsRepository(database)


async def test_pictures_are_fetched_checked_and_kept_in_order(repository: ImageInputsRepository) -> None:
    served = {CDN + "a.png": encoded((32, 32)), CDN + "b.jpg": encoded((48, 16), "JPEG")}
    fetched: list[str] = []

    async def fetch(url: str) -> bytes:
        fetched.append(url)
        return served[url]

    inputs = InputImages(fetch, repository)
    input_id, pictures = await inputs.take(
        [InputSource(CDN + "a.png", 100), InputSource(CDN + "b.jpg")], guild_id=1, user_id=2
    )
    assert [(p.extension, p.width) for p in pictures] == [("png", 32), ("jpeg", 48)]
    assert await inputs.kept(input_id) == pictures
    assert sorted(fetched) == sorted(served)


@pytest.mark.parametrize(
    ("source", "failure", "reason"),
    [
        (InputSource("https://evil.example/a.png"), None, "not_discord"),
        (InputSource("file:///etc/passwd"), None, "not_discord"),
        (InputSource(CDN + "a.png", MAX_INPUT_BYTES + 1), None, "too_large"),
        (InputSource(CDN + "a.png"), DownloadTooLargeError("cap"), "too_large"),
        (InputSource(CDN + "a.png"), ImageRetrievalError("timed out"), "unreachable"),
    ],
    ids=["another host", "another scheme", "declared too large", "too large on the way", "unreachable"],
)
async def test_a_picture_that_cannot_be_had_is_named_and_nothing_is_kept(
    repository: ImageInputsRepository, source: InputSource, failure: Exception | None, reason: str
) -> None:
    fetched: list[str] = []

    async def fetch(url: str) -> bytes:
        fetched.append(url)
        if failure is not None and url == source.url:
            raise failure
        return encoded((8, 8))

    inputs = InputImages(fetch, repository)
    with pytest.raises(InputImageError) as refused:
        await inputs.take([InputSource(CDN + "ok.png"), source], guild_id=1, user_id=2)
    assert (refused.value.reason, refused.value.picture) == (reason, 2)
    if failure is None:
        assert source.url not in fetched, "refused before fetching"
    with pytest.raises(ResultGoneError):
        await inputs.kept(1)


async def test_no_pictures_is_said_so(repository: ImageInputsRepository) -> None:
    async def fetch(url: str) -> bytes:
        raise AssertionError(url)

    with pytest.raises(InputImageError) as refused:
        await InputImages(fetch, repository).take([], guild_id=1, user_id=2)
    assert refused.value.reason == "none"
