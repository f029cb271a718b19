"""Result messages' buttons: registered as dynamic items, so a result's buttons work days later, after restarts."""

from typing import TYPE_CHECKING

from bot.discord_ui.public_job import PickButton, ResultButton

if TYPE_CHECKING:
    from bot.app.client import ImagineBot


async def setup(bot: "ImagineBot") -> None:
    """Extension entry point."""
    bot.add_dynamic_items(ResultButton, PickButton)


async def teardown(bot: "ImagineBot") -> None:
    """Extension exit point."""
    bot.remove_dynamic_items(ResultButton, PickButton)
