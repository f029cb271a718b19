"""Discord localisations for command names, options, choices and descriptions, from the language catalogues."""

import discord
from discord import app_commands

from bot.discord_ui.locales import zh_cn


def verbatim(name: str) -> app_commands.locale_str:
    """A string shown as it is in every language (a model's name, say)."""
    return app_commands.locale_str(name, verbatim=True)


class CatalogueTranslator(app_commands.Translator):
    """Simplified Chinese from ``locales.zh_cn.COMMANDS``; every other locale sees the English originals."""

    async def translate(
        self, string: app_commands.locale_str, locale: discord.Locale, context: app_commands.TranslationContextTypes
    ) -> str | None:
        """The translation of ``string`` for ``locale``, or ``None`` to keep the original."""
        if locale is discord.Locale.chinese and not string.extras.get("verbatim"):
            return zh_cn.COMMANDS.get(string.message)
        return None
