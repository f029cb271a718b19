"""What a provider made for one request, and what the job pipeline asks of a provider to make it."""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.core.images.catalogue import ImageOptions
from bot.core.images.encoding import PreparedImage


@dataclass(frozen=True)
class GenerationResult:
    """What the provider made for one request: raw image bytes plus what to tell the member about it."""

    images: tuple[bytes, ...]
    model: str
    size: str
    quality: str | None
    revised_prompt: str | None
    seconds: float


class Generator(Protocol):
    """Makes pictures (``bot.providers.generator.ImageGenerator`` against an OpenAI-compatible endpoint)."""

    async def generate(
        self,
        prompt: str,
        options: ImageOptions,
        *,
        safety_identifier: str,
        on_partial: Callable[[bytes], Awaitable[None]] | None = None,
        inputs: Sequence[PreparedImage] = (),
    ) -> GenerationResult:
        """Pictures for ``prompt``, made from ``inputs`` if any; previews go to ``on_partial`` where the model
        streams them."""
        ...
