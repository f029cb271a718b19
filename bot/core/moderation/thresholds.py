"""Turning the moderation endpoint's scores into decisions: the categories, the strict defaults, and servers' own
thresholds.

Thresholds read "block when the score reaches this": a higher threshold is more lenient. Where no threshold is
set, the endpoint's own ``flagged`` decision for the category applies.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

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


class Moderator(Protocol):
    """The moderation endpoint (``bot.providers.moderator.ContentModerator``); raises ModerationUnavailableError."""

    async def check_text(self, text: str) -> ModerationScores:
        """Scores for a prompt."""
        ...

    async def check_image(self, image: bytes, mime_type: str) -> ModerationScores:
        """Scores for a picture."""
        ...


def scores_from(results: Iterable[Mapping[str, Any]]) -> ModerationScores:
    """The highest score and every flag per category across moderation results (several for one input whose parts
    were classified apart; an image and its text, say).

    Raises ``ValueError`` for results without scores: an empty verdict must never pass as a clean one.
    """
    scores: dict[str, float] = {}
    flagged: set[str] = set()
    for result in results:
        for category, score in result["category_scores"].items():
            if score is not None:
                scores[category] = max(scores.get(category, 0.0), float(score))
        flagged |= {category for category, hit in result["categories"].items() if hit}
    if not scores:
        raise ValueError("a moderation answer without scores")
    return ModerationScores(scores=MappingProxyType(scores), flagged=frozenset(flagged))
