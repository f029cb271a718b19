"""Everything the bot says to members, in one catalogue, so wording lives in one place."""

from datetime import datetime
from functools import singledispatch

import discord

from bot.services.errors import (
    AlreadyQueuedError,
    AppealError,
    BillingExhaustedError,
    BotError,
    BusyError,
    DeliveryFailedError,
    ImageRetrievalError,
    ImageTooLargeError,
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
    "error.busy": "The bot was too busy to make your picture in time, so it was cancelled. Nothing was charged.",
    "error.shutting_down": "The bot is restarting, so your picture was not made. Please try again in a minute.",
    "error.guild_only": "This command only works in a server.",
    "error.bad_option": "One of the options isn't valid here. Please check them and try again.",
    "error.quota_user": (
        "You've reached your limit of {limit} image(s) for today: {remaining} left, and this request needs "
        "{requested}. Your quota resets {reset}."
    ),
    "error.quota_server": (
        "This server has reached its limit of {limit} image(s) for today: {remaining} left, and this request "
        "needs {requested}. The server's quota resets {reset}."
    ),
    "error.invalid_setting": "That setting doesn't work: {reason}.",
    "error.missing_permissions": "You need the Manage Server permission for that.",
    "error.moderation_unavailable": (
        "Moderation is unavailable right now, so nothing was posted (and nothing was charged). Please try again in "
        "a few minutes."
    ),
    "error.refused_blocklist": "Your prompt was refused: it contains something this server doesn't allow.",
    "error.refused_endpoint": "Your prompt was refused: it was flagged for {categories}.",
    "error.refused_provider": "The image provider refused this prompt under its content policy ({categories}).",
    "error.refused_output": "The picture made from your prompt was flagged for {categories}, so it wasn't posted.",
    "error.refused_free": " Nothing was charged.",
    "error.refused_appeal": " If you think this is a mistake, you can appeal below.",
    "error.refused_suspended": " That reached this server's limit of refusals: you can't use /imagine until {until}.",
    "error.suspended": "You can't use /imagine in this server until {until}.",
    "error.appeal_not_yours": "Only the member whose prompt was refused can appeal it.",
    "error.appeal_not_appealable": "This refusal can't be appealed.",
    "error.appeal_limit": "You've used all your appeals for today. Please try again tomorrow.",
    "error.appeal_already": "You've already appealed this refusal.",
    "error.appeal_decided": "Another moderator already decided this appeal.",
    "error.appeal_no_modlog": "This server has no moderation log yet, so appeals can't be reviewed.",
    "error.appeal_not_here": "That appeal belongs to another server.",
    "error.appeal_modlog_unreachable": "The moderators can't be reached right now. Please try again later.",
    "error.delivery_failed": "The picture was made but could not be posted in that channel.",
    "appeal.button": "Appeal",
    "appeal.sent": "Your appeal was sent to the moderators. You'll get a message when they decide.",
    "appeal.approve": "Approve",
    "appeal.deny": "Deny",
    "appeal.approved_dm": "A moderator approved your appeal in {guild}: your picture is here: {link}",
    "appeal.approved_failed_dm": "A moderator approved your appeal in {guild}, but no picture could be made: {reason}",
    "appeal.denied_dm": "A moderator reviewed your appeal in {guild} and kept the refusal.",
    "appeal.approved_by": "Approved by {moderator}",
    "appeal.denied_by": "Denied by {moderator}",
    "appeal.decided_ok": "Done: the member has been told.",
    "appeal.result_note": "Posted after a moderator approved an appeal.",
    "modlog.refusal_title": "Prompt refused",
    "modlog.output_title": "Picture withheld",
    "modlog.appeal_title": "Appeal",
    "modlog.member": "Member",
    "modlog.channel": "Channel",
    "modlog.layer": "Layer",
    "modlog.findings": "Findings",
    "modlog.prompt": "Prompt",
    "modlog.strikes": "Suspended until",
    "mod.off": "off",
    "mod.blocklist_title": "Blocklist",
    "mod.blocklist_own": "This server's entries (whole words unless marked regex)",
    "mod.blocklist_defaults": "Default list",
    "mod.blocklist_added": "Added `{entry}` to the blocklist.",
    "mod.blocklist_added_regex": "Added the pattern `{entry}` to the blocklist.",
    "mod.blocklist_removed": "Removed `{entry}` from the blocklist.",
    "mod.blocklist_missing": "`{entry}` is not on this server's list.",
    "mod.blocklist_cleared": "Removed {count} entr(y/ies) and turned the default list off.",
    "mod.blocklist_defaults_on": "The default list is now on.",
    "mod.blocklist_defaults_off": "The default list is now off.",
    "mod.thresholds_title": "Moderation thresholds",
    "mod.thresholds_help": (
        "A prompt is refused when a category's score (0 to 1) **reaches** its threshold: a **higher threshold is "
        "more lenient**, a lower one stricter. Outside age-restricted channels some categories use stricter defaults."
    ),
    "mod.thresholds_field": "Per category",
    "mod.threshold_own": "blocks at {value:.2f} or more (this server's setting)",
    "mod.threshold_strict": "blocks at {value:.2f} or more outside age-restricted channels; else the endpoint's flag",
    "mod.threshold_flag": "the endpoint's own flag",
    "mod.threshold_set": "**{category}** now blocks at a score of {value:.2f} or more (higher = more lenient).",
    "mod.threshold_reset": "**{category}** is back to the default.",
    "mod.modlog_set": "Moderation logs now go to {channel}.",
    "mod.modlog_off": "The moderation log is off (appeals are unavailable without it).",
    "mod.modlog_test": "This channel now receives this server's moderation log.",
    "mod.modlog_cannot_post": "The bot can't post in {channel}; give it Send Messages, Embed Links and Attach Files.",
    "mod.output_on": "Generated pictures are now checked before they are posted.",
    "mod.output_off": "Generated pictures are no longer checked before they are posted.",
    "mod.strikes_title": "Strikes in the last {hours} h",
    "mod.pardoned": "Pardoned {count} strike(s) of {member}.",
    "mod.policy_set": "{limit} refusals within {window} h now suspend a member for {suspension} h.",
    "mod.suspended": "{member} can't use /imagine until {until}.",
    "mod.unsuspended": "{member} can use /imagine again.",
    "mod.not_suspended": "{member} isn't suspended.",
    "mod.modlog_problem": "⚠️ The moderation log can't be used: {problem}.",
    "mod.test_title": "Moderation dry run (nothing was generated or recorded)",
    "mod.test_prompt": "Prompt",
    "mod.test_folded": "Normalised forms checked against the blocklist",
    "mod.test_blocklist": "1. Blocklist",
    "mod.test_blocked_by": "⛔ matches `{entry}`",
    "mod.test_clear": "✅ no match",
    "mod.test_endpoint": "2. Moderation endpoint (top scores)",
    "mod.test_endpoint_failed": "⛔ unavailable ({error}); prompts are refused while it is (fail closed)",
    "mod.test_limit": "blocks at {value:.2f}",
    "mod.test_verdict": "Verdict",
    "mod.test_refused": "⛔ refused",
    "mod.test_allowed": "✅ allowed",
    "layer.blocklist": "server blocklist",
    "layer.endpoint": "moderation endpoint",
    "layer.provider": "image provider",
    "layer.output": "output check",
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
    "progress.queued": "⏳ #{position} in line",
    "progress.generating": "🎨 Generating…",
    "progress.partial": "🎨 Almost there…",
    "error.already_queued": "You already have a picture waiting in line. Please wait for it before asking for another.",
    "history.title": "Your latest pictures",
    "history.line": "{when} · {prompt} · {link}",
    "history.deleted": "(deleted)",
    "history.empty": "You haven't made any pictures in this server yet. Try /imagine!",
    "help.title": "Imagine: pictures from your words",
    "help.about": "Type **/imagine** and describe a picture. It appears in the channel for everyone to see.",
    "help.options": "Options",
    "help.options_text": (
        "**prompt**: what to draw · **size**: square, landscape or portrait · **quality**: low, medium or high · "
        "**count**: 1 to 4 pictures at once"
    ),
    "help.buttons": "Buttons on every picture",
    "help.buttons_text": (
        "🔁 **Reroll**: the same prompt again · ✏️ **Edit**: change the prompt · 🗑️ **Delete** (yours only) · "
        "**1-4**: one picture of a set at full size"
    ),
    "help.quota": "Your quota today",
    "help.resets": "Resets {when}.",
    "help.rules": "This server's rules",
    "help.rule_checked": "Prompts are checked before anything is made; refusals are private and cost nothing.",
    "help.rule_output": "Pictures are checked before they are posted.",
    "help.rule_no_output": "Pictures are posted without a second check.",
    "help.rule_strikes": "{limit} refusals within {hours} hours pause /imagine for you for a while.",
    "result.title": "Imagined",
    "result.reroll": "Reroll",
    "result.edit": "Edit",
    "result.delete": "Delete",
    "result.deleted": "Deleted.",
    "result.picked": "Picture {number}",
    "result.edit_title": "Edit the prompt",
    "result.edit_label": "Prompt",
    "error.not_yours": "That isn't yours: only the member who asked for it (or a moderator) can do that.",
    "error.result_gone": "That picture is gone, so its buttons no longer work.",
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
    ModerationUnavailableError: "error.moderation_unavailable",
    DeliveryFailedError: "error.delivery_failed",
    AlreadyQueuedError: "error.already_queued",
    NotYoursError: "error.not_yours",
    ResultGoneError: "error.result_gone",
}


def text(key: str, **values: object) -> str:
    """The catalogue entry ``key`` with ``values`` filled in."""
    return EN[key].format(**values)


def category_names(categories: tuple[str, ...]) -> str:
    """Moderation categories as words: "self-harm/intent" reads "self-harm (intent)"."""
    words = [c.replace("/", " (", 1) + ")" if "/" in c else c for c in categories]
    return ", ".join(words) or "policy"


def refusal_text(error: PromptRefusedError) -> str:
    """The private explanation of a refusal, naming the categories but never echoing the prompt."""
    message = text(f"error.refused_{error.layer}", categories=category_names(error.categories))
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
