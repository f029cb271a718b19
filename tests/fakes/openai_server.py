"""A local fake of the OpenAI Images (generations and edits), Models and Moderations HTTP API for end-to-end tests.

``FakeOpenAI`` is a real aiohttp server on 127.0.0.1, so the bot talks to it through the real ``openai`` client.
It records every request, can script failures (errors, rate limits, hangs), refuses image requests a model would
refuse (unknown or shut-down model, size, background, quality, edits, unreadable input images), and checks every
request it receives and every response it sends against OpenAI's published OpenAPI spec, collecting problems in
``contract_violations``.
"""

import asyncio
import base64
import binascii
import io
import itertools
import json
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from typing import Any, Self

from aiohttp import BodyPartReader, web
from PIL import Image

from tests.fakes.contract import ApiContract, NoContract, openai_contract

IMAGES_PATH = "/v1/images/generations"
EDITS_PATH = "/v1/images/edits"
MAX_REQUEST_BYTES = 50 * 1024 * 1024
MODELS_PATH = "/v1/models"
MODERATIONS_PATH = "/v1/moderations"

# What ``GET /v1/models`` lists by default (none with a shutdown date): the image models active on 2026-12-02, and a
# few others an account also sees.
ACTIVE_IMAGE_MODELS = (
    "gpt-image-2",
    "gpt-image-2-2026-04-21",
    "gpt-image-2.5-flare",
    "gpt-image-2.5-flare-2026-09-08",
    "gpt-image-2.5-sunburst",
    "gpt-image-2.5-sunburst-2026-09-08",
    "gpt-image-2.6-flare",
    "gpt-image-2.6-sunburst",
)
OTHER_MODELS = ("gpt-5", "gpt-5-mini", "omni-moderation-latest", "text-embedding-3-small")
_MODEL_CREATED = 1_776_729_600  # 2026-04-21, for every listed model

