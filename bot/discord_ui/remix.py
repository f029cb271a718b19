"""The Remix modal: it names the picture it will use, asks for the prompt, and runs the remix publicly."""

import discord

from bot.core.images.catalogue import ImageRequest
from bot.core.images.inputs import InputSource
from bot.core.moderation.normalize import clean_prompt
from bot.discord_ui.context import services_of
from bot.discord_ui.embeds import safe_excerpt
from bot.discord_ui.public_job import run_public_job
from bot.discord_ui.replies import explain
from bot.discord_ui.texts import text, use_locale

NAME_LIMIT = 100


class RemixModal(discord.ui.Modal):
    """The prompt for a remix of ``source``, the picture of the message at ``link``."""

    def __init__(self, source: InputSource, link: str) -> None:
        super().__init__(title=text("remix.title"))
        self._source = source
        self._link = link
        self.add_item(
            discord.ui.TextDisplay(text("remix.using", name=safe_excerpt(source.name, NAME_LIMIT), link=link))
        )
        self.prompt: discord.ui.TextInput[RemixModal] = discord.ui.TextInput(
            style=discord.TextStyle.paragraph, max_length=4000
        )
        self.add_item(discord.ui.Label(text=text("remix.label"), component=self.prompt))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Run the remix as a new public job, checked like /imagine."""
        use_locale(interaction)
        prompt = clean_prompt(self.prompt.value)
        request = ImageRequest(source_url=self._link)
        services_of(interaction).images.catalogue.resolve(prompt, request, inputs=1)
        await run_public_job(interaction, prompt, request, [self._source])

    # discord.py's Modal.on_error takes no item, unlike the BaseView method it overrides: mypy blames the override.
    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:  # type: ignore[override]
        """Explain, privately, like everywhere else."""
        await explain(interaction, error)
