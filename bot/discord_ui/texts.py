"""Everything the bot says to members, from one catalogue per language (bot/locales), in the member's language.

The language is the interaction's locale, set once per interaction with :func:`use_locale`; a context variable
carries it through everything that interaction's task does (tasks copy context variables when they start).
"""

from contextvars import ContextVar
from datetime import datetime
from functools import singledispatch
from types import MappingProxyType

import discord

from bot.core.errors import (
    AlreadyQueuedError,
    AppealError,
    BillingExhaustedError,
    BotError,
    BusyError,
    CannotEditError,
    DeliveryFailedError,
    ImageRetrievalError,
    ImageTooLargeError,
    InputImageError,
    InvalidSettingError,
    ModerationUnavailableError,
    NotConfiguredError,
    NotYoursError,
    PolicyRefusalError,
    PromptRefusedError,
    ProviderRejectedError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    QuotaExceededError,
    RateLimitedError,
    ResultGoneError,
    ShuttingDownError,
    SuspendedError,
    UnsupportedOptionError,
)
from bot.discord_ui.locales import en, zh_cn

_ERROR_KEYS: dict[type[BotError], str] = {
    UnsupportedOptionError: "error.unsupported_option",
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
    ModerationUnavailableError: "error.moderation_unavailable",
    DeliveryFailedError: "error.delivery_failed",
    AlreadyQueuedError: "error.already_queued",
    NotYoursError: "error.not_yours",
    ResultGoneError: "error.result_gone",
    CannotEditError: "error.cannot_edit",
}


CATALOGUES = MappingProxyType({"en": en.MESSAGES, "zh-CN": zh_cn.MESSAGES})
_language: ContextVar[str] = ContextVar("language", default="en")


def language_for(locale: discord.Locale | str | None) -> str:
    """The catalogue for a Discord locale: Simplified Chinese for zh-CN, English for everything else."""
    return "zh-CN" if str(locale) == "zh-CN" else "en"


def use_locale(interaction: discord.Interaction) -> None:
    """Answer this interaction (and whatever its task does next) in its member's language."""
    _language.set(language_for(interaction.locale))


def text(key: str, **values: object) -> str:
    """The catalogue entry ``key`` in the current language, with ``values`` filled in."""
    return CATALOGUES[_language.get()][key].format(**values)


def category_names(categories: tuple[str, ...]) -> str:
    """Moderation categories as words: "self-harm/intent" reads "self-harm (intent)"."""
    words = [c.replace("/", " (", 1) + ")" if "/" in c else c for c in categories]
    return ", ".join(words) or "policy"


def refusal_text(error: PromptRefusedError) -> str:
    """The private explanation of a refusal, naming the categories but never echoing the prompt."""
    categories = category_names(error.categories)
    if error.picture is not None:
        message = text("error.refused_input", picture=error.picture, categories=categories)
    else:
        message = text(f"error.refused_{error.layer}", categories=categories)
    message += text("error.refused_free")
    if error.suspended_until is not None:
        message += text("error.refused_suspended", until=discord.utils.format_dt(error.suspended_until, "f"))
    if error.appealable:
        message += text("error.refused_appeal")
    return message


def reset_time(moment: datetime) -> str:
    """A reset time as Discord timestamps: relative, then the member's local clock time."""
    return text(
        "quota.reset_at",
        relative=discord.utils.format_dt(moment, "R"),
        absolute=discord.utils.format_dt(moment, "t"),
    )


@singledispatch
def error_text(error: BotError) -> str:
    """What to tell a member about ``error``; never the exception's own message."""
    key = next((_ERROR_KEYS[cls] for cls in type(error).__mro__ if cls in _ERROR_KEYS), "error.unexpected")
    return text(key)


@error_text.register
def _(error: UnsupportedOptionError) -> str:
    return text("error.unsupported_option", reason=error.reason)


@error_text.register
def _(error: InputImageError) -> str:
    return text(f"error.input_{error.reason}", picture=error.picture or 1, limit=error.limit)


@error_text.register
def _(error: InvalidSettingError) -> str:
    return text("error.invalid_setting", reason=error.reason)


@error_text.register
def _(error: PromptRefusedError) -> str:
    return refusal_text(error)


@error_text.register
def _(error: SuspendedError) -> str:
    return text("error.suspended", until=discord.utils.format_dt(error.until, "f"))


@error_text.register
def _(error: AppealError) -> str:
    return text(f"error.appeal_{error.reason}")


@error_text.register
def _(error: QuotaExceededError) -> str:
    return text(
        f"error.quota_{error.scope}",
        limit=error.limit,
        remaining=error.remaining,
        requested=error.requested,
        reset=reset_time(error.resets_at),
    )


@error_text.register
def _(error: RateLimitedError) -> str:
    if error.retry_after and error.retry_after >= 1:
        return text("error.rate_limited_after", seconds=round(error.retry_after))
    return text("error.rate_limited")
