"""The OpenAI moderation endpoint, through the shared client: prompts (batched under load) and pictures."""

import asyncio
import base64
import logging
from collections.abc import Mapping
from typing import Any

import openai

from bot.core.errors import ModerationUnavailableError
from bot.core.images.encoding import OFF_LOOP_THRESHOLD
from bot.core.moderation.thresholds import ModerationScores, scores_from
from bot.providers.batching import Batcher

log = logging.getLogger(__name__)

MODERATION_MODEL = "omni-moderation-latest"
# Prompts per request, and their characters (a prompt is at most 4,000): modest, for every compatible endpoint.
TEXTS_PER_REQUEST = 16
TEXT_CHARACTERS_PER_REQUEST = 32_000
# Requests under way before further prompts wait to go together: a lone command is never held back.
TEXT_REQUESTS_IN_FLIGHT = 4


class ContentModerator:
    """Calls the moderation endpoint through the shared client, which may take ``answer_within`` seconds to connect
    and for each wait for the answer; any failure, including an answer that is not a moderation result, becomes
    ModerationUnavailableError.

    Prompts checked while others are under way go together, one result per prompt: under a burst of commands that
    turns hundreds of requests into a few, which keeps the bot within the endpoint's per-minute request limit and
    spares the CPU of a request per prompt. Images sent together would be classified as one, so each goes alone.
    """

    def __init__(self, client: openai.AsyncOpenAI, *, answer_within: float) -> None:
        self._client = client
        self._answer_within = answer_within
        self._texts: Batcher[str, ModerationScores] = Batcher(
            self._check_texts,
            max_in_flight=TEXT_REQUESTS_IN_FLIGHT,
            max_items=TEXTS_PER_REQUEST,
            max_weight=TEXT_CHARACTERS_PER_REQUEST,
            weight=len,
        )

    async def check_text(self, text: str) -> ModerationScores:
        """Scores for a prompt (sent as written: the endpoint reads meaning, not spelling)."""
        return await self._texts.submit(text)

    async def check_image(self, image: bytes, mime_type: str) -> ModerationScores:
        """Scores for a generated image (its data URL, a few megabytes of base64, is built off the loop)."""
        if len(image) < OFF_LOOP_THRESHOLD:
            url = _data_url(image, mime_type)
        else:
            url = await asyncio.to_thread(_data_url, image, mime_type)
        return _scores(await self._results([{"type": "image_url", "image_url": {"url": url}}]))

    async def _check_texts(self, texts: list[str]) -> list[ModerationScores]:
        results = await self._results(texts[0] if len(texts) == 1 else texts)
        if len(results) != len(texts):
            log.warning("Moderation endpoint answered %d prompt(s) with %d result(s)", len(texts), len(results))
            raise ModerationUnavailableError("malformed answer")
        return [_scores([result]) for result in results]

    async def _results(self, payload: Any) -> list[Mapping[str, Any]]:
        try:
            response = await self._client.moderations.create(
                model=MODERATION_MODEL, input=payload, timeout=self._answer_within
            )
        except openai.APIStatusError as exc:
            log.warning("Moderation endpoint answered HTTP %d (request_id=%s)", exc.status_code, exc.request_id)
            raise ModerationUnavailableError(f"HTTP {exc.status_code}") from exc
        except openai.OpenAIError as exc:  # unreachable, timed out, or not JSON
            log.warning("Moderation endpoint unreachable: %s", type(exc).__name__)
            raise ModerationUnavailableError(type(exc).__name__) from exc
        try:
            # The SDK builds its models without validating them: check that these are moderation results.
            results: list[Mapping[str, Any]] = [result.to_dict() for result in response.results]
        except (AttributeError, TypeError) as exc:
            log.warning("Moderation endpoint answered with something else: %r", exc)
            raise ModerationUnavailableError("malformed answer") from exc
        return results


def _data_url(image: bytes, mime_type: str) -> str:
    return f"data:{mime_type};base64,{base64.b64encode(image).decode()}"


def _scores(results: list[Mapping[str, Any]]) -> ModerationScores:
    try:
        return scores_from(results)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # not moderation results
        log.warning("Moderation endpoint answered with something else: %r", exc)
        raise ModerationUnavailableError("malformed answer") from exc