MODERATION_CATEGORIES = (
    "hate",
    "hate/threatening",
    "harassment",
    "harassment/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
# Categories whose score the omni moderation model also computes from images.
IMAGE_CATEGORIES = frozenset(
    {"self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "violence", "violence/graphic"}
)
DEFAULT_MODERATION_SCORE = 0.0001

# Sizes the spec allows in ImagesResponse / streaming events; others are left out or reported as "auto".
_SPEC_SIZES = frozenset({"1024x1024", "1024x1536", "1536x1024"})
_STANDARD_SIZES = ("1024x1024", "1536x1024", "1024x1536")
# The 2026-08-21 spec predates the `xhigh` and `max` qualities of the gpt-image-2.5 and 2.6 models, which the API
# accepts and echoes (the openai SDK's types list them). Bodies carrying one are checked as if it were `high`, so the
# rest of the body is still checked; which models take them is the fake's own rule (``_IMAGE_FAMILIES``).
_NEWER_QUALITIES = frozenset({"xhigh", "max"})
_QUALITIES = frozenset({"low", "medium", "high"}) | _NEWER_QUALITIES
_OUTPUT_TOKENS = {"low": 272, "medium": 1056, "high": 4160, "xhigh": 7000, "max": 14000}
_SIZE_PATTERN = re.compile(r"(\d+)x(\d+)")
_MAX_EDGE = 3840  # the largest edge the API accepts (gpt-image-2); also keeps a typo from allocating gigabytes
_MIN_PIXELS, _MAX_PIXELS = 655_360, 8_294_400
_PIL_FORMATS = {"png": "PNG", "webp": "WEBP", "jpeg": "JPEG"}
_CONTENT_TYPES = {"png": "image/png", "webp": "image/webp", "jpeg": "image/jpeg"}
_INPUT_FORMATS = ("PNG", "JPEG", "WEBP")  # what an edit's input images may be (Pillow's names)
_INPUT_TYPES = frozenset({"image/png", "image/jpeg", "image/webp"})
_IMAGE_PARTS = frozenset({"image", "image[]"})  # the SDK names the parts of a list of images ``image[]``
# Multipart form values arrive as strings; these fields are integers or booleans in ``CreateImageEditRequest``.
_FORM_INTEGERS = frozenset({"n", "output_compression", "partial_images"})
_FORM_BOOLEANS = frozenset({"stream"})
_INTEGER = re.compile(r"-?\d+")
_CORNER = 16  # the edge of the corner an edit paints in its first input's colour: one whole JPEG block
_COLOUR_TOLERANCE = 8  # per channel, so a re-encoded (e.g. JPEG) copy of a picture still has its colour
_DATA_URL = re.compile(r"data:[^,;]*;base64,(.*)", re.DOTALL)

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_REQUEST_ID = web.RequestKey("request_id", str)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@cache
def gradient_png(size: str) -> bytes:
    """A real PNG of exactly ``size`` ("WxH"): a smooth colour gradient, small once compressed; cached per size."""
    width, height = _parse_size(size)
    horizontal = Image.linear_gradient("L").rotate(90).resize((width, height))
    vertical = Image.linear_gradient("L").resize((width, height))
    blue = Image.new("L", (width, height), 160)
    return _png(Image.merge("RGB", (horizontal, vertical, blue)))


@cache
def partial_png(size: str, index: int) -> bytes:
    """A flat grey PNG of exactly ``size``: the "blurry" early frame ``index`` of a streamed generation."""
    shade = 64 + 48 * index
    return _png(Image.new("RGB", _parse_size(size), (shade, shade, shade)))


@lru_cache(maxsize=64)
def encode_image(png: bytes, output_format: str = "png", compression: int = 100, *, transparent: bool = False) -> bytes:
    """``png`` re-encoded as ``output_format`` (webp and jpeg at Pillow quality ``compression``); ``transparent`` makes
    its outer border (a sixteenth of the short edge) fully transparent. A plain PNG is returned untouched."""
    if output_format == "png" and not transparent:
        return png
    with Image.open(io.BytesIO(png)) as source:
        image = source.convert("RGBA" if transparent else "RGB")
    if transparent:
        width, height = image.size
        border = max(1, min(width, height) // 16)
        alpha = Image.new("L", image.size, 0)
        if width > 2 * border and height > 2 * border:
            alpha.paste(255, (border, border, width - border, height - border))
        image.putalpha(alpha)
    buffer = io.BytesIO()
    options = {} if output_format == "png" else {"quality": compression}
    image.save(buffer, format=_PIL_FORMATS[output_format], **options)
    return buffer.getvalue()


def _parse_size(size: str) -> tuple[int, int]:
    match = _SIZE_PATTERN.fullmatch(size)
    width, height = (int(match[1]), int(match[2])) if match else (0, 0)
    if not (0 < width <= _MAX_EDGE and 0 < height <= _MAX_EDGE):
        raise ValueError(f"not a supported WxH size: {size!r}")
    return width, height


def _flexible_size_ok(size: str) -> bool:
    """gpt-image-2 and 2.5 sizes: edges multiples of 16 up to 3840, at most 3:1, 655,360 to 8,294,400 pixels."""
    match = _SIZE_PATTERN.fullmatch(size)
    if match is None:
        return False
    width, height = int(match[1]), int(match[2])
    return (
        width % 16 == 0
        and height % 16 == 0
        and max(width, height) <= _MAX_EDGE
        and max(width, height) <= 3 * min(width, height)
        and _MIN_PIXELS <= width * height <= _MAX_PIXELS
    )


def _as_spec_knows(body: Any) -> Any:
    """``body`` with a quality newer than the spec replaced by ``high`` (see ``_NEWER_QUALITIES``)."""
    if isinstance(body, dict) and body.get("quality") in _NEWER_QUALITIES:
        return {**body, "quality": "high"}
    return body


def _open_image(data: bytes) -> Image.Image | None:
    """``data`` fully decoded by Pillow if it is a PNG, JPEG or WebP image, else None."""
    try:
        image = Image.open(io.BytesIO(data), formats=_INPUT_FORMATS)
        image.load()
    except (OSError, Image.DecompressionBombError):
        return None
    return image


def _top_left(image: Image.Image) -> tuple[int, ...]:
    """The RGB colour of ``image``'s top-left pixel."""
    return tuple(image.crop((0, 0, 1, 1)).convert("RGB").tobytes())


def _data_url_colour(url: str) -> tuple[int, ...] | None:
    """The top-left colour of the image in a base64 ``data:`` URL; None for other URLs and unreadable images."""
    match = _DATA_URL.fullmatch(url)
    try:
        image = _open_image(base64.b64decode(match[1], validate=True)) if match else None
    except binascii.Error:
        return None
    return None if image is None else _top_left(image)


def _near(colour: tuple[int, ...], other: tuple[int, ...]) -> bool:
    return all(abs(a - b) <= _COLOUR_TOLERANCE for a, b in zip(colour, other, strict=True))


def _with_corner(png: bytes, colour: tuple[int, ...]) -> bytes:
    """``png`` as an RGB PNG whose top-left ``_CORNER``-pixel square is ``colour``."""
    with Image.open(io.BytesIO(png)) as source:
        image = source.convert("RGB")
    image.paste(colour, (0, 0, min(_CORNER, image.width), min(_CORNER, image.height)))
    return _png(image)


@dataclass(frozen=True)
class _ImageFamily:
    """What the models whose names start with ``prefix`` accept."""

    prefix: str
    flexible_sizes: bool  # any size ``_flexible_size_ok`` takes, else only ``_STANDARD_SIZES``
    transparent: bool
    newer_qualities: bool  # xhigh and max
    edits: bool  # takes ``POST /v1/images/edits``


# First match wins; other listed ``gpt-image-``/``chatgpt-image-`` models take the standard sizes and qualities. Edits:
# the API documents them for gpt-image-2 and its 2026-04-21 snapshot, the 2.5 models and their 2026-09-08 snapshots,
# and the older GPT image models, not for the 2.6 models.
_IMAGE_FAMILIES = (
    _ImageFamily("gpt-image-2.6-", flexible_sizes=False, transparent=True, newer_qualities=True, edits=False),
    _ImageFamily("gpt-image-2.5-", flexible_sizes=True, transparent=True, newer_qualities=True, edits=True),
    _ImageFamily("gpt-image-2", flexible_sizes=True, transparent=False, newer_qualities=False, edits=True),
    _ImageFamily("gpt-image-", flexible_sizes=False, transparent=True, newer_qualities=False, edits=True),
    _ImageFamily("chatgpt-image-", flexible_sizes=False, transparent=True, newer_qualities=False, edits=True),
)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it."""

    path: str
    headers: dict[str, str]  # lower-cased names
    json: dict[str, Any]  # {} when the body was not a JSON object
    received_at: float  # time.perf_counter() on arrival, before any latency
    request_id: str = ""  # the x-request-id the fake answered with


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart request."""

    field: str  # the form field: "image[]", "image" or "mask"
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass(frozen=True)
class RecordedEdit:
    """One ``POST /v1/images/edits`` as the fake received it (a multipart form)."""

    path: str
    headers: dict[str, str]  # lower-cased names
    fields: dict[str, str]  # the text parts as sent: numbers and booleans are strings too
    images: list[UploadedFile]  # the ``image[]`` (or ``image``) parts, in order
    mask: UploadedFile | None
    received_at: float  # time.perf_counter() on arrival, before any latency
    request_id: str = ""  # the x-request-id the fake answered with


def _form_body(fields: dict[str, str], images: list[UploadedFile], mask: UploadedFile | None) -> dict[str, Any]:
    """An edit form as ``CreateImageEditRequest`` types it: integers and booleans parsed (a value that does not parse
    stays a string for the schema to refuse), each file a placeholder string, ``image`` a list unless a lone ``image``
    part (not ``image[]``) was sent."""
    body: dict[str, Any] = {}
    for name, value in fields.items():
        if name in _FORM_INTEGERS and _INTEGER.fullmatch(value):
            body[name] = int(value)
        elif name in _FORM_BOOLEANS and value.lower() in {"true", "false"}:
            body[name] = value.lower() == "true"
        else:
            body[name] = value
    if images:
        body["image"] = "<file>" if [image.field for image in images] == ["image"] else ["<file>"] * len(images)
    if mask is not None:
        body["mask"] = "<file>"
    return body


@dataclass(frozen=True)
class Failure:
    """A scripted error answer; build one with the classmethods (``Failure.hang()`` is attached below the class)."""

    status: int
    code: str | None
    error_type: str
    message: str
    headers: dict[str, str]
    hang: bool = False
    param: str | None = None

    @classmethod
    def server_error(cls, status: int = 500) -> Self:
        """An upstream 5xx, which the SDK retries."""
        message = "The server had an error while processing your request. Sorry about that!"
        return cls(status, None, "server_error", message, {})

    @classmethod
    def rate_limited(cls, retry_after: str = "0") -> Self:
        """A 429 rate limit with ``retry-after`` (seconds) and ``retry-after-ms``.

        The SDK prefers ``retry-after-ms`` and ignores a zero delay (falling back to ~0.5 s exponential backoff), so
        ``retry-after-ms`` mirrors ``retry_after`` but is at least 1 ms: the default retries almost at once.
        """
        retry_after_ms = max(1, round(float(retry_after) * 1000))
        message = (
            "Rate limit exceeded for images per minute in organization org-fake. Limit: 5/1min. Current: 6/1min. "
            "Please try again later."
        )
        headers = {"retry-after": retry_after, "retry-after-ms": str(retry_after_ms)}
        return cls(429, "rate_limit_exceeded", "requests", message, headers)

    @classmethod
    def insufficient_quota(cls) -> Self:
        """The 429 an account without credit gets; retrying does not help."""
        message = (
            "You exceeded your current quota, please check your plan and billing details. For more information on "
            "this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors."
        )
        return cls(429, "insufficient_quota", "insufficient_quota", message, {})

    @classmethod
    def moderation_blocked(cls) -> Self:
        """The GPT image models' safety refusal."""
        message = (
            "Your request was rejected by the safety system. If you believe this is an error, contact us at "
            "help.openai.com and include the request ID."
        )
        return cls(400, "moderation_blocked", "image_generation_user_error", message, {})

    @classmethod
    def content_policy_violation(cls) -> Self:
        """The retired DALL·E safety refusal, still sent by OpenAI-compatible proxies."""
        message = (
            "Your request was rejected as a result of our safety system. Your prompt may contain text that is not "
            "allowed by our safety system."
        )
        return cls(400, "content_policy_violation", "invalid_request_error", message, {})

    @classmethod
    def unverified_organization(cls) -> Self:
        """The 403 for GPT image models used by an organization that has not been verified."""
        message = (
            "Your organization must be verified to use the model `gpt-image-1`. Please go to: "
            "https://platform.openai.com/settings/organization/general and click on Verify Organization. If you just "
            "verified, it can take up to 15 minutes for access to propagate."
        )
        return cls(403, None, "invalid_request_error", message, {})

    @classmethod
    def invalid_api_key(cls) -> Self:
        """A 401 for a wrong API key."""
        message = (
            "Incorrect API key provided: sk-****. You can find your API key at "
            "https://platform.openai.com/account/api-keys."
        )
        return cls(401, "invalid_api_key", "invalid_request_error", message, {})

    @classmethod
    def bad_request(cls, code: str = "invalid_value", param: str | None = None, message: str | None = None) -> Self:
        """A 400 invalid request, e.g. an unsupported ``size``."""
        message = message or (f"Invalid value for {param!r}." if param else "Invalid request.")
        return cls(400, code, "invalid_request_error", message, {}, param=param)

    @classmethod
    def model_not_found(cls, model: str) -> Self:
        """The 404 for a model that does not exist, was shut down, or the account cannot use."""
        message = f"The model `{model}` does not exist or you do not have access to it."
        return cls(404, "model_not_found", "invalid_request_error", message, {})


def _today() -> date:
    return datetime.now(UTC).date()


def _hang(cls: type[Failure]) -> Failure:
    """Never answers until ``release_hung()`` or the server closes, then answers a 500."""
    return cls(500, None, "server_error", "The request was released without an answer.", {}, hang=True)


# ``Failure.hang()`` builds a hanging failure while ``failure.hang`` is the field. Defining the classmethod inside the
# class body would replace the field's ``False`` default with the classmethod object, so it is attached afterwards.
Failure.hang = classmethod(_hang)  # type: ignore[assignment,method-assign]


def _option_failure(body: dict[str, Any]) -> Failure | None:
    """Output options no model takes."""
    compression = body.get("output_compression")
    if compression is not None and not 0 <= compression <= 100:
        return Failure.bad_request(param="output_compression")
    if body.get("background") == "transparent" and body.get("output_format") == "jpeg":
        message = "Transparent backgrounds need output_format `png` or `webp`."
        return Failure.bad_request(param="background", message=message)
    return None


def _family_failure(model: str, family: _ImageFamily, body: dict[str, Any]) -> Failure | None:
    """What ``model`` (of ``family``) refuses in ``body``."""
    size = body.get("size") or "auto"
    if size != "auto" and not (_flexible_size_ok(size) if family.flexible_sizes else size in _STANDARD_SIZES):
        return Failure.bad_request(param="size", message=f"Invalid size {size!r} for model `{model}`.")
    if body.get("background") == "transparent" and not family.transparent:
        message = f"Transparent backgrounds are not supported for model `{model}`."
        return Failure.bad_request(param="background", message=message)
    if body.get("quality") in _NEWER_QUALITIES and not family.newer_qualities:
        return Failure.bad_request(param="quality", message=f"Invalid quality {body['quality']!r} for model `{model}`.")
    return None


def _input_failure(record: RecordedEdit) -> Failure | None:
    """The 400 the API gives an edit's files: an image not sent as a file, not sent as or not decoding as a PNG, JPEG
    or WebP, or a mask that is not a PNG of the first image's size."""
    sizes = []
    for number, part in enumerate(record.images, 1):
        if part.filename is None:  # a text field, e.g. a path instead of the file
            message = "Invalid type for 'image': expected a file, but got a string instead."
            return Failure.bad_request("invalid_type", "image", message)
        if part.content_type not in _INPUT_TYPES:
            message = (
                f"Invalid file 'image': unsupported mimetype ('{part.content_type}'). Supported file formats are "
                "'image/jpeg', 'image/png', and 'image/webp'."
            )
            return Failure.bad_request("unsupported_file_mimetype", "image", message)
        if (image := _open_image(part.data)) is None:
            message = f"Invalid image file or mode for image {number}, please check your image file."
            return Failure.bad_request(param="image", message=message)
        sizes.append(image.size)
    if record.mask is not None and sizes:  # without images the spec check refuses the form first
        mask = _open_image(record.mask.data)
        if mask is None or mask.format != "PNG" or mask.size != sizes[0]:
            message = "Invalid mask: it must be a PNG of the same size as the first image."
            return Failure.bad_request(param="mask", message=message)
    return None


def _headers(request: web.Request) -> dict[str, str]:
    return {name.lower(): value for name, value in request.headers.items()}


def _invalid_url(request: web.Request) -> Failure:
    """What OpenAI answers a route it does not have."""
    return Failure(404, None, "invalid_request_error", f"Invalid URL ({request.method} {request.path})", {})


@dataclass(frozen=True)
class _Flag:
    term: str  # lower-cased; "" for image flags
    category: str
    score: float
    flagged: bool = True


@dataclass(frozen=True)
class _ImageJob:
    """What one valid image generation request asks for, resolved as the API would."""

    size: str
    quality: str
    n: int
    prompt: str
    output_format: str = "png"
    compression: int = 100
    transparent: bool = False

    @property
    def background(self) -> str:
        """What the answer reports as the background."""
        return "transparent" if self.transparent else "opaque"

    def encode(self, png: bytes) -> bytes:
        """``png`` in the format and background this job asks for."""
        return encode_image(png, self.output_format, self.compression, transparent=self.transparent)

    @property
    def usage(self) -> dict[str, Any]:
        """Token usage roughly like gpt-image-1's (output tokens by quality; xhigh and max cost more)."""
        text_tokens = max(1, len(self.prompt) // 4)
        output_tokens = _OUTPUT_TOKENS[self.quality] * self.n
        return {
            "input_tokens": text_tokens,
            "output_tokens": output_tokens,
            "total_tokens": text_tokens + output_tokens,
            "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": 0},
        }


@dataclass(frozen=True)
class _ImageRoute:
    """What differs between the image generation and edit routes."""

    path: str
    content_type: str  # of the request body
    event_prefix: str  # of the streamed events' types
    partial_schema: str
    completed_schema: str

    @property
    def spec_path(self) -> str:
        return self.path.removeprefix("/v1")


_GENERATIONS = _ImageRoute(
    IMAGES_PATH, "application/json", "image_generation", "ImageGenPartialImageEvent", "ImageGenCompletedEvent"
)
_EDITS = _ImageRoute(
    EDITS_PATH, "multipart/form-data", "image_edit", "ImageEditPartialImageEvent", "ImageEditCompletedEvent"
)


class FakeOpenAI:
    """aiohttp.web server bound to 127.0.0.1 port 0 (the real port is read back on start).

    An edit answers like a generation (``image_factory`` draws the picture, at the requested size and in the requested
    format), but paints the picture's top-left 16x16 corner in the colour of its first input image's top-left pixel,
    so a test can tell the inputs were used (exactly in png output, within a few levels per channel in the lossy webp
    and jpeg; with a transparent background the corner lies in the transparent border). ``image_factory`` must
    return a real PNG for edits.
    """

    def __init__(self, *, check_contracts: bool = True) -> None:
        # Model id -> shutdown date ("YYYY-MM-DD", UTC) or None: what ``GET /v1/models`` lists, and the image models
        # image requests may name; a model is refused from its shutdown date on.
        self.models: dict[str, str | None] = dict.fromkeys(ACTIVE_IMAGE_MODELS + OTHER_MODELS)
        # False: like a proxy without ``GET /v1/models`` (an OpenAI-style 404), whose image route takes any model.
        self.serves_models = True
        self.accepted_key: str | None = None  # when set, any other bearer token gets the 401 ``invalid_api_key``
        self.latency = 0.0  # seconds an image takes; a stream sends its partial images evenly within it
        self.revised_prompt: str | None = None
        self.respond_with_url = False
        self.streams_linger = False  # keep a stream open after its last event, until ``release_hung()``
        self.hold_moderation = False  # moderation requests wait for ``release_hung()``, then answer as usual
        self.image_factory: Callable[[str], bytes] = gradient_png
        self.serves_edits = True  # False: like a proxy without ``POST /v1/images/edits`` (an OpenAI-style 404)
        self.image_requests: list[RecordedRequest] = []  # image generations only
        self.edit_requests: list[RecordedEdit] = []
        # By request id: how long each image request (generation or edit) took from its arrival to its answer (a
        # stream's last image): the upstream's latency as served, the fake's own handling and its timer's lateness (up
        # to about a millisecond per wait) included.
        self.upstream_holds: dict[str, float] = {}
        self.moderation_requests: list[RecordedRequest] = []
        self.model_requests: list[RecordedRequest] = []
        self.contract_violations: list[str] = []
        self._image_failures: deque[Failure] = deque()
        self._moderation_failures: deque[Failure] = deque()
        self._flags: list[_Flag] = []
        self._image_flag: _Flag | None = None
        self._colour_flags: list[tuple[tuple[int, ...], _Flag]] = []  # (top-left colour, flag)
        self._files: dict[str, tuple[bytes, str]] = {}  # name -> (image, content type)
        self._request_ids = itertools.count(1)
        self._arrivals = asyncio.Condition()
        self._release = asyncio.Event()
        self._contract: ApiContract | NoContract = openai_contract() if check_contracts else NoContract()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

        # Moderation requests carry whole images as data URLs: aiohttp's default 1 MiB body limit is too small.
        self._app = web.Application(middlewares=[self._assign_request_id], client_max_size=MAX_REQUEST_BYTES)
        self._app.on_response_prepare.append(self._stamp_request_id)
        self._app.router.add_post(IMAGES_PATH, self._images)
        self._app.router.add_post(EDITS_PATH, self._edits)
        self._app.router.add_post(MODERATIONS_PATH, self._moderations)
        self._app.router.add_get(MODELS_PATH, self._models)
        self._app.router.add_get("/files/{name}", self._file)
        self._app.router.add_route("*", "/{tail:.*}", self._unknown)

    async def __aenter__(self) -> Self:
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release_hung()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._port = None

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``; only while the server runs."""
        if self._port is None:
            raise RuntimeError("FakeOpenAI is not running; use `async with FakeOpenAI() as fake`")
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url(self) -> str:
        """What ``AsyncOpenAI(base_url=...)`` takes."""
        return f"{self.origin}/v1"

    def fail_next(self, failure: Failure, times: int = 1) -> None:
        """Answer the next ``times`` image requests, generations and edits alike, with ``failure`` (queued FIFO after
        earlier ones)."""
        self._image_failures.extend([failure] * times)

    def fail_next_moderation(self, failure: Failure, times: int = 1) -> None:
        """Answer the next ``times`` moderation requests with ``failure``."""
        self._moderation_failures.extend([failure] * times)

    def flag(self, term: str, category: str = "violence", score: float = 0.97, *, flagged: bool = True) -> None:
        """Moderation scores inputs containing ``term`` (case-insensitive) ``score`` in ``category``, and flags
        the category unless ``flagged`` is False (a score the endpoint itself would let through)."""
        if category not in MODERATION_CATEGORIES:
            raise ValueError(f"unknown moderation category {category!r}")
        self._flags.append(_Flag(term.lower(), category, score, flagged))

    def flag_images(self, category: str = "sexual", score: float = 0.95) -> None:
        """Moderation flags every image input in ``category`` (for output-check tests)."""
        if category not in IMAGE_CATEGORIES:
            raise ValueError(f"{category!r} is not scored for images")
        self._image_flag = _Flag("", category, score)

    def flag_image_colour(self, rgb: tuple[int, int, int], category: str = "sexual", score: float = 0.95) -> None:
        """Moderation flags, in ``category``, the image inputs whose top-left pixel has the colour ``rgb`` (each
        channel within 8 of it, so a JPEG copy of the picture matches too); other images stay clean."""
        if category not in IMAGE_CATEGORIES:
            raise ValueError(f"{category!r} is not scored for images")
        self._colour_flags.append((rgb, _Flag("", category, score)))

    def release_hung(self) -> None:
        """Let every request stuck in a ``Failure.hang()`` end with its 500 (and lingering streams end); later hangs
        hang again."""
        self._release.set()
        self._release = asyncio.Event()

    @property
    def checked_prompts(self) -> dict[str, float]:
        """Each prompt sent for moderation (alone or in a batch of prompts), with when its request arrived."""
        checked: dict[str, float] = {}
        for request in self.moderation_requests:
            inputs = request.json["input"]
            for text in [inputs] if isinstance(inputs, str) else inputs:
                if isinstance(text, str):
                    checked.setdefault(text, request.received_at)
        return checked

    @property
    def image_checks(self) -> list[RecordedRequest]:
        """The moderation requests that classify an image."""
        return [
            request
            for request in self.moderation_requests
            if not isinstance(request.json["input"], str)
            and any(isinstance(part, dict) and part.get("type") == "image_url" for part in request.json["input"])
        ]

    async def wait_for_image_requests(self, count: int) -> None:
        """Return once at least ``count`` image generation requests have arrived."""
        async with self._arrivals:
            await self._arrivals.wait_for(lambda: len(self.image_requests) >= count)

    async def wait_for_edit_requests(self, count: int) -> None:
        """Return once at least ``count`` image edit requests have arrived."""
        async with self._arrivals:
            await self._arrivals.wait_for(lambda: len(self.edit_requests) >= count)

    async def wait_for_moderation_requests(self, count: int) -> None:
        """Return once at least ``count`` moderation requests have arrived."""
        async with self._arrivals:
            await self._arrivals.wait_for(lambda: len(self.moderation_requests) >= count)

    async def wait_for_model_requests(self, count: int) -> None:
        """Return once at least ``count`` model list requests have arrived."""
        async with self._arrivals:
            await self._arrivals.wait_for(lambda: len(self.model_requests) >= count)

    # --- plumbing -------------------------------------------------------------------------------------------------

    @web.middleware
    async def _assign_request_id(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        request[_REQUEST_ID] = f"req_{next(self._request_ids)}"
        return await handler(request)

    @staticmethod
    async def _stamp_request_id(request: web.Request, response: web.StreamResponse) -> None:
        response.headers["x-request-id"] = request[_REQUEST_ID]

    async def _receive(self, request: web.Request, into: list[RecordedRequest]) -> tuple[RecordedRequest, Any]:
        """The request as recorded (appended to ``into``), and its parsed JSON body (``None`` when it is not JSON)."""
        received_at = time.perf_counter()
        try:
            body = await request.json() if request.can_read_body else None
        except ValueError:
            body = None
        record = RecordedRequest(
            path=request.path,
            headers=_headers(request),
            json=body if isinstance(body, dict) else {},
            received_at=received_at,
            request_id=request[_REQUEST_ID],
        )
        await self._arrived(into, record)
        return record, body

    async def _receive_edit(self, request: web.Request) -> tuple[RecordedEdit, dict[str, Any] | None]:
        """The edit as recorded (appended to ``edit_requests``), and its form as the spec types it (``None`` when the
        body is not multipart)."""
        received_at = time.perf_counter()
        fields: dict[str, str] = {}
        images: list[UploadedFile] = []
        mask: UploadedFile | None = None
        multipart = request.content_type == "multipart/form-data"
        if multipart:
            async for part in await request.multipart():
                if not isinstance(part, BodyPartReader):  # a nested multipart, which a form does not have
                    continue
                name = part.name or ""
                data = bytes(await part.read())
                if name in _IMAGE_PARTS or name == "mask":
                    file = UploadedFile(name, part.filename, part.headers.get("Content-Type"), data)
                    if name == "mask":
                        mask = file
                    else:
                        images.append(file)
                else:
                    fields[name] = data.decode(errors="replace")
        record = RecordedEdit(
            path=request.path,
            headers=_headers(request),
            fields=fields,
            images=images,
            mask=mask,
            received_at=received_at,
            request_id=request[_REQUEST_ID],
        )
        await self._arrived(self.edit_requests, record)
        return record, _form_body(fields, images, mask) if multipart else None

    async def _arrived(self, into: list[Any], record: RecordedRequest | RecordedEdit) -> None:
        async with self._arrivals:
            into.append(record)
            self._arrivals.notify_all()

    def _unauthorized(self, record: RecordedRequest | RecordedEdit) -> web.Response | None:
        """The 401 when ``accepted_key`` is set and the request does not carry it."""
        if self.accepted_key is None or record.headers.get("authorization") == f"Bearer {self.accepted_key}":
            return None
        return self._error(Failure.invalid_api_key())

    def _violations(self, where: str, errors: list[str]) -> list[str]:
        self.contract_violations.extend(f"{where}: {error}" for error in errors)
        return errors

    def _json(self, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
        return web.Response(
            body=json.dumps(body).encode(), status=status, headers=headers, content_type="application/json"
        )

    def _error(self, failure: Failure) -> web.Response:
        error = {"message": failure.message, "type": failure.error_type, "param": failure.param, "code": failure.code}
        body = {"error": error}
        self._violations("error response", self._contract.schema_errors("ErrorResponse", body))
        return self._json(body, failure.status, failure.headers)

    async def _answer_failure(self, failure: Failure) -> web.Response:
        if failure.hang:
            await self._release.wait()
        return self._error(failure)

    def _invalid_request(self, route: str, body: Any, content_type: str = "application/json") -> web.Response | None:
        """A 400 like the real API's when the body breaks the spec (the problem is also a contract violation)."""
        errors = self._violations(
            f"POST /v1{route} request", self._contract.request_errors("POST", route, body, content_type)
        )
        if not errors:
            return None
        return self._error(Failure(400, None, "invalid_request_error", errors[0], {}))

    # --- images ---------------------------------------------------------------------------------------------------

    async def _images(self, request: web.Request) -> web.StreamResponse:
        arrived = asyncio.get_running_loop().time()  # the upstream's latency runs from here
        record, raw = await self._receive(request, self.image_requests)
        if (unauthorized := self._unauthorized(record)) is not None:
            return unauthorized
        return await self._serve_images(request, _GENERATIONS, raw, arrived, self.image_factory)

    async def _edits(self, request: web.Request) -> web.StreamResponse:
        arrived = asyncio.get_running_loop().time()
        record, form = await self._receive_edit(request)
        if (unauthorized := self._unauthorized(record)) is not None:
            return unauthorized
        if not self.serves_edits:  # a deliberate stand-in for a proxy, so no contract violation
            return self._error(_invalid_url(request))
        if form is None:  # the spec's JSON form (images by URL or file id), which the bot does not use
            self.contract_violations.append(f"POST {EDITS_PATH}: the fake only reads multipart/form-data edits")
            return self._error(Failure.bad_request(message="The fake only reads multipart/form-data edits."))

        def picture(size: str) -> bytes:  # only asked for once the inputs passed ``_input_failure``
            with Image.open(io.BytesIO(record.images[0].data)) as first:
                return _with_corner(self.image_factory(size), _top_left(first))

        return await self._serve_images(request, _EDITS, form, arrived, picture, _input_failure(record))

    async def _serve_images(
        self,
        request: web.Request,
        route: _ImageRoute,
        raw: Any,
        arrived: float,
        picture: Callable[[str], bytes],
        refusal: Failure | None = None,
    ) -> web.StreamResponse:
        """Answer an authorised image request whose body, as the spec types it, is ``raw``, and which ``arrived`` at
        this event loop time: the spec's refusal, then ``refusal`` (the route's own), the options' or the model's,
        else a scripted failure, else the images ``picture(size)`` draws."""
        body = raw if isinstance(raw, dict) else {}
        failure = self._image_failures.popleft() if self._image_failures else None
        invalid = self._invalid_request(route.spec_path, _as_spec_knows(raw), route.content_type)
        if invalid is None and (refused := refusal or self._refusal(body, edit=route is _EDITS)) is not None:
            invalid = self._error(refused)
        streams = invalid is None and failure is None and bool(body.get("stream"))
        if self.latency and not streams:  # a stream spreads its events over the latency instead
            # The upstream's generation time, not synchronisation.
            await asyncio.sleep(max(0.0, arrived + self.latency - asyncio.get_running_loop().time()))
            self.upstream_holds[request[_REQUEST_ID]] = asyncio.get_running_loop().time() - arrived
        if invalid is not None:
            return invalid
        if failure is not None:
            return await self._answer_failure(failure)

        size = body.get("size") or "auto"
        size = "1024x1024" if size == "auto" else size
        try:
            _parse_size(size)
        except ValueError:
            return self._error(Failure.bad_request(param="size"))
        quality = body.get("quality") if body.get("quality") in _QUALITIES else "high"
        job = _ImageJob(
            size=size,
            quality=quality,
            n=body.get("n") or 1,
            prompt=body["prompt"],
            output_format=body.get("output_format") or "png",
            compression=100 if body.get("output_compression") is None else body["output_compression"],
            transparent=body.get("background") == "transparent",
        )
        png = picture(size)
        if body.get("stream"):
            return await self._stream_images(request, route, job, png, body.get("partial_images") or 0, arrived)
        return self._json(self._images_response(request[_REQUEST_ID], route, job, png))

    def _refusal(self, body: dict[str, Any], *, edit: bool) -> Failure | None:
        """The 4xx the API gives a spec-valid image request (an edit if ``edit``) it still refuses, or None."""
        return _option_failure(body) or self._model_failure(body, edit=edit)

    def _model_failure(self, body: dict[str, Any], *, edit: bool) -> Failure | None:
        model = body.get("model")
        if not self.serves_models or not isinstance(model, str):  # a proxy's own names, or the fake's old default
            return None
        shutdown = self.models.get(model)
        if model not in self.models or (shutdown is not None and date.fromisoformat(shutdown) <= _today()):
            return Failure.model_not_found(model)
        family = next((family for family in _IMAGE_FAMILIES if model.startswith(family.prefix)), None)
        if family is None:
            return Failure.bad_request(param="model", message=f"Invalid value: {model!r}. It does not make images.")
        if edit and not family.edits:
            return Failure.bad_request(param="model", message=f"The model `{model}` does not support image edits.")
        return _family_failure(model, family, body)

    def _images_response(self, request_id: str, route: _ImageRoute, job: _ImageJob, png: bytes) -> dict[str, Any]:
        image = job.encode(png)
        if self.respond_with_url:
            # Like an OpenAI-compatible proxy serving a DALL·E-style model: URLs and no GPT image metadata.
            items: list[dict[str, Any]] = []
            for index in range(job.n):
                name = f"{request_id}-{index}.{job.output_format}"
                self._files[name] = (image, _CONTENT_TYPES[job.output_format])
                items.append({"url": f"{self.origin}/files/{name}"})
            body: dict[str, Any] = {"created": int(time.time()), "data": items}
        else:
            encoded = base64.b64encode(image).decode()
            body = {
                "created": int(time.time()),
                "data": [{"b64_json": encoded} for _ in range(job.n)],
                "quality": job.quality,
                "output_format": job.output_format,
                "background": job.background,
                "usage": job.usage,
            }
            if job.size in _SPEC_SIZES:
                body["size"] = job.size
        if self.revised_prompt is not None:
            for item in body["data"]:
                item["revised_prompt"] = self.revised_prompt
        self._violations(
            f"POST {route.path} response",
            self._contract.response_errors("POST", route.spec_path, 200, _as_spec_knows(body)),
        )
        return body

    async def _stream_images(
        self, request: web.Request, route: _ImageRoute, job: _ImageJob, png: bytes, partial_images: int, arrived: float
    ) -> web.StreamResponse:
        """Server-sent events as the real API sends them: ``event: <type>`` + ``data: <json>``, no ``[DONE]``; the
        request ``arrived`` at this event loop time, and ``png`` is the final image."""
        common = {
            "created_at": int(time.time()),
            "size": job.size if job.size in _SPEC_SIZES else "auto",
            "quality": job.quality,
            "background": job.background,
            "output_format": job.output_format,
        }
        events: list[tuple[str, dict[str, Any]]] = []
        for index in range(partial_images):
            b64 = base64.b64encode(job.encode(partial_png(job.size, index))).decode()
            event = {"type": f"{route.event_prefix}.partial_image", "b64_json": b64, **common}
            events.append((route.partial_schema, {**event, "partial_image_index": index}))
        final = base64.b64encode(job.encode(png)).decode()
        for _ in range(job.n):
            event = {"type": f"{route.event_prefix}.completed", "b64_json": final, **common, "usage": job.usage}
            events.append((route.completed_schema, event))

        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for index, (schema, event) in enumerate(events):
            # Like a real generation: partial images arrive while it runs, the final image when ``latency`` is up.
            due = arrived + self.latency * min(1.0, (index + 1) / (partial_images + 1))
            await asyncio.sleep(max(0.0, due - asyncio.get_running_loop().time()))
            self.upstream_holds[request[_REQUEST_ID]] = asyncio.get_running_loop().time() - arrived
            self._violations(
                f"POST {route.path} stream event", self._contract.schema_errors(schema, _as_spec_knows(event))
            )
            await response.write(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode())
        if self.streams_linger:  # a proxy that holds the stream open after the final image
            await self._release.wait()
        await response.write_eof()
        return response

    async def _file(self, request: web.Request) -> web.Response:
        file = self._files.get(request.match_info["name"])
        if file is None:
            return self._error(Failure(404, None, "invalid_request_error", "No such file.", {}))
        image, content_type = file
        return web.Response(body=image, content_type=content_type)

    # --- models ---------------------------------------------------------------------------------------------------

    async def _models(self, request: web.Request) -> web.Response:
        record, _ = await self._receive(request, self.model_requests)
        if (unauthorized := self._unauthorized(record)) is not None:
            return unauthorized
        if not self.serves_models:  # a deliberate stand-in for a proxy, so no contract violation
            return self._error(_invalid_url(request))
        data = [
            {"id": model, "object": "model", "created": _MODEL_CREATED, "owned_by": "system", "shutdown_date": shutdown}
            for model, shutdown in self.models.items()
        ]
        body = {"object": "list", "data": data}
        self._violations(f"GET {MODELS_PATH} response", self._contract.response_errors("GET", "/models", 200, body))
        return self._json(body)

    # --- moderations ----------------------------------------------------------------------------------------------

    async def _moderations(self, request: web.Request) -> web.Response:
        record, raw = await self._receive(request, self.moderation_requests)
        if (unauthorized := self._unauthorized(record)) is not None:
            return unauthorized
        failure = self._moderation_failures.popleft() if self._moderation_failures else None
        if self.hold_moderation:
            await self._release.wait()
        if (invalid := self._invalid_request("/moderations", raw)) is not None:
            return invalid
        if failure is not None:
            return await self._answer_failure(failure)

        inputs = record.json["input"]
        if isinstance(inputs, str):
            results = [self._moderation_result([inputs], [])]
        elif all(isinstance(item, str) for item in inputs):
            results = [self._moderation_result([item], []) for item in inputs]
        else:  # multimodal parts are classified together into one result
            texts = [part["text"] for part in inputs if part["type"] == "text"]
            images = [part["image_url"]["url"] for part in inputs if part["type"] == "image_url"]
            results = [self._moderation_result(texts, images)]
        body = {
            "id": f"modr-{request[_REQUEST_ID]}",
            "model": record.json.get("model", "omni-moderation-latest"),
            "results": results,
        }
        self._violations(
            f"POST {MODERATIONS_PATH} response", self._contract.response_errors("POST", "/moderations", 200, body)
        )
        return self._json(body)

    def _moderation_result(self, texts: list[str], image_urls: list[str]) -> dict[str, Any]:
        scores = dict.fromkeys(MODERATION_CATEGORIES, DEFAULT_MODERATION_SCORE)
        flagged: set[str] = set()
        matching = [flag for flag in self._flags if any(flag.term in text.lower() for text in texts)]
        has_image = bool(image_urls)
        if has_image and self._image_flag is not None:
            matching.append(self._image_flag)
        if has_image and self._colour_flags:  # decode the images only when a colour is flagged
            colours = [colour for colour in map(_data_url_colour, image_urls) if colour is not None]
            matching.extend(flag for rgb, flag in self._colour_flags if any(_near(rgb, colour) for colour in colours))
        for flag in matching:
            scores[flag.category] = max(scores[flag.category], flag.score)
            if flag.flagged:
                flagged.add(flag.category)
        input_types = (["text"] if texts else []) + (["image"] if has_image else [])
        return {
            "flagged": bool(flagged),
            "categories": {category: category in flagged for category in MODERATION_CATEGORIES},
            "category_scores": scores,
            "category_applied_input_types": {
                category: [kind for kind in input_types if kind == "text" or category in IMAGE_CATEGORIES]
                for category in MODERATION_CATEGORIES
            },
        }

    # --- anything else --------------------------------------------------------------------------------------------

    async def _unknown(self, request: web.Request) -> web.Response:
        self.contract_violations.append(f"unknown route: {request.method} {request.path}")
        return self._error(_invalid_url(request))
