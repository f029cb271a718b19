"""Everything the bot says to members, in one catalogue, so wording lives in one place."""

from datetime import datetime

import discord

from bot.services.errors import (
    BillingExhaustedError,
    BotError,
    BusyError,
    ImageRetrievalError,
    ImageTooLargeError,
    InvalidSettingError,
    NotConfiguredError,
    PolicyRefusalError,
    ProviderRejectedError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    QuotaExceededError,
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
    "error.quota_user": (
        "You've reached your limit of {limit} image(s) for today: {remaining} left, and this request needs "
        "{requested}. Your quota resets {reset}."
    ),
    "error.quota_server": (
        "This server has reached its limit of {limit} image(s) for today: {remaining} left, and this request "
        "needs {requested}. The server's quota resets {reset}."
    ),
    "error.invalid_setting": "That setting doesn't work: {reason}.",
    "error.missing_permissions": "You need the Manage Server permission to change quotas.",
    "quota.title": "Your image quota",
    "quota.yours": "You, today",
    "quota.server": "This server, today",
    "quota.used_of": "{used} of {limit} used, **{remaining} left**",
    "quota.unlimited": "{used} used, no limit",
    "quota.exempt": "{used} used, exempt from limits",
    "quota.resets": "Resets",
    "quota.reset_at": "{relative} ({absolute})",
    "admin.title": "Quota settings",
    "admin.server_limit": "Server, per day",
    "admin.user_default": "Each member, per day",
    "admin.role_limits": "Role limits (a member gets the most generous of their roles)",
    "admin.user_limits": "Member overrides (beat roles and exemptions)",
    "admin.exempt_roles": "Exempt roles (never limited, not counted against the server)",
    "admin.limit_set": "{limit}",
    "admin.limit_default": "{limit} (default)",
    "admin.none": "none",
    "admin.more": "…and {count} more",
    "admin.footer": "Quotas reset every day at 00:00 UTC.",
    "admin.default_again": "the default",
    "admin.server_limit_done": "The server's daily limit is now {limit}.",
    "admin.user_default_done": "Each member's daily limit is now {limit}.",
    "admin.role_limit_done": "Members of {target} now get {limit} images per day.",
    "admin.user_limit_done": "{target} now gets {limit} images per day.",
    "admin.exempt_done": "{role} is now exempt from quotas.",
    "admin.not_exempt_done": "{role} is no longer exempt from quotas.",
    "admin.reset_done": "{member} got back {count} image(s) for today.",
    "admin.changes_title": "Latest quota changes",
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


def reset_time(moment: datetime) -> str:
    """A reset time as Discord timestamps: relative, then the member's local clock time."""
    return text(
        "quota.reset_at",
        relative=discord.utils.format_dt(moment, "R"),
        absolute=discord.utils.format_dt(moment, "t"),
    )


def error_text(error: BotError) -> str:
    """What to tell a member about ``error``; never the exception's own message."""
    if isinstance(error, UnsupportedOptionError):
        return text("error.unsupported_option", reason=error.reason)
    if isinstance(error, InvalidSettingError):
        return text("error.invalid_setting", reason=error.reason)
    if isinstance(error, QuotaExceededError):
        return text(
            f"error.quota_{error.scope}",
            limit=error.limit,
            remaining=error.remaining,
            requested=error.requested,
            reset=reset_time(error.resets_at),
        )
    if isinstance(error, RateLimitedError) and error.retry_after and error.retry_after >= 1:
        return text("error.rate_limited_after", seconds=round(error.retry_after))
    key = next((_ERROR_KEYS[cls] for cls in type(error).__mro__ if cls in _ERROR_KEYS), "error.unexpected")
    return text(key)
