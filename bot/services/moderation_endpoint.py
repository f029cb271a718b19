"""The OpenAI moderation endpoint as a service, and the thresholds that turn its scores into decisions.

Thresholds read "block when the score reaches this": a higher threshold is more lenient. Where no threshold is
set, the endpoint's own ``flagged`` decision for the category applies.
"""

import base64
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import httpx2
import openai

from bot.services.errors import ModerationUnavailableError

log = logging.getLogger(__name__)

MODERATION_MODEL = "omni-moderation-latest"
CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
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

# Outside age-restricted channels a general audience is assumed: these categories block at lower scores than the
# endpoint's own flag. In age-restricted channels only the endpoint's flag applies (and servers' own thresholds).
STRICT_THRESHOLDS: Mapping[str, float] = MappingProxyType(
    {
        "sexual": 0.2,
        "sexual/minors": 0.01,
        "violence/graphic": 0.3,
        "self-harm": 0.3,
        "self-harm/intent": 0.3,
        "self-harm/instructions": 0.3,
        "hate/threatening": 0.3,
        "harassment/threatening": 0.3,
        "illicit/violent": 0.3,
    }
)


@dataclass(frozen=True)
class ModerationScores:
    """The endpoint's opinion of one input: per-category scores and its own flags."""

    scores: Mapping[str, float]
    flagged: frozenset[str]


def thresholds_for(overrides: Mapping[str, float], *, age_restricted: bool) -> dict[str, float | None]:
    """The threshold per category for a channel, ``None`` meaning the endpoint's own flag.

    In age-restricted channels a server's own threshold applies as set. Elsewhere the stricter of it and the strict
    default applies, so loosening a category for adult channels never loosens it for everyone.
    """
    thresholds: dict[str, float | None] = {}
    for category in CATEGORIES:
        own, strict = overrides.get(category), None if age_restricted else STRICT_THRESHOLDS.get(category)
        candidates = [value for value in (own, strict) if value is not None]
        thresholds[category] = min(candidates) if candidates else None
    return thresholds


def blocked_categories(result: ModerationScores, thresholds: Mapping[str, float | None]) -> tuple[str, ...]:
    """The categories whose score reaches their threshold (or that the endpoint flagged, where none is set)."""
    blocked = []
    for category in CATEGORIES:
        threshold = thresholds.get(category)
        score = result.scores.get(category, 0.0)
        if (threshold is None and category in result.flagged) or (threshold is not None and score >= threshold):
            blocked.append(category)
    return tuple(sorted(blocked, key=lambda c: -result.scores.get(c, 0.0)))


class ContentModerator:
    """Calls the moderation endpoint through the shared client; any failure becomes ModerationUnavailableError."""

    def __init__(self, client: openai.AsyncOpenAI, *, timeout: float) -> None:
        self._client = client
        self._timeout = timeout

    async def check_text(self, text: str) -> ModerationScores:
        """Scores for a prompt (sent as written: the endpoint reads meaning, not spelling)."""
        return await self._check(text)

    async def check_image(self, image: bytes, mime_type: str) -> ModerationScores:
        """Scores for a generated image."""
        url = f"data:{mime_type};base64,{base64.b64encode(image).decode()}"
        return await self._check([{"type": "image_url", "image_url": {"url": url}}])

    async def _check(self, payload: object) -> ModerationScores:
        try:
            # The SDK's documented way to send a request as is and get the raw answer back: its typed model of the
            # answer, and its parameter transform walking the input (a whole base64 image, for pictures), cost more
            # CPU than the rest of the call. Errors are raised as from any SDK call.
            response = await self._client.post(
                "/moderations",
                cast_to=httpx2.Response,
                body={"model": MODERATION_MODEL, "input": payload},
                options={"timeout": self._timeout},
            )
        except openai.OpenAIError as exc:
            log.warning(
                "Moderation endpoint failed: %s (request_id=%s)", type(exc).__name__, getattr(exc, "request_id", None)
            )
            raise ModerationUnavailableError(type(exc).__name__) from exc
        try:
            return scores_from(response.json())
        except (ValueError, TypeError, KeyError, AttributeError) as exc:  # not a moderation answer
            log.warning("Moderation endpoint answered with something else: %r", exc)
            raise ModerationUnavailableError("malformed answer") from exc


def scores_from(answer: Mapping[str, Any]) -> ModerationScores:
    """The highest score and every flag per category across the results of one moderation answer.

    Raises ``ValueError`` for an answer without results or scores: an empty verdict must never pass as a clean one.
    """
    scores: dict[str, float] = {}
    flagged: set[str] = set()
    for result in answer["results"]:
        for category, score in result["category_scores"].items():
            if score is not None:
                scores[category] = max(scores.get(category, 0.0), float(score))
        flagged |= {category for category, hit in result["categories"].items() if hit}
    if not scores:
        raise ValueError("a moderation answer without scores")
    return ModerationScores(scores=MappingProxyType(scores), flagged=frozenset(flagged))
