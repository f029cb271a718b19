"""Domain errors raised by the services; the Discord layer turns each into a friendly private answer. Start-up
errors end start-up with one line."""

from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit, urlunsplit


class BotError(Exception):
    """Base of every error the bot explains to a member instead of logging as a crash."""


class InvalidSettingError(BotError):
    """An admin typed a setting we cannot use; ``reason`` says what would work."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class QuotaExceededError(BotError):
    """A daily limit does not leave room for the requested images; nothing was charged."""

    def __init__(
        self, *, scope: Literal["user", "server"], limit: int, remaining: int, requested: int, resets_at: datetime
    ) -> None:
        super().__init__(f"{scope} limit {limit} reached")
        self.scope = scope
        self.limit = limit
        self.remaining = remaining
        self.requested = requested
        self.resets_at = resets_at


class UnsupportedOptionError(BotError):
    """A member picked an option the configured model cannot honour."""

    def __init__(self, option: str, reason: str) -> None:
        super().__init__(reason)
        self.option = option
        self.reason = reason


class GenerationError(BotError):
    """The image provider could not produce the image.

    ``request_id`` and ``provider_message`` (the provider's own words) are for the admin's log, never for members;
    ``retry_after`` is the delay the provider asked for, if any.
    """

    def __init__(
        self,
        detail: str = "",
        *,
        request_id: str | None = None,
        retry_after: float | None = None,
        provider_message: str = "",
    ) -> None:
        super().__init__(detail or type(self).__name__)
        self.request_id = request_id
        self.retry_after = retry_after
        self.provider_message = provider_message


class RateLimitedError(GenerationError):
    """The provider asked us to slow down (HTTP 429), even after our retries."""


class BillingExhaustedError(GenerationError):
    """The owner's provider account is out of credit (``insufficient_quota``)."""


class ProviderTimeoutError(GenerationError):
    """The provider did not answer within the configured timeout."""


class PolicyRefusalError(GenerationError):
    """The provider refused the prompt under its own content policy; never retried."""


class NotConfiguredError(GenerationError):
    """The key, organisation or model is not usable (401/403/404); only the admin can fix it."""


class ModelGoneError(NotConfiguredError):
    """The endpoint no longer serves the model (404 ``model_not_found``): OpenAI retired it, or a proxy dropped it."""


class ProviderUnavailableError(GenerationError):
    """The provider failed (5xx or connection trouble) after the client's retries."""


class ProviderRejectedError(GenerationError):
    """The provider rejected the request itself (400 other than a policy refusal)."""


class ImageRetrievalError(GenerationError):
    """The provider answered with an image we could not fetch or decode."""


class DownloadTooLargeError(ImageRetrievalError):
    """A download went past its size cap."""


class CannotEditError(BotError):
    """The model, or the endpoint behind it, cannot make pictures from pictures; nothing was charged."""


class InputImageError(BotError):
    """A picture a member gave to remix cannot be used. ``reason``: unreadable, format, pixels, too_large,
    unreachable, not_discord, none, too_many."""

    def __init__(self, reason: str, *, picture: int | None = None, limit: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.picture = picture  # which one (from 1), where it matters
        self.limit = limit  # the most the model takes, for too_many


class ImageTooLargeError(BotError):
    """An image stays over the upload limit even after re-encoding."""


class BusyError(BotError):
    """The job could not start before the interaction's time ran out."""


class ShuttingDownError(BotError):
    """The bot is stopping: the job was refused or cut short, and nothing was posted."""


class ModerationUnavailableError(BotError):
    """The moderation endpoint failed or timed out, and the bot fails closed."""


class PromptRefusedError(BotError):
    """A moderation layer refused the prompt (or the picture made from it). ``refusal_id`` allows an appeal."""

    def __init__(
        self,
        *,
        layer: str,
        categories: tuple[str, ...],
        refusal_id: int | None,
        appealable: bool,
        suspended_until: datetime | None = None,
        picture: int | None = None,
    ) -> None:
        super().__init__(f"refused by {layer}: {', '.join(categories)}")
        self.layer = layer
        self.categories = categories
        self.refusal_id = refusal_id
        self.appealable = appealable
        self.suspended_until = suspended_until
        self.picture = picture  # the input picture (from 1) that was refused, if it was one


class SuspendedError(BotError):
    """The member is suspended from /imagine until ``until``."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"suspended until {until.isoformat()}")
        self.until = until


class AppealError(BotError):
    """An appeal cannot be made or decided; ``reason`` is one of not_yours, not_appealable, limit, already, decided."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DeliveryFailedError(BotError):
    """Discord would not take the finished pictures where they were to be posted."""


class AlreadyQueuedError(BotError):
    """The member already has a job waiting in the queue."""


class NotYoursError(BotError):
    """The member may not do this to someone else's result."""


class ResultGoneError(BotError):
    """The result a button belongs to was deleted or cannot be found."""


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the key and never echoes secret values."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key


class ServiceUnreachableError(RuntimeError):
    """A service the bot needs at start-up could not be reached; the message names it and the key that points at
    it."""

    def __init__(self, service: str, key: str, reason: str) -> None:
        super().__init__(f"could not reach {service} ({key}): {reason}")
        self.key = key


def without_credentials(url: str) -> str:
    """``url`` without any user and password it carries, to print."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2])).rstrip("/")
