"""Embeds for moderators: the blocklist, thresholds, strikes and a dry run of every layer."""

from collections.abc import Sequence

import discord

from bot.core.moderation.policy import DryRun
from bot.core.moderation.thresholds import CATEGORIES, STRICT_THRESHOLDS
from bot.discord_ui.embeds import safe_excerpt
from bot.discord_ui.modlog import spoiler
from bot.discord_ui.texts import category_names, text
from storage.moderation import Refusal

COLOUR = discord.Colour.dark_teal()
FIELD_LIMIT = 1024


def _lines(lines: list[str], empty: str = "none") -> str:
    body = "\n".join(lines) or empty
    return body if len(body) <= FIELD_LIMIT else body[: FIELD_LIMIT - 1] + "…"


def blocklist_embed(own: Sequence[tuple[str, str]], defaults: tuple[str, ...] | None) -> discord.Embed:
    """The server's entries, and the default list if it is on."""
    embed = discord.Embed(title=text("mod.blocklist_title"), colour=COLOUR)
    words = [f"`{safe_excerpt(pattern, 100)}`" + (" (regex)" if kind == "regex" else "") for kind, pattern in own]
    embed.add_field(name=text("mod.blocklist_own"), value=_lines(words), inline=False)
    embed.add_field(
        name=text("mod.blocklist_defaults"),
        value=", ".join(f"`{w}`" for w in defaults) if defaults else text("mod.off"),
        inline=False,
    )
    return embed


def describe_threshold(category: str, own: dict[str, float]) -> str:
    """One category's rule, in words that make the direction obvious."""
    if category in own:
        return text("mod.threshold_own", value=own[category])
    if category in STRICT_THRESHOLDS:
        return text("mod.threshold_strict", value=STRICT_THRESHOLDS[category])
    return text("mod.threshold_flag")


def thresholds_embed(own: dict[str, float]) -> discord.Embed:
    """Every category's threshold."""
    embed = discord.Embed(title=text("mod.thresholds_title"), description=text("mod.thresholds_help"), colour=COLOUR)
    embed.add_field(
        name=text("mod.thresholds_field"),
        value=_lines([f"**{category}**: {describe_threshold(category, own)}" for category in CATEGORIES]),
        inline=False,
    )
    return embed


def _found(refusal: Refusal) -> str:
    if refusal.layer in ("blocklist", "provider"):
        return text(f"layer.{refusal.layer}")
    return category_names(tuple(refusal.findings))


def strikes_embed(strikes: list[Refusal], window_hours: int) -> discord.Embed:
    """Recent strikes, newest first."""
    lines = [f"<t:{s.created_at}:R> <@{s.user_id}> · {text(f'layer.{s.layer}')} · {_found(s)}" for s in strikes]
    return discord.Embed(title=text("mod.strikes_title", hours=window_hours), description=_lines(lines), colour=COLOUR)


def _score_line(category: str, score: float, threshold: float | None, blocked: bool) -> str:
    rule = text("mod.test_limit", value=threshold) if threshold is not None else text("mod.threshold_flag")
    return f"{'⛔' if blocked else '✅'} **{category}** {score:.3f} ({rule})"


def dry_run_embed(prompt: str, run: DryRun) -> discord.Embed:
    """What each layer says about a prompt."""
    embed = discord.Embed(title=text("mod.test_title"), colour=COLOUR)
    embed.add_field(name=text("mod.test_prompt"), value=spoiler(prompt, 1024), inline=False)
    embed.add_field(
        name=text("mod.test_folded"),
        value=_lines([f"`{safe_excerpt(form, 200)}`" for form in run.folded[:4]]),
        inline=False,
    )
    embed.add_field(
        name=text("mod.test_blocklist"),
        value=text("mod.test_blocked_by", entry=safe_excerpt(run.blocklist_match, 100))
        if run.blocklist_match
        else text("mod.test_clear"),
        inline=False,
    )
    if run.scores is None:
        endpoint = text("mod.test_endpoint_failed", error=run.endpoint_error or "?")
    else:
        scores = run.scores.scores
        top = sorted(CATEGORIES, key=lambda c: -scores.get(c, 0.0))[:6]
        endpoint = _lines([_score_line(c, scores.get(c, 0.0), run.thresholds[c], c in run.blocked) for c in top])
    embed.add_field(name=text("mod.test_endpoint"), value=endpoint, inline=False)
    refused = bool(run.blocklist_match or run.blocked or run.scores is None)
    embed.add_field(name=text("mod.test_verdict"), value=text("mod.test_refused" if refused else "mod.test_allowed"))
    return embed
