"""Appeals' buttons (on a refusal, and Approve/Deny in the mod-log): registered as dynamic items, so they work
days later, after restarts."""

from typing import TYPE_CHECKING

from bot.discord_ui.appeal_views import AppealButton, AppealDecisionButton

if TYPE_CHECKING:
    from bot.app.client import ImagineBot


async def setup(bot: "ImagineBot") -> None:
    """Extension entry point."""
    bot.add_dynamic_items(AppealButton, AppealDecisionButton)


async def teardown(bot: "ImagineBot") -> None:
    """Extension exit point."""
    bot.remove_dynamic_items(AppealButton, AppealDecisionButton)
