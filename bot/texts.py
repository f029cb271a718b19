"""Everything the bot says to members, in one catalogue, so wording lives in one place."""

from bot.services.errors import (
    BillingExhaustedError,
    BotError,
    BusyError,
    ImageRetrievalError,
    ImageTooLargeError,
    NotConfiguredError,
    PolicyRefusalError,
    ProviderRejectedError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
    ShuttingDownError,
    UnsupportedOptionError,
)

EN: dict[str, str] = {
    "error.unsupported_option": "That combination doesn't work: {reason}.",
    "error.rate_limited": "The image service is busy right now. Please try again in a minute.",
    "error.rate_limited_after": "The image service is busy right now. Please try again in about {seconds} seconds.",
    "error.billing": "This bot's image budget with its provider is used up. Please let a server admin know.",
    "error.timeout": "The image service took too long to answer. Please try again.",
    "error.policy": "The image provider declined this prompt under its content policy. Try rewording it.",
    "error.not_configured": "Image generation isn't set up correctly on this bot. The admin can see the details in the bot's logs.",  # noqa: E501
    "error.unavailable": "The image service is having trouble right now. Please try again later.",
    "error.rejected": "The image service rejected this request. Try a different prompt or options.",
    "error.retrieval": "The picture was made but could not be retrieved. Please try again.",
    "error.too_large": "The picture is too large to upload in this server, even after compression.",
    "error.busy": "The bot was too busy to finish your picture in time. Please try again.",
    "error.shutting_down": "The bot is restarting, so your picture was not made. Please try again in a minute.",
    "error.guild_only": "This command only works in a server.",
    "error.unexpected": "Something went wrong on our side. It has been logged; please try again.",
    "result.title": "Imagined",
    "result.requested_by": "Requested by",
    "result.model": "Model",
    "result.size": "Size",
    "result.quality": "Quality",
    "result.took": "Took",
    "result.seconds": "{seconds:.1f} s",
    "result.revised_prompt": "Revised prompt",
}

_ERROR_KEYS: dict[type[BotError], str] = {
    UnsupportedOptionError: "error.unsupported_option",
    RateLimitedError: "error.rate_limited",
    BillingExhaustedError: "error.billing",
    ProviderTimeoutError: "error.timeout",
    PolicyRefusalError: "error.policy",
    NotConfiguredError: "error.not_configured",
    ProviderUnavailableError: "error.unavailable",
    ProviderRejectedError: "error.rejected",
    ImageRetrievalError: "error.retrieval",
    ImageTooLargeError: "error.too_large",
    BusyError: "error.busy",
    ShuttingDownError: "error.shutting_down",
}


def text(key: str, **values: object) -> str:
    """The catalogue entry ``key`` with ``values`` filled in."""
    return EN[key].format(**values)


def error_text(error: BotError) -> str:
    """What to tell a member about ``error``; never the exception's own message."""
    if isinstance(error, UnsupportedOptionError):
        return text("error.unsupported_option", reason=error.reason)
    if isinstance(error, RateLimitedError) and error.retry_after and error.retry_after >= 1:
        return text("error.rate_limited_after", seconds=round(error.retry_after))
    key = next((_ERROR_KEYS[cls] for cls in type(error).__mro__ if cls in _ERROR_KEYS), "error.unexpected")
    return text(key)
