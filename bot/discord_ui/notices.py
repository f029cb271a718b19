"""What admins are told about model retirements: lines for /help and /image-settings, and the mod-log notice."""

import discord

from bot.discord_ui.texts import text
from bot.providers.retirement import Retirement, RetirementWatch

NOTICE_COLOUR = discord.Colour.gold()


def retirement_lines(watch: RetirementWatch) -> list[str]:
    """One line per offered model with a shutdown date ahead."""
    today = watch.today()
    return [
        text(
            "retirement.line",
            model=retirement.model,
            date=retirement.shutdown_date.isoformat(),
            days=retirement.days_left(today),
        )
        for retirement in watch.upcoming
    ]


def notice_embed(retirement: Retirement, days_left: int) -> discord.Embed:
    """A mod-log notice: which model goes, when, and who must act."""
    return discord.Embed(
        title=text("retirement.title", model=retirement.model),
        description=text(
            "retirement.body", model=retirement.model, date=retirement.shutdown_date.isoformat(), days=days_left
        ),
        colour=NOTICE_COLOUR,
    )
